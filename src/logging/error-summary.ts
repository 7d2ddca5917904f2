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
