import { SandboxApiError } from './envelope';

const MINT_BODY_FIELDS = ['app_name'];
const APP_NAME_MAX = 255;

/** Validates `POST /mailboxes/{id}/keys` bodies exactly as the vendor schema states. */
export function parseMintBody(rawBody: string | undefined): { appName: string } {
  if (rawBody === undefined || rawBody.trim() === '') {
    throw new SandboxApiError(400, 'missing_parameter', 'Request body must be a JSON object with `app_name` (1-255 characters).', {
      param: 'app_name',
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    throw new SandboxApiError(400, 'invalid_parameter', 'Request body is not valid JSON; send {"app_name": "<1-255 characters>"}.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SandboxApiError(400, 'invalid_parameter', 'Request body must be a JSON object like {"app_name": "<1-255 characters>"}.');
  }
  const unknownFields = Object.keys(body).filter((field) => !MINT_BODY_FIELDS.includes(field));
  if (unknownFields.length > 0) {
    throw new SandboxApiError(400, 'invalid_parameter', `Unrecognized field(s) in request body: ${unknownFields.join(', ')}. Only \`app_name\` is accepted.`, {
      param: unknownFields[0],
      errors: unknownFields.map((field) => ({ field, code: 'unrecognized_keys', message: `Unrecognized field \`${field}\`` })),
    });
  }
  const appName = (body as { app_name?: unknown }).app_name;
  if (appName === undefined) {
    throw new SandboxApiError(400, 'missing_parameter', '`app_name` is required (a string of 1-255 characters).', { param: 'app_name' });
  }
  if (typeof appName !== 'string') {
    throw new SandboxApiError(400, 'invalid_parameter', '`app_name` must be a string of 1-255 characters.', {
      param: 'app_name',
      errors: [{ field: 'app_name', code: 'invalid_type', message: `Expected string, received ${appName === null ? 'null' : typeof appName}` }],
    });
  }
  const length = Array.from(appName).length;
  if (length < 1 || length > APP_NAME_MAX) {
    throw new SandboxApiError(400, 'invalid_parameter', `\`app_name\` must be 1-255 characters long, got ${length}.`, {
      param: 'app_name',
      errors: [{ field: 'app_name', code: length < 1 ? 'too_small' : 'too_big', message: `Length must be between 1 and ${APP_NAME_MAX}` }],
    });
  }
  return { appName };
}
