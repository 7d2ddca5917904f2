import pino from 'pino';
import { createRotatorRuntime, type RotatorRuntime } from '../app/rotator-runtime';
import type { RotatorSettings } from '../config';
import { waitUntilReachable } from '../queue/redis-connection';
import { CLI_REDIS_TIMEOUT_MS } from './context';

/**
 * Runs `work` with a runtime without a worker, on the CLI's bounded Redis connection, once Redis
 * answered (RedisUnreachableError within CLI_REDIS_TIMEOUT_MS otherwise, before `work` makes any
 * call); closes the runtime afterwards. For the commands that need Sendmux or Secrets Manager as
 * well as Redis (`status`, `revoke`, `retry`).
 */
export async function withReachableRuntime<T>(settings: RotatorSettings, work: (runtime: RotatorRuntime) => Promise<T>): Promise<T> {
  const runtime = await createRotatorRuntime({ settings, logger: pino({ level: 'silent' }), runWorker: false, redisPurpose: 'cli' });
  try {
    await waitUntilReachable(runtime.redis, settings.env.redis, CLI_REDIS_TIMEOUT_MS);
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}
