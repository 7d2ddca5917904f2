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
 *
 * One timer serves the whole attempt rather than one per step: a rotation passes through five
 * steps in a few milliseconds, and creating and clearing a Node timer for each is measurable at
 * worker scale. When the timer fires early for the step now running (it was armed for an earlier
 * one), it is armed again for the rest of that step's `afterMs`.
 */
export class DeferredStepProgress {
  private timer: NodeJS.Timeout | undefined;
  private step: RotationStep | undefined;
  /** performance.now() when `step` was entered. */
  private enteredAt = 0;

  constructor(
    private readonly write: (step: RotationStep) => Promise<unknown>,
    private readonly onError: (err: unknown, step: RotationStep) => void,
    private readonly afterMs: number = PROGRESS_AFTER_MS,
  ) {}

  /** The attempt entered `step`: write it if it is still the step `afterMs` from now. */
  enter(step: RotationStep): void {
    this.step = step;
    this.enteredAt = performance.now();
    if (this.timer === undefined) this.arm(this.afterMs);
  }

  /** Writes `step` now (the attempt failed in it: the job keeps showing where), reporting a failed write. */
  async writeNow(step: RotationStep): Promise<void> {
    this.stop();
    await this.write(step).catch((err: unknown) => this.onError(err, step));
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.step = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.fire, ms);
    // A progress write never keeps a stopping process alive.
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const step = this.step;
    if (step === undefined) return;
    const remaining = this.afterMs - (performance.now() - this.enteredAt);
    // Timers may fire a little early by the clock; within a millisecond counts as lasted.
    if (remaining > 1) {
      this.arm(remaining);
      return;
    }
    // Written once per entry: the next enter() arms the timer again.
    this.step = undefined;
    this.write(step).catch((err: unknown) => this.onError(err, step));
  };
}
