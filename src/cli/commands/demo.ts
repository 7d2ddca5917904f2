import type { Command } from 'commander';
import path from 'node:path';
import { createLogger } from '../../logging/logger';
import { describeRedisTarget, loadSettings } from '../../config';
import { startSendmuxSandbox, DEFAULT_SANDBOX_MANAGEMENT_KEY } from '../../sandbox/sendmux';
import { startSecretsManagerStandIn } from '../../sandbox/secrets-manager';
import { createSecretsManagerClient } from '../../aws/secrets-manager-client';
import { startRotatorService, ROLES } from '../../app/service';
import { EXIT_USAGE, type CliContext } from '../context';

interface DemoOptions {
  mailboxes: string;
  config?: string;
}

/**
 * `rotator demo`: the whole service on this machine against LOCAL STAND-INS (the Sendmux sandbox
 * and the Secrets Manager stand-in, both in this process) and the Redis at REDIS_URL.
 */
export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run the rotator locally against built-in stand-ins of Sendmux and Secrets Manager (never production)')
    .option('--mailboxes <n>', 'demo mailboxes to create in the sandbox', '5')
    .option('-c, --config <path>', 'configuration file', 'config/rotator.demo.yaml')
    .action(async (options: DemoOptions) => {
      const count = Number(options.mailboxes);
      if (!Number.isInteger(count) || count < 1 || count > 10_000) {
        ctx.io.stderr(`rotator demo: --mailboxes must be a whole number from 1 to 10000, got "${options.mailboxes}"\n`);
        ctx.setExitCode(EXIT_USAGE);
        return;
      }
      await runDemo(ctx, count, options.config ?? 'config/rotator.demo.yaml');
    });
}

async function runDemo(ctx: CliContext, count: number, configPath: string): Promise<void> {
  const { io } = ctx;
  const baseEnv = io.env;
  const logger = createLogger({ level: baseEnv.LOG_LEVEL ?? 'info' });
  const sandbox = await startSendmuxSandbox({
    mailboxes: Array.from({ length: count }, (_, i) => {
      const n = String(i + 1).padStart(4, '0');
      return { id: `mbx_demo_${n}`, email: `demo-${n}@example.test` };
    }),
  });
  const standIn = await startSecretsManagerStandIn({ region: baseEnv.AWS_REGION ?? 'us-east-1' });

  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    SENDMUX_API_URL: sandbox.url,
    SENDMUX_API_KEY: DEFAULT_SANDBOX_MANAGEMENT_KEY,
    AWS_REGION: baseEnv.AWS_REGION ?? 'us-east-1',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: standIn.url,
    ROTATOR_QUEUE_PREFIX: baseEnv.ROTATOR_QUEUE_PREFIX ?? 'rotator-demo',
    HOST: baseEnv.HOST ?? '127.0.0.1',
  };
  delete env.SENDMUX_API_KEY_SECRET_ID;
  const settings = loadSettings({ env, cwd: io.cwd, configPath: path.resolve(io.cwd, configPath) });
  // The stand-in ignores signatures; fake credentials keep the SDK's credential chain quiet.
  const secretsManagerClient = createSecretsManagerClient({
    region: settings.env.awsRegion ?? 'us-east-1',
    endpoint: standIn.url,
    credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
  });

  const service = await startRotatorService({ settings, logger, roles: new Set(ROLES), secretsManagerClient });
  const base = `http://${settings.env.host}:${settings.env.port}`;
  io.stderr(
    [
      '',
      'rotator demo — LOCAL STAND-INS ONLY: a Sendmux sandbox and a Secrets Manager stand-in run inside this process.',
      `  Sendmux sandbox:            ${sandbox.url}  (${count} demo mailboxes: mbx_demo_0001…)`,
      `  Secrets Manager stand-in:   ${standIn.url}`,
      `  Redis:                      ${describeRedisTarget(settings.env.redis)}  (queue prefix "${settings.env.queuePrefix}")`,
      `  Schedule:                   "${settings.file.schedule}" (${settings.file.timezone})`,
      `  Dashboard:                  ${base}/admin/queues`,
      `  Metrics:                    ${base}/metrics     Health: ${base}/healthz`,
      `  Stand-in state:             ${sandbox.url.replace(/\/api\/v1$/, '')}/_sandbox/state and ${standIn.url}/_standin/state`,
      '',
      'Rotate one now from another terminal:',
      `  ROTATOR_QUEUE_PREFIX=${settings.env.queuePrefix} SENDMUX_API_KEY=${DEFAULT_SANDBOX_MANAGEMENT_KEY} \\`,
      `    node dist/src/cli/main.js rotate mbx_demo_0001 --wait --config ${configPath}`,
      '',
      'Logs (JSON) follow on stdout. Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void (async () => {
        await service.close();
        secretsManagerClient.destroy();
        await sandbox.close();
        await standIn.close();
        resolve();
      })();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
