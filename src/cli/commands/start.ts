import type { Command } from 'commander';
import { createLogger, resolveLogFormat } from '../../logging/logger';
import { startRotatorService, parseRoles, type RotatorService } from '../../app/service';
import { addConfigOption, EXIT_FAILURE, EXIT_USAGE, type CliContext } from '../context';
import { errorSummary } from '../../logging/error-summary';

interface StartOptions {
  config?: string;
  role: string;
}

/** `rotator start`: the long-running service (worker, scheduler and HTTP API, by role). */
export function registerStartCommand(program: Command, ctx: CliContext): void {
  addConfigOption(
    program
      .command('start')
      .description('run the rotator service until SIGTERM/SIGINT')
      .option('--role <roles>', 'all, or a comma list of worker, scheduler, api', 'all'),
  ).action(async (options: StartOptions) => {
    let roles;
    try {
      roles = parseRoles(options.role);
    } catch (err) {
      ctx.io.stderr(`rotator start: ${(err as Error).message}\n`);
      ctx.setExitCode(EXIT_USAGE);
      return;
    }
    const settings = ctx.loadSettings(options.config);
    // JSON unless LOG_FORMAT=pretty: a service's stdout is normally read by a log pipeline.
    const logger = createLogger({ level: settings.env.logLevel, format: resolveLogFormat(settings.env.logFormat, false) });
    let service: RotatorService;
    try {
      service = await startRotatorService({ settings, logger, roles });
    } catch (err) {
      logger.fatal({ err: errorSummary(err) }, 'rotator failed to start');
      ctx.io.stderr(`rotator start: ${(err as Error).message}\n`);
      ctx.setExitCode(EXIT_FAILURE);
      return;
    }
    await waitForShutdownSignal(logger, service, settings.file.rotation.shutdownTimeoutMs);
  });
}

/** Beyond shutdownTimeout, what closing the HTTP server, Redis and the rest may take. */
export const SHUTDOWN_GRACE_MS = 5_000;
/** After a clean shutdown, how long a leftover handle (an abandoned job's HTTP call) may keep the process. */
const EXIT_AFTER_SHUTDOWN_MS = 500;

/**
 * Resolves after a graceful shutdown on the first SIGTERM/SIGINT: stop taking jobs, let the ones in
 * progress finish (or hand them back after the timeout), close Redis. A second signal exits at once.
 */
function waitForShutdownSignal(logger: ReturnType<typeof createLogger>, service: RotatorService, shutdownTimeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting for jobs in progress');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, shutdownTimeoutMs }, 'shutting down: no new jobs; waiting for jobs in progress');
      // Whatever Redis or a job does, the process ends: a hung close must not keep it alive.
      const deadlineMs = shutdownTimeoutMs + SHUTDOWN_GRACE_MS;
      setTimeout(() => {
        logger.error({ deadlineMs }, `shutdown did not finish within shutdownTimeout + ${SHUTDOWN_GRACE_MS} ms; exiting now (jobs still running are left to their lock expiry)`);
        process.exit(1);
      }, deadlineMs).unref();
      service
        .close()
        .then(() => logger.info('shutdown complete'))
        .catch((err: Error) => logger.error({ err: errorSummary(err) }, 'error during shutdown'))
        .finally(() => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          // An abandoned job's processor may still hold a socket or timer: it must not outlive
          // the shutdown (another worker takes its job over once the lock expires).
          setTimeout(() => {
            const jobIds = service.runtime.jobsInProgress();
            logger.warn(
              { jobIds },
              jobIds.length > 0
                ? `exiting with ${jobIds.length} abandoned job(s) still running here; their locks expire and another worker resumes them`
                : 'exiting: a connection or timer was still open after the shutdown',
            );
            process.exit(process.exitCode ?? 0);
          }, EXIT_AFTER_SHUTDOWN_MS).unref();
          resolve();
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
