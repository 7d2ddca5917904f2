import pino, { Logger } from 'pino';
import { SecretsManagerStandIn, startSecretsManagerStandIn } from './server';

/**
 * Runs the Secrets Manager stand-in as its own process, configured from the environment:
 * STANDIN_HOST (default 127.0.0.1), STANDIN_PORT (default 4566), AWS_REGION (default us-east-1).
 */
export async function startStandInFromEnv(
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<SecretsManagerStandIn> {
  const host = env['STANDIN_HOST']?.trim() || '127.0.0.1';
  const port = parsePort(env['STANDIN_PORT']);
  const region = env['AWS_REGION']?.trim() || env['AWS_DEFAULT_REGION']?.trim() || 'us-east-1';
  const standIn = await startSecretsManagerStandIn({ host, port, region, logger });
  logger.info(
    { url: standIn.url, region, admin: `${standIn.url}/_standin/state` },
    'LOCAL STAND-IN for AWS Secrets Manager is listening: this is NOT AWS, secrets live in this process memory only; ' +
      `point the SDK at it with AWS_ENDPOINT_URL_SECRETS_MANAGER=${standIn.url}`,
  );
  return standIn;
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 4566;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`STANDIN_PORT must be an integer between 0 and 65535, got "${raw}".`);
  }
  return port;
}

if (require.main === module) {
  const logger = pino({ name: 'secretsmanager-standin', level: process.env['LOG_LEVEL'] ?? 'info' });
  startStandInFromEnv(process.env, logger).then(
    (standIn) => {
      const shutdown = (signal: NodeJS.Signals): void => {
        logger.info({ signal }, 'stopping the Secrets Manager stand-in');
        standIn.close().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'failed to stop the Secrets Manager stand-in cleanly');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    },
    (error: unknown) => {
      logger.error({ err: error }, 'the Secrets Manager stand-in failed to start');
      process.exit(1);
    },
  );
}
