import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { DEFAULT_SANDBOX_MANAGEMENT_KEY } from '../../standins/sendmux/sandbox';
import { BenchProcess, parseJsonLine } from './child-process';
import { envOfStage, parseDockerfile } from './dockerfile';
import { CLI_ENTRY, REPO_ROOT, SANDBOX_ENTRY, STAND_IN_ENTRY } from './paths';

export const BENCH_REGION = 'us-east-1';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface SandboxSpec {
  mailboxes: number;
  /** "6000/60s" or "off". */
  rateLimit: string;
  /** "50" or "0-5". */
  latencyMs: string;
}

export interface RunningSandbox {
  process: BenchProcess;
  /** The vendor API base URL (…/api/v1). */
  apiUrl: string;
  adminUrl: string;
}

/** The Sendmux sandbox as its own process on an ephemeral loopback port. */
export async function startSandbox(spec: SandboxSpec, logDir: string, label: string): Promise<RunningSandbox> {
  const proc = new BenchProcess(
    `sandbox ${label}`,
    SANDBOX_ENTRY,
    [],
    {
      SANDBOX_HOST: '127.0.0.1',
      SANDBOX_PORT: '0',
      SANDBOX_DEMO_MAILBOXES: String(spec.mailboxes),
      SANDBOX_RATE_LIMIT: spec.rateLimit,
      SANDBOX_LATENCY_MS: spec.latencyMs,
    },
    path.join(logDir, `sandbox-${label}.log`),
  );
  const line = await proc.waitForLine(/"url":"http/);
  const url = parseJsonLine(line)?.['url'];
  if (typeof url !== 'string') throw new Error(`sandbox ${label} printed no url: ${line}`);
  return { process: proc, apiUrl: url, adminUrl: url.replace(/\/api\/v1$/, '') + '/_sandbox' };
}

export interface RunningStandIn {
  process: BenchProcess;
  url: string;
}

/** The Secrets Manager stand-in as its own process on an ephemeral loopback port. */
export async function startStandIn(logDir: string, label: string): Promise<RunningStandIn> {
  const proc = new BenchProcess(
    `stand-in ${label}`,
    STAND_IN_ENTRY,
    [],
    { STANDIN_HOST: '127.0.0.1', STANDIN_PORT: '0', AWS_REGION: BENCH_REGION, LOG_LEVEL: 'info' },
    path.join(logDir, `stand-in-${label}.log`),
  );
  // Requests are logged at debug only, so info costs nothing per request.
  const line = await proc.waitForLine(/"url":"http/);
  const url = parseJsonLine(line)?.['url'];
  if (typeof url !== 'string') throw new Error(`stand-in ${label} printed no url: ${line}`);
  return { process: proc, url };
}

/** The environment a rotator process (and the bench's own clients) needs to reach the stand-ins. */
export function rotatorEnv(sandbox: RunningSandbox, standIn: RunningStandIn, queuePrefix: string, logLevel = 'info'): NodeJS.ProcessEnv {
  return {
    REDIS_URL,
    SENDMUX_API_URL: sandbox.apiUrl,
    SENDMUX_API_KEY: DEFAULT_SANDBOX_MANAGEMENT_KEY,
    AWS_REGION: BENCH_REGION,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: standIn.url,
    ROTATOR_QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: logLevel,
    // Every replica serves /healthz, /readyz and /metrics; loopback and any free port for the bench.
    HOST: '127.0.0.1',
    PORT: '0',
  };
}

export function writeConfig(dir: string, name: string, config: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, toYaml(config));
  return file;
}

/** `rotator start --role worker`, exactly as deployed; resolves once it logged "rotator started". */
export async function startWorker(
  configPath: string,
  env: NodeJS.ProcessEnv,
  logDir: string,
  label: string,
  nodeArgs: string[] = workerNodeArgs(),
): Promise<BenchProcess> {
  const proc = new BenchProcess(
    `worker ${label}`,
    CLI_ENTRY,
    ['start', '--role', 'worker', '--config', configPath],
    { ...env, ...deployedRuntimeEnv(), ...workerExtraEnv() },
    path.join(logDir, `worker-${label}.log`),
    nodeArgs,
  );
  await proc.waitForLine(/"msg":"rotator started"/, 30_000);
  return proc;
}

/**
 * Extra Node flags for every worker, for profiling a run: BENCH_WORKER_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=/tmp/prof" or "--trace-gc". Empty by default: workers run as deployed.
 */
export function workerNodeArgs(): string[] {
  return (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

/**
 * Extra environment for every worker, for experiments: BENCH_WORKER_ENV="MALLOC_ARENA_MAX=2 …"
 * (space-separated NAME=value pairs). Empty by default: workers run as deployed.
 */
export function workerExtraEnv(): Record<string, string> {
  const pairs = (process.env.BENCH_WORKER_ENV ?? '').split(/\s+/).filter(Boolean);
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`BENCH_WORKER_ENV: expected NAME=value pairs separated by spaces, got "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

/** The variables of the image's environment that shape the process's memory and CPU use. */
export const RUNTIME_TUNING_VARIABLES = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'] as const;

/**
 * The runtime-tuning variables the container image sets (ENV of the Dockerfile's final stage:
 * NODE_OPTIONS, MALLOC_ARENA_MAX; a later ENV wins, as in Docker), so bench workers run as
 * deployed. Throws when the Dockerfile cannot be read or parsed: a worker silently run untuned
 * would measure something nobody deploys.
 */
export function deployedRuntimeEnv(): Record<string, string> {
  return runtimeEnvOfDockerfile(readFileSync(`${REPO_ROOT}/Dockerfile`, 'utf8'));
}

/** RUNTIME_TUNING_VARIABLES as a Dockerfile's final stage sets them; `{}` when it sets none. */
export function runtimeEnvOfDockerfile(dockerfile: string): Record<string, string> {
  const stages = parseDockerfile(dockerfile);
  const finalStage = stages[stages.length - 1];
  if (!finalStage) throw new Error('the Dockerfile has no FROM: no image to run the bench workers as');
  const set = envOfStage(finalStage);
  const env: Record<string, string> = {};
  for (const name of RUNTIME_TUNING_VARIABLES) {
    const value = set[name];
    if (!value) continue;
    // Docker substitutes build arguments and earlier variables; the bench cannot, so it refuses.
    if (value.includes('$')) throw new Error(`the Dockerfile's ${name} refers to a variable ("${value}"): the bench cannot resolve it; write the value out`);
    env[name] = value;
  }
  return env;
}
