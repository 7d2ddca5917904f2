import { z } from 'zod';
import { InvalidSendmuxInputError } from '../sendmux/errors';
import { assertSendmuxId } from '../sendmux/ids';
import { JOB_ID_PATTERN } from '../rotation/identity';

export const MAX_MAILBOX_IDS_PER_REQUEST = 1000;

export interface FieldProblem {
  /** Where in the input, e.g. `mailboxIds[1]`, `limit`, `(body)`. */
  field: string;
  message: string;
}

/** A request whose body, path or query failed validation; answered as 400 invalid_body/invalid_request. */
export class RequestValidationError extends Error {
  constructor(
    readonly error: 'invalid_body' | 'invalid_request',
    readonly problems: FieldProblem[],
  ) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.name = 'RequestValidationError';
  }
}

export type RotationTarget = { kind: 'mailboxes'; mailboxIds: string[] } | { kind: 'all' };

export interface RotationRequestBody {
  target: RotationTarget;
  force: boolean;
  revokeNow: boolean;
}

const ROTATION_BODY_FIELDS = ['mailboxIds', 'all', 'force', 'revokeNow'] as const;
const BODY_EXAMPLE = '{"mailboxIds": ["mbx_123"]} or {"all": true}';

const booleanField = (name: string) =>
  z.boolean({ invalid_type_error: `${name} must be true or false (a JSON boolean, not a string)` }).optional();

const rotationBodySchema = z
  .object(
    {
      mailboxIds: z
        .array(z.unknown(), {
          invalid_type_error: 'mailboxIds must be an array of mailbox ids, e.g. ["mbx_123", "mbx_456"]',
        })
        .min(1, { message: `mailboxIds is empty; list 1 to ${MAX_MAILBOX_IDS_PER_REQUEST} mailbox ids, or send {"all": true}` })
        .max(MAX_MAILBOX_IDS_PER_REQUEST, {
          message: `mailboxIds lists more than ${MAX_MAILBOX_IDS_PER_REQUEST} ids; split the request, or send {"all": true}`,
        })
        .optional(),
      all: z
        .literal(true, { errorMap: () => ({ message: 'all must be true (rotate every configured mailbox) or left out' }) })
        .optional(),
      force: booleanField('force'),
      revokeNow: booleanField('revokeNow'),
    },
    { invalid_type_error: `the body must be a JSON object such as ${BODY_EXAMPLE}` },
  )
  .strict()
  .superRefine((body, ctx) => {
    if (body.mailboxIds !== undefined && body.all !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['all'], message: 'send either "mailboxIds" or "all": true, not both' });
    } else if (body.mailboxIds === undefined && body.all === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [], message: `say which mailboxes to rotate: ${BODY_EXAMPLE}` });
    }
    const firstIndexOf = new Map<string, number>();
    (body.mailboxIds ?? []).forEach((value, index) => {
      const field = `mailboxIds[${index}]`;
      try {
        assertSendmuxId(field, value);
      } catch (err) {
        const message = err instanceof InvalidSendmuxInputError ? err.message : `${field} is not a valid mailbox id`;
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['mailboxIds', index], message });
        return;
      }
      const first = firstIndexOf.get(value);
      if (first !== undefined) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['mailboxIds', index],
          message: `${field} repeats mailboxIds[${first}] (${JSON.stringify(value)}); list each mailbox once`,
        });
      } else {
        firstIndexOf.set(value, index);
      }
    });
  });

/** Validates a POST /rotations body; throws RequestValidationError naming each bad field. */
export function parseRotationRequestBody(body: unknown): RotationRequestBody {
  const parsed = rotationBodySchema.safeParse(body);
  if (!parsed.success) throw new RequestValidationError('invalid_body', problemsOf(parsed.error));
  const { mailboxIds, force, revokeNow } = parsed.data;
  return {
    target: mailboxIds ? { kind: 'mailboxes', mailboxIds: mailboxIds as string[] } : { kind: 'all' },
    force: force ?? false,
    revokeNow: revokeNow ?? false,
  };
}

const emptyBodySchema = z
  .object({}, { invalid_type_error: 'the body must be empty or an empty JSON object {}' })
  .strict()
  .nullish();

/**
 * Validates the body of a route that takes no fields (POST /mailboxes/:id/keys/:keyId/revoke,
 * POST /rotations/:jobId/retry): none, null or {}. Throws RequestValidationError naming each
 * unknown field, like POST /rotations does.
 */
export function parseEmptyRequestBody(body: unknown): void {
  const parsed = emptyBodySchema.safeParse(body);
  if (parsed.success) return;
  throw new RequestValidationError('invalid_body', parsed.error.issues.flatMap((issue): FieldProblem[] =>
    issue.code === z.ZodIssueCode.unrecognized_keys
      ? issue.keys.map((key) => ({ field: key, message: `unknown field ${JSON.stringify(key)}; this route takes no fields (send no body or {})` }))
      : [{ field: fieldName(issue.path), message: issue.message }]));
}

function problemsOf(error: z.ZodError): FieldProblem[] {
  return error.issues.flatMap((issue): FieldProblem[] => {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      return issue.keys.map((key) => ({
        field: key,
        message: `unknown field ${JSON.stringify(key)}; the accepted fields are ${ROTATION_BODY_FIELDS.join(', ')}`,
      }));
    }
    return [{ field: fieldName(issue.path), message: issue.message }];
  });
}

function fieldName(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return '(body)';
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

export const DEFAULT_HISTORY_LIMIT = 50;
export const MAX_HISTORY_LIMIT = 500;

export function parseHistoryLimit(raw: unknown): number {
  if (raw === undefined) return DEFAULT_HISTORY_LIMIT;
  const text = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (typeof text === 'string' && /^\d{1,6}$/.test(text)) {
    const limit = Number(text);
    if (limit >= 1 && limit <= MAX_HISTORY_LIMIT) return limit;
  }
  throw new RequestValidationError('invalid_request', [
    {
      field: 'limit',
      message: `limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT} (default ${DEFAULT_HISTORY_LIMIT}); got ${JSON.stringify(String(text)).slice(0, 60)}`,
    },
  ]);
}

export function parseMailboxIdParam(raw: unknown): string {
  try {
    assertSendmuxId('mailboxId', raw);
    return raw;
  } catch (err) {
    const message = err instanceof InvalidSendmuxInputError ? err.message : 'mailboxId is not a valid mailbox id';
    throw new RequestValidationError('invalid_request', [{ field: 'mailboxId', message }]);
  }
}

/** A key's public id in a path, e.g. POST /mailboxes/{mailboxId}/keys/{keyId}/revoke. */
export function parseKeyIdParam(raw: unknown): string {
  try {
    assertSendmuxId('keyId', raw);
    return raw;
  } catch (err) {
    const message = err instanceof InvalidSendmuxInputError ? err.message : 'keyId is not a valid key id';
    throw new RequestValidationError('invalid_request', [{ field: 'keyId', message }]);
  }
}


export function parseJobIdParam(raw: unknown): string {
  if (typeof raw === 'string' && JOB_ID_PATTERN.test(raw)) return raw;
  throw new RequestValidationError('invalid_request', [
    { field: 'jobId', message: 'jobId must be 1-600 characters of A-Z, a-z, 0-9, "_" or "-", as returned by POST /rotations' },
  ]);
}
