import type { RotationStep } from './job-data';

/**
 * How long a step must run before it is written to the job's BullMQ progress (ms). A step that
 * ends sooner is never seen by anyone polling the job (the dashboard and `rotator status` refresh
 * far less often), so writing it would only cost a Redis round trip per step: three of a
 * rotation's ten. A step that waits — a slow Sendmux, a held Secrets Manager call, a hung
 * connection — shows up once it passes this mark, which is when an operator looks.
 */
export const PROGRESS_AFTER_MS = 100;

/**
 * The step an attempt is in, written to the job once the step has lasted `afterMs`. One per
 * attempt; `stop()` when the attempt ends so a late timer never writes a finished job.
 */
export class DeferredStepProgress {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (step: RotationStep) => Promise<unknown>,
    private readonly onError: (err: unknown, step: RotationStep) => void,
    private readonly afterMs: number = PROGRESS_AFTER_MS,
  ) {}

  /** The attempt entered `step`: write it if it is still the step `afterMs` from now. */
  enter(step: RotationStep): void {
    this.stop();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write(step).catch((err: unknown) => this.onError(err, step));
    }, this.afterMs);
    // A progress write never keeps a stopping process alive.
    this.timer.unref();
  }

  /** Writes `step` now (the attempt failed in it: the job keeps showing where), reporting a failed write. */
  async writeNow(step: RotationStep): Promise<void> {
    this.stop();
    await this.write(step).catch((err: unknown) => this.onError(err, step));
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
