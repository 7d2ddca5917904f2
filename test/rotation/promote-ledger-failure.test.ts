import { Writable } from 'node:stream';
import pino from 'pino';
import { promote } from '../../src/rotation/steps/promote';
import type { StepDeps } from '../../src/rotation/steps/deps';
import type { RotationRun, StagedKey } from '../../src/rotation/steps/types';
import { StepLine } from '../../src/rotation/step-line';

/** The lines a logger wrote, parsed. */
function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

describe('promote when the last-rotation ledger write fails', () => {
  it('logs the failure without taking the AWS request ids that later steps will name', async () => {
    const { logger, lines } = capturedLogger();
    let failLedger: (err: Error) => void = () => undefined;
    const deps = {
      secrets: {
        moveStage: async () => ({ arn: 'arn:secret' }),
        describeSecret: async () => ({ arn: 'arn:secret', name: 'sendmux/mbx_1', tags: {}, versionIdsToStages: { 'v-new': ['AWSPENDING'], 'v-old': ['AWSCURRENT'] } }),
      },
      ledger: { recordRotation: () => new Promise<void>((_, reject) => (failLedger = reject)) },
      job: { progress: () => undefined },
      now: () => new Date('2026-11-30T06:00:00Z'),
    } as unknown as StepDeps;
    const run = {
      mailboxId: 'mbx_1',
      step: 'verify',
      settings: { secretName: 'sendmux/mbx_1' },
      line: new StepLine(logger, 'verify'),
      log: logger,
    } as unknown as RotationRun;
    const staged = {
      versionId: 'v-new',
      labels: { current: false, pending: true },
      key: { keyId: 'smx_newkey0000000000000001' },
      document: { supersedes: { key_id: 'smx_oldkey0000000000000001', version_id: 'v-old' } },
    } as unknown as StagedKey;

    await promote(deps, run, staged);
    // A later step's Secrets Manager call is answered before the ledger's failure arrives.
    run.line = new StepLine(logger, 'retire');
    run.line.noteAwsCall({ operation: 'TagResource', requestId: 'req-later' });
    failLedger(new Error('Redis is gone'));
    await new Promise((resolve) => setImmediate(resolve));

    const warning = lines.find((line) => String(line.msg).startsWith('could not record the rotation'));
    expect(warning).toBeDefined();
    expect(warning).not.toHaveProperty('awsRequestIds');
    expect(run.line.unnamedCalls()).toEqual({ awsRequestIds: ['TagResource req-later'] });
  });
});
