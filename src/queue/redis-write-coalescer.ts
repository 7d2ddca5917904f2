import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-connection';

/** One caller's commands in a batch, and where their replies go. */
interface PendingWrite {
  add(pipeline: ChainableCommander): void;
  /** How many commands `add` queues (their replies are this write's). */
  commands: number;
  settle(err: unknown, replies: unknown[]): void;
}

/**
 * Sends the Redis writes nobody waits on in the job's path (audit entries, the last-rotation
 * ledger, alert counters) together: every write made during one event-loop turn, or while the
 * previous batch is still on its way, goes out in ONE pipeline. A busy worker finishes several
 * jobs per turn, so their bookkeeping costs one socket write and one ioredis Pipeline (whose
 * constructor copies every script BullMQ defined on the connection) instead of one per job: in
 * the overhead bench that bookkeeping was a third of the worker's Redis CPU. A write waits at
 * most one turn plus one round trip; nothing is held back longer, so a reader that sees a job
 * finished also sees what it wrote before finishing.
 *
 * Writes keep their order (one connection, one pipeline at a time). A failed command is reported
 * to its own write only; a failed batch (connection lost) to every write in it.
 */
export class RedisWriteCoalescer {
  private pending: PendingWrite[] = [];
  private inFlight: Promise<void> | undefined;
  private scheduled = false;

  constructor(private readonly redis: RedisClient) {}

  /**
   * Queues `commands` commands (added by `add`) for the next batch; `settle` gets the first error
   * among their replies (or the batch's error) and the replies in order. Never throws.
   */
  write(commands: number, add: (pipeline: ChainableCommander) => void, settle: (err: unknown, replies: unknown[]) => void): void {
    this.pending.push({ add, commands, settle });
    this.schedule();
  }

  /** Like `write`, for a caller that needs the replies: resolves with them, rejects with the first error. */
  request(commands: number, add: (pipeline: ChainableCommander) => void): Promise<unknown[]> {
    return new Promise((resolve, reject) => this.write(commands, add, (err, replies) => (err ? reject(err) : resolve(replies))));
  }

  /** Resolves once every write queued so far has been sent and answered (shutdown, tests). */
  async flush(): Promise<void> {
    for (;;) {
      if (this.inFlight) await this.inFlight;
      else if (this.pending.length > 0) this.send();
      else if (this.scheduled) await new Promise<void>((resolve) => setImmediate(resolve));
      else return;
    }
  }

  private schedule(): void {
    // One batch at a time: writes made while it is on its way wait for it and go out together next.
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    // flush() may have sent the batch a scheduled send was for: that one then finds nothing to do.
    if (this.inFlight || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    let sent: Promise<Array<[Error | null, unknown]> | null>;
    try {
      const pipeline = this.redis.pipeline();
      for (const write of batch) write.add(pipeline);
      sent = pipeline.exec();
    } catch (err) {
      sent = Promise.reject(err);
    }
    this.inFlight = sent.then(
      (results) => settleEach(batch, results ?? []),
      (err: unknown) => {
        for (const write of batch) settleSafely(write, err, []);
      },
    ).finally(() => {
      this.inFlight = undefined;
      if (this.pending.length > 0) this.schedule();
    });
  }
}

function settleEach(batch: PendingWrite[], results: Array<[Error | null, unknown]>): void {
  let index = 0;
  for (const write of batch) {
    const own = results.slice(index, index + write.commands);
    index += write.commands;
    const failed = own.length < write.commands ? new Error('Redis answered fewer replies than commands sent') : own.find(([err]) => err !== null)?.[0];
    settleSafely(write, failed ?? null, own.map(([, reply]) => reply));
  }
}

/** A caller's callback that throws must not keep the other writes of the batch from settling. */
function settleSafely(write: PendingWrite, err: unknown, replies: unknown[]): void {
  try {
    write.settle(err, replies);
  } catch {
    // The callbacks are the sinks' own error loggers; there is nowhere further to report to.
  }
}
