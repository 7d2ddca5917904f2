import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from '../../standins/secrets-manager';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';
import { waitFor } from '../support/test-bed';
import { COMPOSE_PATH, DOCKERFILE_PATH, REPO_ROOT, commandOf, execForm, instructionsOf, parseCompose, parseDockerfile, parseHealthcheck, serviceEnv } from './deploy-files';

/**
 * The compose stack rehearsed without Docker: the sandbox and the rotator run as the containers
 * would (same commands, same environment, the image's WORKDIR), with only what Docker provides
 * swapped for loopback: service host names become 127.0.0.1, ports are ephemeral, LocalStack is
 * the Secrets Manager stand-in and Redis the test Redis under a unique prefix. The healthcheck
 * commands of the compose file and the image then run against the live processes.
 */

const compose = parseCompose(readFileSync(COMPOSE_PATH, 'utf8'));
const finalStage = parseDockerfile(readFileSync(DOCKERFILE_PATH, 'utf8')).at(-1)!;
const imageCmd = execForm(instructionsOf(finalStage, 'CMD').at(-1)!.args)!;
const imageHealthcheck = parseHealthcheck(instructionsOf(finalStage, 'HEALTHCHECK').at(-1)!.args).command!;

/** A container's main process: `node …` from the image WORKDIR, with only the given environment. */
class ContainerProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(command: string[], env: Record<string, string>) {
    if (command[0] !== 'node') throw new Error(`expected a node command, got ${command.join(' ')}`);
    this.child = spawn(process.execPath, command.slice(1), { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    const collect = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      this.lines.push(...parts.filter(Boolean));
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  logs(): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  async waitForLog(message: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await waitFor(() => (found = this.logs().find((line) => line.msg === message)) !== undefined, timeoutMs, `log "${message}"\n${this.lines.join('\n')}`);
    return found!;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** Runs a healthcheck `test` (exec form) the way Docker does inside the container, and returns its exit code. */
function runHealthcheck(test: string[], env: Record<string, string>): number | null {
  const argv = test[0] === 'CMD' ? test.slice(1) : test;
  if (argv[0] !== 'node') throw new Error(`expected a node healthcheck, got ${argv.join(' ')}`);
  return spawnSync(process.execPath, argv.slice(1), { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 10_000 }).status;
}

function portOf(url: unknown): string {
  return new URL(String(url)).port;
}

describe('the compose stack, rehearsed on loopback', () => {
  const prefix = uniquePrefix('compose');
  let redis: Redis;
  let standIn: SecretsManagerStandIn;
  let sandbox: ContainerProcess;
  let rotator: ContainerProcess;
  let sandboxEnv: Record<string, string>;
  let rotatorEnv: Record<string, string>;

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
    standIn = await startSecretsManagerStandIn({ region: 'us-east-1' });

    const sandboxService = compose.services['sendmux-sandbox']!;
    sandboxEnv = { ...serviceEnv(sandboxService), SANDBOX_HOST: '127.0.0.1', SANDBOX_PORT: '0' };
    sandbox = new ContainerProcess(commandOf(sandboxService), sandboxEnv);
    const sandboxUrl = (await sandbox.waitForLog(
      'Sendmux sandbox: a LOCAL STAND-IN for the Sendmux Management API, not the real service; never use it in production',
    )).url;
    sandboxEnv.SANDBOX_PORT = portOf(sandboxUrl);

    const rotatorService = compose.services.rotator!;
    // The shell's secrets, as the file requires them; the test Redis has no password.
    const { REDIS_PASSWORD: _composePassword, ...composed } = serviceEnv(rotatorService, { ROTATOR_API_TOKEN: 'rehearsal-token-3a9c1e7b5d2f4860a1c3e5b7', REDIS_PASSWORD: 'unused' });
    const sendmuxUrl = new URL(composed.SENDMUX_API_URL!);
    sendmuxUrl.host = `127.0.0.1:${sandboxEnv.SANDBOX_PORT}`;
    const configMount = (rotatorService.volumes ?? []).map(String).find((spec) => spec.split(':')[1] === composed.ROTATOR_CONFIG)!;
    rotatorEnv = {
      ...composed,
      REDIS_URL: TEST_REDIS_URL,
      ROTATOR_QUEUE_PREFIX: prefix,
      SENDMUX_API_URL: sendmuxUrl.toString().replace(/\/$/, ''),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: standIn.url,
      ROTATOR_CONFIG: path.resolve(REPO_ROOT, configMount.split(':')[0]!),
      HOST: '127.0.0.1',
      PORT: '0',
    };
    rotator = new ContainerProcess(commandOf(rotatorService), rotatorEnv);
    rotatorEnv.PORT = portOf((await rotator.waitForLog('HTTP server listening')).url);
  });

  afterAll(async () => {
    rotator?.signal('SIGKILL');
    sandbox?.signal('SIGKILL');
    await Promise.all([rotator?.exited, sandbox?.exited]);
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
    await standIn.close();
  });

  it('passes the sandbox healthcheck of the compose file', () => {
    expect(runHealthcheck(compose.services['sendmux-sandbox']!.healthcheck!.test as string[], sandboxEnv)).toBe(0);
  });

  it('passes the image HEALTHCHECK against the rotator started with the image CMD', () => {
    expect(commandOf(compose.services.rotator!)).toEqual(imageCmd);
    expect(runHealthcheck(imageHealthcheck, rotatorEnv)).toBe(0);
  });

  it('reaches Secrets Manager through AWS_ENDPOINT_URL_SECRETS_MANAGER and stores a key for every demo mailbox', async () => {
    const demoMailboxes = Number(sandboxEnv.SANDBOX_DEMO_MAILBOXES);
    expect(demoMailboxes).toBeGreaterThan(0);
    const current = () =>
      standIn.snapshot().filter((secret) => secret.name.startsWith('sendmux/mailboxes/') && secret.versions.some((v) => v.stages.includes('AWSCURRENT')));
    await waitFor(() => current().length === demoMailboxes, 20_000, 'a current secret per demo mailbox');
    expect(current().map((secret) => secret.name).sort()).toEqual(
      Array.from({ length: demoMailboxes }, (_, i) => `sendmux/mailboxes/mbx_demo_${String(i + 1).padStart(4, '0')}`),
    );
  });

  it('stops on SIGTERM with exit code 0, after which the healthcheck fails', async () => {
    rotator.signal('SIGTERM');
    await expect(rotator.exited).resolves.toEqual({ code: 0, signal: null });
    expect(rotator.logs().map((line) => line.msg)).toContain('shutdown complete');
    expect(runHealthcheck(imageHealthcheck, rotatorEnv)).toBe(1);
  });
});
