/**
 * The two ways the rotator bounds a wait on something that may never answer (a frozen Redis, a
 * hung webhook, a worker that will not close). Both clear their timer and unref it, so a pending
 * wait never keeps the process alive.
 */

/**
 * Whether `work` settled within `ms` milliseconds: true when it did (its value or error is
 * ignored), false on timeout. Never rejects; `work` keeps running after a timeout.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true as const, () => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `work`'s value, or a rejection with `onTimeout()` when it has not settled within `ms`
 * milliseconds (a later rejection of `work` is then ignored). `work`'s own rejection passes through.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
  }
}
