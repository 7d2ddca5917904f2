/**
 * Runs the chaos scenarios side by side. `beside` scenarios start at once (their work happens in
 * child processes); `inTurn` scenarios share this process, so at most `concurrency` run at a time,
 * in the order they were declared. Nothing starts before start(), so declaring is free.
 */
export class ScenarioPool {
  readonly startedAt = new Date().toISOString();
  private readonly queue: Array<() => void> = [];
  private running = 0;
  private started = false;
  private readonly all: Array<{ launch(): void }> = [];

  constructor(private readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`ScenarioPool: concurrency must be a whole number >= 1, got ${concurrency}`);
  }

  beside<T>(run: () => Promise<T>): ScenarioHandle<T> {
    const handle = new ScenarioHandle(run, (go) => go());
    this.all.push(handle);
    return handle;
  }

  inTurn<T>(run: () => Promise<T>): ScenarioHandle<T> {
    const handle = new ScenarioHandle(run, (go) => this.enqueue(go));
    this.all.push(handle);
    return handle;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const handle of this.all) handle.launch();
  }

  private enqueue(go: () => Promise<void>): void {
    this.queue.push(() => {
      this.running += 1;
      void go().finally(() => {
        this.running -= 1;
        this.next();
      });
    });
    this.next();
  }

  private next(): void {
    while (this.running < this.concurrency && this.queue.length > 0) this.queue.shift()!();
  }
}

export class ScenarioHandle<T> {
  private readonly outcome: Promise<{ ok: true; value: T } | { ok: false; error: unknown }>;
  private resolveOutcome!: (outcome: { ok: true; value: T } | { ok: false; error: unknown }) => void;
  private launched = false;

  constructor(
    private readonly run: () => Promise<T>,
    private readonly schedule: (go: () => Promise<void>) => void,
  ) {
    this.outcome = new Promise((resolve) => (this.resolveOutcome = resolve));
  }

  launch(): void {
    if (this.launched) return;
    this.launched = true;
    this.schedule(async () => {
      try {
        this.resolveOutcome({ ok: true, value: await this.run() });
      } catch (error) {
        this.resolveOutcome({ ok: false, error });
      }
    });
  }

  /** The scenario's result; rethrows what made it fail. */
  async result(): Promise<T> {
    this.launch();
    const outcome = await this.outcome;
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /** The result, or undefined if the scenario failed or never started. */
  async settled(): Promise<T | undefined> {
    if (!this.launched) return undefined;
    const outcome = await this.outcome;
    return outcome.ok ? outcome.value : undefined;
  }
}
