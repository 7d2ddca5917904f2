import pino from 'pino';
import type { Logger } from 'pino';
import { sandboxOptionsFromEnv } from './env';
import { DEFAULT_SANDBOX_MANAGEMENT_KEY, startSendmuxSandbox } from './sandbox';
import type { SendmuxSandbox } from './sandbox';

/**
 * Runs the sandbox as its own process (docker-compose, the demo, benchmarks), configured from the
 * environment (see env.ts). Logs where it listens but never the keys it accepts.
 */
export async function startSandboxFromEnv(env: NodeJS.ProcessEnv, logger: Logger): Promise<SendmuxSandbox> {
  const options = sandboxOptionsFromEnv(env);
  const sandbox = await startSendmuxSandbox({ ...options, logger });
  logger.info(
    {
      url: sandbox.url,
      adminUrl: sandbox.url.replace(/\/api\/v1$/, '/_sandbox/state'),
      mailboxes: sandbox.state.mailboxes.size,
      usesDefaultManagementKey: options.managementKeys?.includes(DEFAULT_SANDBOX_MANAGEMENT_KEY) ?? true,
      rateLimit: options.rateLimit === undefined ? '600/60s' : options.rateLimit,
    },
    'Sendmux sandbox: a LOCAL STAND-IN for the Sendmux Management API, not the real service; never use it in production',
  );
  return sandbox;
}

async function main(): Promise<void> {
  const logger = pino({ name: 'sendmux-sandbox' });
  let sandbox: SendmuxSandbox;
  try {
    sandbox = await startSandboxFromEnv(process.env, logger);
  } catch (error) {
    logger.error({ error: error instanceof Error ? error.message : String(error) }, 'Sendmux sandbox failed to start');
    process.exitCode = 1;
    return;
  }
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'Sendmux sandbox stopping');
    sandbox.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ error: error instanceof Error ? error.message : String(error) }, 'Sendmux sandbox failed to stop cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) void main();
