import { DeferredStepProgress } from '../../src/rotation/step-progress';
import type { RotationStep } from '../../src/rotation/job-data';

const AFTER_MS = 30;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function recordingProgress(write: (step: RotationStep) => Promise<unknown> = async () => undefined) {
  const written: RotationStep[] = [];
  const errors: Array<{ step: RotationStep; message: string }> = [];
  const progress = new DeferredStepProgress(
    async (step) => {
      written.push(step);
      await write(step);
    },
    (err, step) => errors.push({ step, message: (err as Error).message }),
    AFTER_MS,
  );
  return { progress, written, errors };
}

describe('DeferredStepProgress', () => {
  it('writes nothing for steps that end before they could be seen', async () => {
    const { progress, written } = recordingProgress();
    progress.enter('mint');
    progress.enter('verify');
    progress.enter('promote');
    progress.stop();
    await sleep(AFTER_MS * 3);
    expect(written).toEqual([]);
  });

  it('writes a step that is still running after the threshold, once', async () => {
    const { progress, written } = recordingProgress();
    progress.enter('mint');
    await sleep(AFTER_MS * 3);
    progress.stop();
    expect(written).toEqual(['mint']);
  });

  it('shows the step an attempt is stuck in, not the ones it passed through', async () => {
    const { progress, written } = recordingProgress();
    progress.enter('mint');
    progress.enter('verify');
    await sleep(AFTER_MS * 3);
    progress.stop();
    expect(written).toEqual(['verify']);
  });

  it('never writes after the attempt ended', async () => {
    const { progress, written } = recordingProgress();
    progress.enter('promote');
    progress.stop();
    await sleep(AFTER_MS * 3);
    expect(written).toEqual([]);
  });

  it('reports a failed write without throwing into the attempt', async () => {
    const { progress, errors } = recordingProgress(async () => {
      throw new Error('Redis is gone');
    });
    progress.enter('verify');
    await sleep(AFTER_MS * 3);
    expect(errors).toEqual([{ step: 'verify', message: 'Redis is gone' }]);
  });
});

describe('DeferredStepProgress timing', () => {
  it('gives a step entered while the timer was armed for an earlier one its full time before writing it', async () => {
    const { progress, written } = recordingProgress();
    progress.enter('mint');
    await sleep(AFTER_MS * 0.7);
    progress.enter('verify');
    // The timer armed for mint fires now, when verify has lasted only ~0.3 of the threshold.
    await sleep(AFTER_MS * 0.5);
    expect(written).toEqual([]);
    await sleep(AFTER_MS * 1.5);
    progress.stop();
    expect(written).toEqual(['verify']);
  });

  it('writes each long step of an attempt once', async () => {
    const { progress, written } = recordingProgress();
    progress.enter('mint');
    await sleep(AFTER_MS * 2);
    progress.enter('verify');
    await sleep(AFTER_MS * 2);
    progress.stop();
    expect(written).toEqual(['mint', 'verify']);
  });

  it('keeps at most one timer per attempt however many steps it passes through', () => {
    const created = jest.spyOn(global, 'setTimeout');
    try {
      const { progress } = recordingProgress();
      for (const step of ['look', 'mint', 'stage', 'verify', 'promote'] as RotationStep[]) progress.enter(step);
      progress.stop();
      expect(created).toHaveBeenCalledTimes(1);
    } finally {
      created.mockRestore();
    }
  });
});
