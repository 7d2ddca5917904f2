/**
 * The name and message of a thrown value, for log fields and messages built outside pino's `err`
 * serializer (which loggers created by createLogger apply to an `err` field). Our error classes
 * never carry secrets in their messages; stacks stay out.
 */
export function errorSummary(err: unknown): { name?: string; message: string } {
  const { name, message } = (err ?? {}) as { name?: unknown; message?: unknown };
  return typeof message === 'string' ? { ...(typeof name === 'string' ? { name } : {}), message } : { message: String(err) };
}

/** The message of a thrown value as text, for messages and API answers (the one way to turn an error into words). */
export function errorText(err: unknown): string {
  return errorSummary(err).message;
}

/** "Name: message" (e.g. "ReplyError: OOM command not allowed"), for lines where the kind of error matters. */
export function errorTextWithName(err: unknown): string {
  const { name, message } = errorSummary(err);
  return err !== null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string' ? `${name ?? 'Error'}: ${message}` : message;
}
