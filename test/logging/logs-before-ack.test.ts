import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { createQueueClient, type QueueClient } from '../../src/app/queue-client';
import { ROTATION_QUEUE_NAME } from '../../src/queue/rotation-queue';
import { TEST_REDIS_URL } from '../support/redis';
import { RotatorProcess, writeConfigFile } from '../support/rotator-process';
import { TestBed } from '../support/test-bed';

/**
 * A worker process (the built binary, JSON logs on a pipe) is SIGKILLed the moment its job's
 * completion is seen in Redis (QueueEvents, a blocking XREAD): the line recording the finished
 * rotation must already be in its output, because the worker acknowledges a job only after its
 * log lines have reached stdout (src/logging/flush.ts). A handful of runs here; the measurement
 * loop is bench/logs-before-ack.sh.
 */
const RUNS = Number(process.env.LOGS_BEFORE_ACK_RUNS ?? 5);

describe('the "rotation rotated" line of a job whose worker is SIGKILLed right after the job completed', () => {
  let bed: TestBed;
  let configPath: string;
  let producer: QueueClient;
  let events: QueueEvents;
  let eventsConnection: Redis;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: RUNS, label: 'logs-before-ack' });
    configPath = writeConfigFile(bed.configObject);
    producer = createQueueClient(bed.settings);
    eventsConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    events = new QueueEvents(ROTATION_QUEUE_NAME, { connection: eventsConnection, prefix: bed.prefix });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await events?.close();
    eventsConnection?.disconnect();
    await producer?.close();
    await bed?.close();
  });

  it(`is in the output in every one of ${RUNS} runs`, async () => {
    const missing: string[] = [];
    for (const mailboxId of bed.mailboxIds) {
      const worker = new RotatorProcess(['start', '--role', 'worker', '--config', configPath], bed.env());
      try {
        const [outcome] = await producer.queue.requestRotations([{ mailboxId, reason: 'manual', requestedBy: 'test', force: true }]);
        if (outcome?.status !== 'enqueued') throw new Error(`not enqueued: ${JSON.stringify(outcome)}`);
        await new Promise<void>((resolve) => {
          const onCompleted = ({ jobId }: { jobId: string }) => {
            if (jobId !== outcome.jobId) return;
            worker.kill('SIGKILL');
            events.off('completed', onCompleted);
            resolve();
          };
          events.on('completed', onCompleted);
        });
        await worker.exited;
        const finished = worker.logLines().some((line) => line['msg'] === 'rotation rotated' && line['mailboxId'] === mailboxId);
        if (!finished) missing.push(mailboxId);
      } finally {
        await worker.stop();
      }
    }
    expect(missing).toEqual([]);
  }, 180_000);
});
