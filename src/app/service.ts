import type { Logger } from 'pino';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RotatorSettings } from '../config';
import { createRotatorRuntime, type RotatorRuntime } from './rotator-runtime';

export const ROLES = ['worker', 'scheduler', 'api'] as const;
export type Role = (typeof ROLES)[number];

/** `all`, or a comma list of worker, scheduler, api. */
export function parseRoles(text: string): Set<Role> {
  const parts = text
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error('--role is empty: use all, or a comma list of worker, scheduler, api');
  const roles = new Set<Role>();
  for (const part of parts) {
    if (part === 'all') ROLES.forEach((r) => roles.add(r));
    else if ((ROLES as readonly string[]).includes(part)) roles.add(part as Role);
    else throw new Error(`unknown role "${part}": use all, or a comma list of worker, scheduler, api`);
  }
  return roles;
}

export interface RotatorServiceOptions {
  settings: RotatorSettings;
  logger: Logger;
  roles: Set<Role>;
  secretsManagerClient?: SecretsManagerClient;
  /** How long shutdown waits for jobs in progress before handing them back to the queue. */
  shutdownTimeoutMs?: number;
}

export interface RotatorService {
  runtime: RotatorRuntime;
  roles: Set<Role>;
  close(): Promise<void>;
}

/** Starts the parts of the rotator this process runs, by role, sharing one runtime. */
export async function startRotatorService(opts: RotatorServiceOptions): Promise<RotatorService> {
  const { settings, logger, roles } = opts;
  const runtime = await createRotatorRuntime({
    settings,
    logger,
    runWorker: roles.has('worker'),
    secretsManagerClient: opts.secretsManagerClient,
  });
  logger.info(
    { roles: [...roles], queuePrefix: settings.env.queuePrefix, sendmuxApiUrl: settings.env.sendmuxApiUrl },
    'rotator started',
  );

  return {
    runtime,
    roles,
    async close() {
      await closeWithin(runtime, opts.shutdownTimeoutMs ?? settings.file.rotation.shutdownTimeoutMs, logger);
    },
  };
}

async function closeWithin(runtime: RotatorRuntime, timeoutMs: number, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([runtime.close().then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    // The jobs still running keep their Redis lock until it expires; another worker then takes them
    // over from the step they reached, so nothing is lost by leaving now.
    logger.warn({ timeoutMs }, 'jobs still in progress after the shutdown timeout; handing them back to the queue');
    await runtime.worker?.close(true).catch(() => undefined);
  }
}
