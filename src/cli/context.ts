import { demoProcessRuns } from './demo/env-file';
import type { Command } from 'commander';
import { loadSettings, type RedisTarget, type RotatorSettings } from '../config';
import { RedisUnreachableError, unreachableReason, type RedisClient } from '../queue/redis-connection';
import type { SettingsPurpose } from '../config/load';

/** Where a CLI run reads and writes; the real process or a test's capture. */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** What every command gets: its I/O and the shared ways to load settings and set the exit code. */
export interface CliContext {
  readonly io: CliIo;
  /** The code `runCli` returns once the command finishes (0 unless set). */
  setExitCode(code: number): void;
  /** Settings from `configPath` (or ROTATOR_CONFIG / the defaults), for `purpose` (default service). Throws ConfigError. */
  loadSettings(configPath?: string, purpose?: SettingsPurpose): RotatorSettings;
}

/** A module that adds its commands to the program, e.g. `registerConfigCommands`. */
export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

export const EXIT_OK = 0;
/** Invalid configuration or a failed operation. */
export const EXIT_FAILURE = 1;
/** Bad command line: unknown command or option, missing argument. */
export const EXIT_USAGE = 2;
/** `rotate --wait`: a job had not started by --timeout because the queue is paused or rate-limited. */
export const EXIT_QUEUE_HELD = 3;
/** `revoke` / `retry`: the command refused and did nothing (the AWSCURRENT key, a job that is not failed, …). */
export const EXIT_REFUSED = 4;
/** `rotate --wait`: no worker consumes the queue, so the job will not start; `status`: no worker and jobs waiting. */
export const EXIT_NO_WORKER = 5;

export function createCliContext(io: CliIo): { ctx: CliContext; exitCode: () => number } {
  let exitCode = EXIT_OK;
  const ctx: CliContext = {
    io,
    setExitCode: (code) => {
      exitCode = code;
    },
    loadSettings: (configPath, purpose) => {
      refuseGoneDemo(io.env);
      return loadSettings({ env: io.env, cwd: io.cwd, ...(configPath === undefined ? {} : { configPath }), ...(purpose === undefined ? {} : { purpose }) });
    },
  };
  return { ctx, exitCode: () => exitCode };
}

/** Adds the standard `--config <path>` option to a command that reads settings. */
export function addConfigOption(command: Command): Command {
  return command.option('-c, --config <path>', 'configuration file (default: $ROTATOR_CONFIG, config/rotator.yaml, config/rotator.example.yaml)');
}

/**
 * How long a command waits for Redis before failing with "cannot reach Redis at …": together
 * with closing the connection, a command against a Redis that is down ends within about 5 s.
 */
export const CLI_REDIS_TIMEOUT_MS = 4_000;

/**
 * A command's error, as RedisUnreachableError (naming the address and variable) when the
 * connection was down at the time it failed; any other error unchanged.
 */
export function asRedisUnreachable(err: unknown, client: RedisClient, target: RedisTarget): unknown {
  if (err instanceof RedisUnreachableError || client.status === 'ready') return err;
  return new RedisUnreachableError(target, unreachableReason(client));
}

/** Thrown when the CLI runs with a demo's env file whose demo no longer runs. */
export class DemoGoneError extends Error {
  constructor(readonly pid: number) {
    super(`the demo (pid ${pid}) is gone; start it with npm run demo (then run this command again)`);
    this.name = 'DemoGoneError';
  }
}

/**
 * `rotator demo` writes ROTATOR_DEMO_PID into the env file the CLI is run with
 * (`node --env-file=.rotator-demo.env …`). When that process no longer runs (a demo killed with
 * SIGKILL leaves its file behind), every address in the file is dead: say so at once instead of
 * waiting for Redis to refuse the connection.
 */
function refuseGoneDemo(env: NodeJS.ProcessEnv): void {
  const text = env.ROTATOR_DEMO_PID;
  if (text === undefined || !/^\d+$/.test(text)) return;
  const pid = Number(text);
  if (!demoProcessRuns(pid)) throw new DemoGoneError(pid);
}
