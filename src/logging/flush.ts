import pino, { type Logger } from 'pino';

/** How long a job's acknowledgement waits for its log lines to reach stdout (ms) before going ahead anyway. */
export const LOG_FLUSH_BOUND_MS = 2_000;

interface WritableDestination {
  /** sonic-boom (pino's default stdout destination): true while a write is with the kernel or queued behind one. */
  writing?: boolean;
  _writing?: boolean;
  once?(event: string, listener: (...args: unknown[]) => void): unknown;
  off?(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Resolves once every line `logger` has written so far has been handed to the OS (for stdout: is
 * in the pipe, so a SIGKILL after this loses none of it), or after `boundMs`, whichever is first.
 * Resolves `true` when written, `false` when the bound passed (a stalled log reader: the lines
 * stay in this process's buffer and are lost if it is killed).
 *
 * Why not `logger.flush(cb)`: with pino's default destination (sonic-boom, minLength 0) it calls
 * back at once, even while a write is still queued in libuv (sonic-boom 4 `flush`). What is waited
 * for here is sonic-boom's `drain`, which it emits when its last write completed and its buffer is
 * empty. A destination that is not sonic-boom (a test's in-memory stream, pino-pretty's
 * synchronous one) writes synchronously, so there is nothing to wait for.
 */
export function logsWritten(logger: Logger, boundMs = LOG_FLUSH_BOUND_MS): Promise<boolean> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as WritableDestination | undefined;
  const busy = stream?.writing ?? stream?._writing;
  if (!stream || busy !== true || !stream.once || !stream.off) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (written: boolean) => {
      clearTimeout(timer);
      stream.off?.('drain', onDrain);
      stream.off?.('error', onFailure);
      stream.off?.('close', onFailure);
      resolve(written);
    };
    const onDrain = () => done(true);
    const onFailure = () => done(false);
    const timer = setTimeout(() => done(false), boundMs);
    timer.unref();
    stream.once?.('drain', onDrain);
    stream.once?.('error', onFailure);
    stream.once?.('close', onFailure);
  });
}
