import type { Command } from 'commander';
import path from 'node:path';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { createLogger, resolveLogFormat } from '../../logging/logger';
import { describeRedisTarget, loadSettings, type RotatorSettings } from '../../config';
import { ENV_DEFAULTS } from '../../config/env';
import { loadStandIns } from '../stand-ins';
import { createSecretsManagerClient } from '../../aws/secrets-manager-client';
import { startRotatorService, ROLES } from '../../app/service';
import { EXIT_USAGE, type CliContext } from '../context';
import { ensureDemoRedis } from '../demo/demo-redis';
import { claimEnvFile, DEFAULT_DEMO_ENV_FILE, envFileMarker, formatEnvFile } from '../demo/env-file';
import { deleteQueuePrefixKeys, demoQueuePrefix } from '../demo/queue-prefix';
import { InsecureBindError, isLoopbackHost } from '../../http/auth';
import { createServer } from 'node:net';
import { createRotationLineSink } from '../demo/rotation-lines';

/** Fixed, so the env file and the README's commands stay valid from one demo run to the next. */
export const DEFAULT_DEMO_SENDMUX_PORT = 3001;
export const DEFAULT_DEMO_SECRETS_MANAGER_PORT = 3002;
/** The stand-in secret holding the sandbox's management key, so the env file names a secret id, not a key. */
export const DEMO_MANAGEMENT_KEY_SECRET_ID = 'rotator-demo/sendmux-management-key';
const DEMO_REGION = 'us-east-1';
/** The stand-in ignores signatures; fake credentials keep the SDK's credential chain quiet. */
const DEMO_AWS_CREDENTIALS = { accessKeyId: 'demo', secretAccessKey: 'demo' } as const;

interface DemoOptions {
  mailboxes: string;
  config: string;
  sendmuxPort: string;
  secretsManagerPort: string;
  cliEnvFile: string;
}

/** Startup problems the demo explains in one message (port in use, no Redis, …). */
export class DemoStartError extends Error {
  override readonly name = 'DemoStartError';
}

/**
 * `rotator demo`: the whole service on this machine against LOCAL STAND-INS (the Sendmux sandbox
 * and the Secrets Manager stand-in, both in this process) and the Redis at REDIS_URL, or a
 * private redis-server when nothing answers there.
 */
export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run the rotator locally against built-in stand-ins of Sendmux and Secrets Manager (never production)')
    .option('--mailboxes <n>', 'demo mailboxes to create in the sandbox', '5')
    .option('-c, --config <path>', 'configuration file', 'config/rotator.demo.yaml')
    .option('--sendmux-port <port>', 'port of the Sendmux sandbox (0 = any free port)', String(DEFAULT_DEMO_SENDMUX_PORT))
    .option('--secrets-manager-port <port>', 'port of the Secrets Manager stand-in (0 = any free port)', String(DEFAULT_DEMO_SECRETS_MANAGER_PORT))
    // Not `--env-file`: Node itself takes that option even after the script name.
    .option('--cli-env-file <path>', 'where to write the environment the CLI needs to reach this demo', DEFAULT_DEMO_ENV_FILE)
    .action(async (options: DemoOptions) => {
      const count = Number(options.mailboxes);
      if (!Number.isInteger(count) || count < 1 || count > 10_000) {
        ctx.io.stderr(`rotator demo: --mailboxes must be a whole number from 1 to 10000, got "${options.mailboxes}"\n`);
        ctx.setExitCode(EXIT_USAGE);
        return;
      }
      const sendmuxPort = parsePort(options.sendmuxPort);
      const secretsManagerPort = parsePort(options.secretsManagerPort);
      if (sendmuxPort === undefined || secretsManagerPort === undefined) {
        const [name, value] = sendmuxPort === undefined ? ['--sendmux-port', options.sendmuxPort] : ['--secrets-manager-port', options.secretsManagerPort];
        ctx.io.stderr(`rotator demo: ${name} must be a TCP port from 0 to 65535 (0 = any free port), got "${value}"\n`);
        ctx.setExitCode(EXIT_USAGE);
        return;
      }
      await runDemo(ctx, { count, configPath: options.config, sendmuxPort, secretsManagerPort, envFile: options.cliEnvFile });
    });
}

function parsePort(text: string): number | undefined {
  return /^\d{1,5}$/.test(text) && Number(text) <= 65535 ? Number(text) : undefined;
}

interface DemoPlan {
  count: number;
  configPath: string;
  sendmuxPort: number;
  secretsManagerPort: number;
  envFile: string;
}

/**
 * What the demo has started so far; `stopAll` closes it newest first and never throws. A closer
 * may return what it removed (e.g. "the env file .rotator-demo.env"), which stopAll returns, in
 * order, so the demo can say what it cleaned up.
 */
class StartedParts {
  private readonly closers: Array<() => Promise<string | void> | string | void> = [];

  add(close: () => Promise<string | void> | string | void): void {
    this.closers.push(close);
  }

  async stopAll(onError: (err: Error) => void): Promise<string[]> {
    const removed: string[] = [];
    while (this.closers.length > 0) {
      const close = this.closers.pop()!;
      try {
        const what = await close();
        if (typeof what === 'string') removed.push(what);
      } catch (err) {
        onError(err as Error);
      }
    }
    return removed;
  }
}

async function runDemo(ctx: CliContext, plan: DemoPlan): Promise<void> {
  const { io } = ctx;
  // Loaded lazily: the production image ships without the stand-ins (StandInsMissingError there).
  const { sendmux: { startSendmuxSandbox, DEFAULT_SANDBOX_MANAGEMENT_KEY }, secretsManager: { startSecretsManagerStandIn } } = await loadStandIns();
  const baseEnv = io.env;
  const configPath = path.resolve(io.cwd, plan.configPath);
  const parts = new StartedParts();

  // Signals are taken from the first moment, so a Ctrl-C during start-up still stops the private
  // Redis (a default SIGINT would kill this process and leave it running).
  let stopRequested = false;
  let signalled: () => void = () => undefined;
  const stopSignal = new Promise<void>((resolve) => (signalled = resolve));
  const onSignal = () => {
    if (stopRequested) {
      io.stderr('rotator demo: second signal: exiting now\n');
      process.exit(1);
    }
    stopRequested = true;
    signalled();
  };
  // SIGHUP too: closing the terminal window must not leave the private Redis behind.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);
  const stopAll = async () => {
    const removed = await parts.stopAll((err) => io.stderr(`rotator demo: while stopping: ${err.message}\n`));
    for (const signal of signals) process.off(signal, onSignal);
    if (stopRequested && removed.length > 0) io.stderr(`rotator demo: stopped; removed ${removed.join(', ')}\n`);
  };

  try {
    const queuePrefix = demoQueuePrefix(baseEnv.ROTATOR_QUEUE_PREFIX);
    const host = baseEnv.HOST || '127.0.0.1';
    // Everything the service would refuse, before anything starts (no Redis, no key minted):
    // REDIS_URL, LOG_FORMAT, HOST, PORT, the YAML file; then the ports and the env file.
    const early = loadSettings({
      env: { ...baseEnv, SENDMUX_API_KEY: DEFAULT_SANDBOX_MANAGEMENT_KEY, SENDMUX_API_KEY_SECRET_ID: '', ROTATOR_QUEUE_PREFIX: queuePrefix.prefix, HOST: host },
      cwd: io.cwd,
      configPath,
    });
    if (early.env.apiToken === undefined && !isLoopbackHost(host)) throw new InsecureBindError(host);
    await checkListeners([
      { what: 'the Sendmux sandbox', option: '--sendmux-port', host: '127.0.0.1', port: plan.sendmuxPort },
      { what: 'the Secrets Manager stand-in', option: '--secrets-manager-port', host: '127.0.0.1', port: plan.secretsManagerPort },
      { what: 'the rotator', option: 'the PORT variable', host, port: early.env.port },
    ]);

    // Claimed now (O_EXCL, a placeholder) so a file the demo may not write stops it before it starts anything.
    const marker = envFileMarker(process.pid);
    const envFile = claimEnvFile(path.resolve(io.cwd, plan.envFile), formatEnvFile([marker, 'The demo is starting.'], {}), '--cli-env-file');
    parts.add(() => {
      envFile.remove();
      return `the env file ${displayPath(io.cwd, envFile.path)}`;
    });
    if (envFile.replacedStalePid !== undefined) {
      io.stderr(`rotator demo: replaced ${displayPath(io.cwd, envFile.path)}, left by a demo that is no longer running (pid ${envFile.replacedStalePid})\n`);
    }

    const redis = await ensureDemoRedis(baseEnv.REDIS_URL || ENV_DEFAULTS.REDIS_URL, baseEnv.PATH, (text) => io.stderr(`rotator demo: ${text}\n`));
    if (redis.privateRedis) {
      const privateRedis = redis.privateRedis;
      parts.add(async () => {
        await privateRedis.stop();
        return `the private redis-server (pid ${privateRedis.pid}) and its data`;
      });
    }
    // A private Redis takes its keys with it; in a shared one the demo deletes what it wrote under
    // the prefix it made up (after the service has stopped, as this closer runs after its own).
    if (queuePrefix.generated && !redis.privateRedis) {
      parts.add(async () => {
        const deleted = await deleteQueuePrefixKeys(redis.url, queuePrefix.prefix);
        return `${deleted} Redis key(s) under its queue prefix "${queuePrefix.prefix}" (SCAN, no FLUSH)`;
      });
    }
    if (stopRequested) return;

    const sandbox = await listenOrExplain('the Sendmux sandbox', '--sendmux-port', plan.sendmuxPort, () =>
      startSendmuxSandbox({
        port: plan.sendmuxPort,
        mailboxes: Array.from({ length: plan.count }, (_, i) => {
          const n = String(i + 1).padStart(4, '0');
          return { id: `mbx_demo_${n}`, email: `demo-${n}@example.test` };
        }),
      }),
    );
    parts.add(() => sandbox.close());
    const region = baseEnv.AWS_REGION || DEMO_REGION;
    const standIn = await listenOrExplain('the Secrets Manager stand-in', '--secrets-manager-port', plan.secretsManagerPort, () =>
      startSecretsManagerStandIn({ region, port: plan.secretsManagerPort }),
    );
    parts.add(() => standIn.close());
    const secretsManagerClient = createSecretsManagerClient({ region, endpoint: standIn.url, credentials: DEMO_AWS_CREDENTIALS });
    parts.add(() => secretsManagerClient.destroy());
    await secretsManagerClient.send(
      new CreateSecretCommand({ Name: DEMO_MANAGEMENT_KEY_SECRET_ID, SecretString: DEFAULT_SANDBOX_MANAGEMENT_KEY }),
    );
    if (stopRequested) return;

    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      REDIS_URL: redis.url,
      SENDMUX_API_URL: sandbox.url,
      SENDMUX_API_KEY: DEFAULT_SANDBOX_MANAGEMENT_KEY,
      SENDMUX_API_KEY_SECRET_ID: '',
      AWS_REGION: region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: standIn.url,
      ROTATOR_QUEUE_PREFIX: queuePrefix.prefix,
      HOST: host,
    };
    const settings = loadSettings({ env, cwd: io.cwd, configPath });
    // Filled in once the HTTP server listens; repeated under the rotation lines so it never scrolls away.
    let reminder = '';
    const format = resolveLogFormat(settings.env.logFormat, true);
    const logger = createLogger({ level: settings.env.logLevel, format });

    const service = await listenOrExplain('the rotator', 'the PORT variable', settings.env.port, () =>
      startRotatorService({
        settings,
        logger,
        roles: new Set(ROLES),
        secretsManagerClient,
        events: createRotationLineSink(withReminder(io.stderr, () => reminder), settings.file.revokePreviousAfterMs),
      }),
    );
    parts.add(() => service.close());
    if (stopRequested) return;

    envFile.write(
      formatEnvFile(
        [marker, 'Removed when that demo stops. LOCAL STAND-INS ONLY, never production.',
          'Use: node --env-file=<this file> dist/src/cli/main.js status'],
        cliEnvironment(settings, standIn.url),
      ),
    );
    const pages = service.http?.url ?? `http://${settings.env.host}:${settings.env.port}`;
    reminder = `rotator demo: look at ${pages}/admin/mailboxes (per mailbox) and ${pages}/admin/queues (the queue); Ctrl-C stops everything`;
    io.stderr(banner({ settings, plan, sandboxUrl: sandbox.url, standInUrl: standIn.url, http: service.http?.url, privateRedisPid: redis.privateRedis?.pid, envFile: displayPath(io.cwd, envFile.path), format, prefixGenerated: queuePrefix.generated }));

    await stopSignal;
  } finally {
    await stopAll();
  }
}

/** `file` relative to `cwd` when it is inside it (as a person would type it), else absolute. */
function displayPath(cwd: string, file: string): string {
  const relative = path.relative(cwd, file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** The variables a CLI process needs to act on this demo (what `node --env-file` loads). */
function cliEnvironment(settings: RotatorSettings, standInUrl: string): Record<string, string> {
  return {
    SENDMUX_API_URL: settings.env.sendmuxApiUrl,
    SENDMUX_API_KEY_SECRET_ID: DEMO_MANAGEMENT_KEY_SECRET_ID,
    AWS_REGION: settings.env.awsRegion ?? DEMO_REGION,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: standInUrl,
    AWS_ACCESS_KEY_ID: DEMO_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DEMO_AWS_CREDENTIALS.secretAccessKey,
    // The demo runs on one Redis, named by REDIS_URL (it sets that variable itself).
    ...(settings.env.redis.mode === 'single' ? { REDIS_URL: settings.env.redis.url } : {}),
    ROTATOR_QUEUE_PREFIX: settings.env.queuePrefix,
    ROTATOR_CONFIG: settings.env.configPath,
    // So a CLI run with a file this demo left behind (killed with SIGKILL) says at once it is gone.
    ROTATOR_DEMO_PID: String(process.pid),
  };
}

interface Listener {
  what: string;
  /** How a person changes it, e.g. `--sendmux-port`. */
  option: string;
  host: string;
  /** 0 = any free port: nothing to check. */
  port: number;
}

/**
 * Throws DemoStartError when two of the demo's own listeners want the same port (naming both
 * options), or when one cannot listen there now (in use, an address this machine does not have,
 * a privileged port): checked by binding and releasing it, before anything starts.
 */
async function checkListeners(listeners: readonly Listener[]): Promise<void> {
  for (const [i, a] of listeners.entries()) {
    const clash = listeners.slice(i + 1).find((b) => a.port !== 0 && b.port === a.port);
    if (clash) {
      throw new DemoStartError(
        `${a.what} (${a.option}) and ${clash.what} (${clash.option}) are both set to port ${a.port}: give one of them another port (0 = any free port).`,
      );
    }
  }
  for (const listener of listeners) {
    if (listener.port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'it is in use (another demo still running?). Stop that process, or choose another port'
          : `${err.code ?? err.message}. Choose another ${listener.option === 'the PORT variable' ? 'HOST or PORT' : 'port'}`;
        reject(new DemoStartError(`${listener.what} cannot listen on ${listener.host}:${listener.port}: ${why} with ${listener.option} (0 = any free port).`));
      });
      server.listen(listener.port, listener.host, () => server.close(() => resolve()));
    });
  }
}

/** Runs `start`; a port already in use becomes a DemoStartError naming the way to pick another. */
async function listenOrExplain<T>(what: string, override: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new DemoStartError(
        `${what} cannot listen on port ${port}: it is in use (another demo still running?). Stop that process, or choose another port with ${override} (0 = any free port).`,
      );
    }
    throw err;
  }
}

interface BannerFacts {
  settings: RotatorSettings;
  plan: DemoPlan;
  sandboxUrl: string;
  standInUrl: string;
  http: string | undefined;
  privateRedisPid: number | undefined;
  envFile: string;
  format: string;
  prefixGenerated: boolean;
}

function banner(facts: BannerFacts): string {
  const { settings, plan } = facts;
  const base = facts.http ?? `http://${settings.env.host}:${settings.env.port}`;
  const redis = facts.privateRedisPid !== undefined
    ? `${describeRedisTarget(settings.env.redis)}  LOCAL STAND-IN: nothing answered at REDIS_URL, so the demo started a private redis-server (pid ${facts.privateRedisPid}); no persistence, stopped with the demo`
    : `${describeRedisTarget(settings.env.redis)}  (${settings.env.redis.variable}; queue prefix "${settings.env.queuePrefix}"${facts.prefixGenerated ? ', this run\'s own: its keys are deleted when the demo stops' : ''})`;
  const cli = `node --env-file=${facts.envFile} dist/src/cli/main.js`;
  return [
    '',
    'rotator demo — LOCAL STAND-INS ONLY: a Sendmux sandbox and a Secrets Manager stand-in run inside this process.',
    `  Sendmux sandbox:            ${facts.sandboxUrl}  LOCAL STAND-IN (${plan.count} demo mailbox${plan.count === 1 ? '' : 'es'}: mbx_demo_0001…)`,
    `  Secrets Manager stand-in:   ${facts.standInUrl}  LOCAL STAND-IN`,
    `  Redis:                      ${redis}`,
    `  Schedule:                   "${settings.file.schedule}" (${settings.file.timezone})`,
    `  Mailboxes page:             ${base}/admin/mailboxes`,
    `  Dashboard:                  ${base}/admin/queues`,
    `  Metrics:                    ${base}/metrics     Health: ${base}/healthz`,
    `  Stand-in state:             ${facts.sandboxUrl.replace(/\/api\/v1$/, '')}/_sandbox/state and ${facts.standInUrl}/_standin/state`,
    '',
    `The CLI reaches this demo through ${facts.envFile} (removed when the demo stops). From another terminal:`,
    `  ${cli} status`,
    `  ${cli} rotate mbx_demo_0001 --wait`,
    '',
    `One line per finished rotation and revocation follows here; logs (${facts.format === 'pretty' ? 'LOG_FORMAT=pretty' : 'JSON'}) on stdout. Ctrl-C stops everything.`,
    '',
  ].join('\n');
}

/** Every this many rotation lines, the demo says again where to look (the banner has scrolled away). */
export const REMINDER_EVERY_LINES = 10;

/** `write`, plus the reminder line after the first rotation line and then every REMINDER_EVERY_LINES. */
function withReminder(write: (text: string) => void, reminder: () => string): (text: string) => void {
  let lines = 0;
  return (text) => {
    write(text);
    lines += 1;
    const line = reminder();
    if (line !== '' && (lines === 1 || lines % REMINDER_EVERY_LINES === 0)) write(`${line}\n`);
  };
}
