import type { RedisClient } from './redis-connection';

/** The commands of one write, issued on the connection: one reply promise per command, in order. */
export type BookkeepingCommands = (redis: RedisClient) => ReadonlyArray<Promise<unknown>>;

/**
 * The Redis writes nobody waits on in the job's path (audit entries, the last-rotation ledger,
 * alert counters), sent straight away on the process's shared connection and tracked until
 * answered, so shutdown can wait for them (`flush`) and a failure reaches its own writer only.
 *
 * They cost no socket write of their own: the rotator's connections send every command issued
 * during one event-loop turn in one write (`batchSocketWrites`), so a busy worker's bookkeeping
 * leaves with the turn's queue commands. No ioredis Pipeline either: its constructor copies every
 * script BullMQ defined on the connection (about a hundred properties) onto itself, which cost
 * the worker 0.04 ms a rotation in the overhead bench even at one pipeline per turn.
 *
 * Writes keep their order (one connection); on a Cluster each command goes to its key's node.
 */
export class BookkeepingWrites {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly redis: RedisClient) {}

  /**
   * Issues `commands` now; once every one of them is answered, `settle` gets the first error in
   * command order (or the error that kept them from being sent) and the replies in order (a failed
   * command's reply is undefined). Never throws; a `settle` that throws is ignored (the callbacks are
   * the sinks' own error loggers: there is nowhere further to report to).
   */
  write(commands: BookkeepingCommands, settle: (err: unknown, replies: unknown[]) => void): void {
    let outcomes: Promise<Array<PromiseSettledResult<unknown>>>;
    try {
      // allSettled, not all: the write is done (for flush) only when every command is answered.
      outcomes = Promise.allSettled(commands(this.redis));
    } catch (err) {
      outcomes = Promise.reject(err);
    }
    const settled = outcomes.then(
      (results) => {
        const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
        settleSafely(settle, failed ? failed.reason : null, results.map((result) => (result.status === 'fulfilled' ? result.value : undefined)));
      },
      (err: unknown) => settleSafely(settle, err, []),
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
  }

  /** Like `write`, for a caller that needs the replies: resolves with them, rejects with the first error. */
  request(commands: BookkeepingCommands): Promise<unknown[]> {
    return new Promise((resolve, reject) => this.write(commands, (err, replies) => (err ? reject(err) : resolve(replies))));
  }

  /** Resolves once every write issued so far has been answered or refused (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}

function settleSafely(settle: (err: unknown, replies: unknown[]) => void, err: unknown, replies: unknown[]): void {
  try {
    settle(err, replies);
  } catch {
    // See `write`: a sink's error logger that throws has nowhere further to report to.
  }
}
