import type { components } from '../sendmux/openapi-types';
import { SENDMUX_ERROR_CODES } from '../sendmux/wire-schemas';

/**
 * Label values that come from an upstream are mapped onto closed sets here, so an upstream that
 * invents a new error code or status on every answer cannot grow the number of series (each series
 * costs Prometheus memory for as long as it is retained). Anything outside a set is `other`.
 */
export const OTHER_LABEL = 'other';

type SendmuxContractCode = components['schemas']['ApiError']['error']['code'];

/** Every `error.code` the Sendmux contract (OpenAPI ApiError enum) defines. The two-way type check keeps it in step with openapi-types.ts. */
const SENDMUX_CONTRACT_CODES = SENDMUX_ERROR_CODES satisfies readonly SendmuxContractCode[];
type Listed = (typeof SENDMUX_CONTRACT_CODES)[number];
// Fails to compile when the contract gains a code this list lacks.
const everyContractCodeListed: [SendmuxContractCode] extends [Listed] ? true : never = true;
void everyContractCodeListed;

/** Codes the client itself gives a failed exchange (src/sendmux/client.ts); `http_<status>` becomes `http_error` (the status label says which). */
const SENDMUX_CLIENT_CODES = ['timeout', 'network_error', 'invalid_response', 'missing_credential', 'http_error'] as const;

/** The closed set of `code` label values of rotator_sendmux_requests_total: "" (success), the contract's codes, the client's, `other`. */
export const SENDMUX_CODE_LABELS: readonly string[] = ['', ...SENDMUX_CONTRACT_CODES, ...SENDMUX_CLIENT_CODES, OTHER_LABEL];
const SENDMUX_CODE_SET: ReadonlySet<string> = new Set(SENDMUX_CODE_LABELS);

/** A Sendmux error code as a label: itself when in the closed set, else `other`. */
export function sendmuxCodeLabel(code: string | undefined): string {
  if (code === undefined) return '';
  if (/^http_\d{3}$/.test(code)) return 'http_error';
  return SENDMUX_CODE_SET.has(code) ? code : OTHER_LABEL;
}

/** Statuses the contract and the client's retry logic name; another becomes its class (`4xx`), or `other` when not an HTTP status. */
const KNOWN_STATUSES: ReadonlySet<number> = new Set([200, 201, 204, 304, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504]);

/** The closed set of `status` label values: the known statuses, `1xx`…`5xx`, `none` (no answer), `other`. */
export const HTTP_STATUS_LABELS: readonly string[] = [...[...KNOWN_STATUSES].map(String), '1xx', '2xx', '3xx', '4xx', '5xx', 'none', OTHER_LABEL];

/** An HTTP status as a label (null: no answer arrived). */
export function httpStatusLabel(status: number | null): string {
  if (status === null) return 'none';
  if (KNOWN_STATUSES.has(status)) return String(status);
  if (Number.isInteger(status) && status >= 100 && status <= 599) return `${Math.floor(status / 100)}xx`;
  return OTHER_LABEL;
}
