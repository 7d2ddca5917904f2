import type { Command } from 'commander';
import pino from 'pino';
import { createQueueClient, type QueueClient } from '../../app/queue-client';
import { createRotatorRuntime } from '../../app/rotator-runtime';
import { renderSecretName, type RotatorSettings } from '../../config';
import { AuditLog } from '../../audit/audit-log';
import { AlertNotifier } from '../../alerts/alert-notifier';
import { formatHistory } from '../../audit/format-history';
import { mailboxHistoryDocument } from '../../audit/history-document';
import { buildRotationPlan, formatRotationPlan } from '../../planning/plan';
import { isSendmuxId } from '../../sendmux/ids';
import { collectStatus, formatStatus, jobsWaitWithoutWorker } from '../status';
import { addConfigOption, asRedisUnreachable, CLI_REDIS_TIMEOUT_MS, EXIT_FAILURE, EXIT_NO_WORKER, EXIT_USAGE, type CliContext } from '../context';
import { RedisUnreachableError, waitUntilReachable } from '../../queue/redis-connection';
import { resumeProcessing } from '../../queue/queue-control';
import { withReachableRuntime } from '../cli-runtime';
import { withDeadline } from '../../shared/deadline';

interface CommonOptions {
  config?: string;
  json?: boolean;
}

async function withQueueClient<T>(ctx: CliContext, options: CommonOptions, work: (client: QueueClient, settings: RotatorSettings) => Promise<T>): Promise<T> {
  const settings = ctx.loadSettings(options.config, 'operator');
  const client = createQueueClient(settings, undefined, 'cli');
  try {
    await waitUntilReachable(client.redis, settings.env.redis, CLI_REDIS_TIMEOUT_MS);
    // Redis answered a moment ago; a node that stops answering now must not hang the command
    // (the runbook's emergency stop) for minutes.
    return await withDeadline(work(client, settings), CLI_REDIS_TIMEOUT_MS, () => new RedisUnreachableError(settings.env.redis,
      `no answer within ${CLI_REDIS_TIMEOUT_MS / 1000} s to the command itself; it may still take effect when Redis answers again — check with rotator status`,
    )).catch((err: unknown) => {
      throw asRedisUnreachable(err, client.redis, settings.env.redis);
    });
  } finally {
    await client.close();
  }
}

/** `rotator status | pause | resume | history | plan`: what an operator runs to watch and steer the service. */
export function registerOperateCommands(program: Command, ctx: CliContext): void {
  addConfigOption(
    program
      .command('status')
      .description('queue counts, rotations in progress, failures in the last 24 h, and each mailbox’s key age and next run')
      .option('--json', 'print machine-readable JSON')
      .option('--no-key-ages', 'skip the Secrets Manager look-ups for key ages'),
  ).action(async (options: CommonOptions & { keyAges: boolean }) => {
    const settings = ctx.loadSettings(options.config, 'operator');
    await withReachableRuntime(settings, async (runtime) => {
      const audit = new AuditLog({ redis: runtime.redis, prefix: settings.env.queuePrefix, logger: pino({ level: 'silent' }) });
      // Without a webhook URL the notifier only reads the shared consecutive-failure counters.
      const alerts = new AlertNotifier({ redis: runtime.redis, prefix: settings.env.queuePrefix, logger: pino({ level: 'silent' }) });
      const status = await collectStatus({ settings, queue: runtime.queue, ledger: runtime.ledger, audit, alerts, secrets: options.keyAges ? runtime.secrets : undefined, sendmux: runtime.sendmux })
        .catch((err: unknown) => {
          throw asRedisUnreachable(err, runtime.redis, settings.env.redis);
        })
        .finally(() => alerts.close());
      ctx.io.stdout(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      if (jobsWaitWithoutWorker(status)) ctx.setExitCode(EXIT_NO_WORKER);
    });
  });

  for (const [name, verb] of [
    ['pause', 'stop'],
    ['resume', 'restart'],
  ] as const) {
    addConfigOption(
      program.command(name).description(`${verb} job processing on every worker of every replica (BullMQ queue ${name})`),
    ).action(async (options: CommonOptions) => {
      await withQueueClient(ctx, options, async (client) => {
        if (name === 'pause') await client.queue.queue.pause();
        else await resumeProcessing(client.queue.queue);
        const paused = await client.queue.queue.isPaused();
        ctx.io.stdout(`queue ${paused ? 'paused: workers finish the jobs in progress and take no new ones' : 'running'}\n`);
      });
    });
  }

  addConfigOption(
    program
      .command('history')
      .description('the audit history of one mailbox: every rotation attempt, oldest first')
      .argument('<mailboxId>', 'mailbox id, e.g. mbx_123')
      .option('--limit <n>', 'how many entries (the most recent)', '50')
      .option('--json', 'print machine-readable JSON'),
  ).action(async (mailboxId: string, options: CommonOptions & { limit: string }) => {
    const limit = Number(options.limit);
    if (!isSendmuxId(mailboxId)) {
      ctx.io.stderr(`rotator history: invalid mailbox id ${JSON.stringify(mailboxId)}: use 1-255 characters from A-Z a-z 0-9 _ -\n`);
      ctx.setExitCode(EXIT_USAGE);
      return;
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      ctx.io.stderr(`rotator history: --limit must be a whole number from 1 to 10000, got "${options.limit}"\n`);
      ctx.setExitCode(EXIT_USAGE);
      return;
    }
    await withQueueClient(ctx, options, async (client, settings) => {
      const audit = new AuditLog({ redis: client.redis, prefix: settings.env.queuePrefix, logger: pino({ level: 'silent' }) });
      const entries = await audit.forMailbox(mailboxId, limit);
      ctx.io.stdout(options.json ? `${JSON.stringify(mailboxHistoryDocument(mailboxId, entries), null, 2)}\n` : `${formatHistory(entries)}\n`);
    });
  });

  addConfigOption(
    program
      .command('plan')
      .description('dry run: which mailboxes are due when and why, and whether the keys can read them; mints nothing')
      .option('--json', 'print machine-readable JSON'),
  ).action(async (options: CommonOptions) => {
    const settings = ctx.loadSettings(options.config, 'operator');
    // The plan reads Sendmux and Secrets Manager only; its Redis connection is never used.
    const runtime = await createRotatorRuntime({ settings, logger: pino({ level: 'silent' }), runWorker: false, redisPurpose: 'cli' });
    try {
      const plan = await buildRotationPlan({
        file: settings.file,
        sendmux: runtime.sendmux,
        secrets: runtime.secrets,
        renderSecretName: (mailboxId) => renderSecretName(settings.file.secretName, mailboxId),
      });
      ctx.io.stdout(options.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatRotationPlan(plan)}\n`);
      if (plan.problems.length > 0) {
        // The problems are listed once, in the plan above; stderr only says that there are some.
        if (!options.json) ctx.io.stderr(`rotator plan: ${plan.problems.length} problem(s), listed above under "Problems"\n`);
        ctx.setExitCode(EXIT_FAILURE);
      }
    } finally {
      await runtime.close();
    }
  });
}
