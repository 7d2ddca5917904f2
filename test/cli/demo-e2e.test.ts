import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { waitFor } from '../support/test-bed';
import { REPO_ROOT, RotatorProcess, writeConfigFile } from '../support/rotator-process';
import { freePort } from '../http/support/redis-server-process';
import { duplicateKeys } from '../support/duplicate-keys';

/** A port where nothing listens: bound and released a moment ago. */
const closedRedisUrl = async () => `redis://127.0.0.1:${await freePort()}`;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The README's CLI examples against the demo (the lines that start with `node --env-file=.rotator-demo.env`). */
function readmeCliExamples(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/^node --env-file=\.rotator-demo\.env dist\/src\/cli\/main\.js .+$/gm)].map((m) => m[0]);
}

/** Runs one README example as written, with the env file it names pointing at this test's demo. */
async function runExample(example: string, envFile: string): Promise<{ code: number | null; output: string }> {
  const args = example.split(' ').slice(1).map((arg) => (arg === '--env-file=.rotator-demo.env' ? `--env-file=${envFile}` : arg));
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    // Nothing but the file: no AWS credentials, no Sendmux key, no Redis URL from the test's own environment.
    env: { PATH: process.env.PATH, HOME: mkdtempSync(path.join(tmpdir(), 'rotator-home-')) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}

/**
 * One demo run, as a new user gets it on a machine without a Redis at REDIS_URL: the demo's own
 * Redis, every README command against it, and every log line it wrote.
 */
describe('rotator demo without a Redis at REDIS_URL (redis-server on PATH)', () => {
  let demo: RotatorProcess;
  let envFile: string;
  let privateRedisPid: number;

  beforeAll(async () => {
    envFile = path.join(mkdtempSync(path.join(tmpdir(), 'rotator-demo-')), 'demo.env');
    // The demo's own file, faster: a tick every 5 s and old keys revoked at once, so a short run
    // includes rotations of existing keys and revocations.
    const demoConfig = parseYaml(readFileSync(path.join(REPO_ROOT, 'config/rotator.demo.yaml'), 'utf8')) as Record<string, unknown>;
    const configPath = writeConfigFile({ ...demoConfig, schedule: '*/5 * * * * *', revokePreviousAfter: '0s' });
    demo = new RotatorProcess(
      ['demo', '--mailboxes', '2', '--config', configPath, '--sendmux-port', '0', '--secrets-manager-port', '0', '--cli-env-file', envFile],
      { REDIS_URL: await closedRedisUrl(), PORT: '0' },
    );
    let exited = false;
    void demo.exited.then(() => (exited = true));
    await waitFor(() => exited || demo.stderr.some((l) => l.includes('Ctrl-C stops everything')), 30_000, 'the demo banner');
    const pid = /private redis-server \(pid (\d+)/.exec(demo.stderr.join('\n'))?.[1];
    if (pid === undefined) throw new Error(`no private Redis in the banner:\n${demo.output()}`);
    privateRedisPid = Number(pid);
  }, 60_000);

  afterAll(async () => {
    await demo.stop();
    if (privateRedisPid && isRunning(privateRedisPid)) process.kill(privateRedisPid, 'SIGKILL');
  });

  it('says it started a private Redis, labelled LOCAL STAND-IN, and that process is running', () => {
    expect(demo.stderr.join('\n')).toMatch(/Redis: +redis:\/\/127\.0\.0\.1:\d+ +LOCAL STAND-IN/);
    expect(isRunning(privateRedisPid)).toBe(true);
  });

  it('rotates the demo mailboxes and prints one plain line per rotation and revocation', async () => {
    const lines = () => demo.stderr.filter((l) => / (rotated|revoked) /.test(l));
    await waitFor(
      () => ['mbx_demo_0001', 'mbx_demo_0002'].every((id) => lines().some((l) => l.includes(`revoked  ${id}`))),
      60_000,
      'both mailboxes rotated twice and an old key revoked',
    );
    const rotation = lines().find((l) => / rotated {2}mbx_demo_0001 {2}key smx_\w+ -> smx_\w+/.test(l));
    expect(rotation).toMatch(/secret version [0-9a-f-]{36} {2}old key revoked at \d\d:\d\d:\d\d \(in 0s\)$/);
    expect(lines().find((l) => l.includes('revoked  mbx_demo_0001'))).toMatch(/old key smx_\w+$/);
  }, 70_000);

  it('runs every README CLI example against the demo, with no real AWS credentials and no call to the real Sendmux', async () => {
    const examples = readmeCliExamples();
    expect(examples.map((e) => e.split(' ')[3])).toEqual(['status', 'plan', 'rotate', 'history', 'pause', 'resume']);
    expect(existsSync(envFile)).toBe(true);
    for (const example of examples) {
      const run = await runExample(example, envFile);
      expect({ example, code: run.code, output: run.code === 0 ? '' : run.output }).toEqual({ example, code: 0, output: '' });
      expect(run.output).not.toMatch(/CredentialsProviderError|sendmux\.ai|ECONNREFUSED/);
      if (example.endsWith(' plan')) expect(run.output).toContain('mbx_demo_0002');
      if (example.endsWith(' status')) expect(run.output).toMatch(/mbx_demo_0001 .*\d+s/);
    }
  }, 120_000);

  it('logs JSON lines on stdout (not a terminal), none of which repeats a key at any depth', () => {
    expect(demo.stdout.length).toBeGreaterThan(20);
    const problems = demo.stdout.flatMap((line) => {
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (typeof parsed.level !== 'string' || typeof parsed.msg !== 'string' || typeof parsed.time !== 'string') return [`not a pino line: ${line}`];
        const repeated = duplicateKeys(line);
        return repeated.length > 0 ? [`${repeated.join(', ')} repeated in: ${line}`] : [];
      } catch {
        return [`not JSON: ${line}`];
      }
    });
    expect(problems).toEqual([]);
  });

  it('on SIGINT stops everything: exits 0, its private Redis is gone and the env file removed', async () => {
    demo.kill('SIGINT');
    const exit = await demo.exited;
    expect({ exit, output: exit.code === 0 ? '' : demo.output() }).toEqual({ exit: { code: 0, signal: null }, output: '' });
    expect(isRunning(privateRedisPid)).toBe(false);
    expect(existsSync(envFile)).toBe(false);
  }, 30_000);
});

describe('rotator demo without a Redis at REDIS_URL and without redis-server', () => {
  it('exits 1 within 5 s with one message naming REDIS_URL, what it tried and the fix', async () => {
    const redisUrl = await closedRedisUrl();
    const emptyPath = mkdtempSync(path.join(tmpdir(), 'rotator-no-redis-'));
    const startedAt = Date.now();
    const demo = new RotatorProcess(['demo', '--sendmux-port', '0', '--secrets-manager-port', '0'], { PATH: emptyPath, REDIS_URL: redisUrl });
    const timer = setTimeout(() => demo.kill('SIGKILL'), 20_000);
    const exit = await demo.exited;
    clearTimeout(timer);
    const elapsedMs = Date.now() - startedAt;

    expect(exit).toEqual({ code: 1, signal: null });
    expect(demo.stdout).toEqual([]);
    const message = demo.stderr.join('\n');
    expect(message.match(/^rotator: /gm)).toHaveLength(1);
    expect(message).toContain(`REDIS_URL=${redisUrl}`);
    expect(message).toContain('redis-server is not on PATH');
    expect(message).toContain('apt-get install -y redis-server');
    expect(message).toContain('Redis 6.2+');
    expect(elapsedMs).toBeLessThan(5_000);
  }, 30_000);
});

describe('rotator demo that cannot start', () => {
  it('stops its private Redis when start-up fails (a stand-in port in use) and names the option to change', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as AddressInfo).port;
    try {
      const demo = new RotatorProcess(['demo', '--sendmux-port', String(busyPort), '--secrets-manager-port', '0'], { REDIS_URL: await closedRedisUrl(), PORT: '0' });
      const timer = setTimeout(() => demo.kill('SIGKILL'), 30_000);
      const exit = await demo.exited;
      clearTimeout(timer);
      const stderr = demo.stderr.join('\n');
      expect(exit).toEqual({ code: 1, signal: null });
      expect(stderr).toContain(`the Sendmux sandbox cannot listen on port ${busyPort}: it is in use`);
      expect(stderr).toContain('--sendmux-port');
      const pid = Number(/private redis-server \(pid (\d+)/.exec(stderr)?.[1]);
      expect(pid).toBeGreaterThan(0);
      expect(isRunning(pid)).toBe(false);
    } finally {
      busy.close();
    }
  }, 40_000);
});

describe('rotator demo in a terminal', () => {
  it('renders its logs with pino-pretty (no JSON) when stdout is a terminal and LOG_FORMAT is unset', async () => {
    // `script` (util-linux) gives the demo a pseudo-terminal, as a person's shell would.
    const command = [process.execPath, path.join(REPO_ROOT, 'dist/src/cli/main.js'), 'demo', '--mailboxes', '1', '--sendmux-port', '0', '--secrets-manager-port', '0',
      '--cli-env-file', path.join(mkdtempSync(path.join(tmpdir(), 'rotator-demo-tty-')), 'demo.env')].join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, REDIS_URL: await closedRedisUrl(), PORT: '0', TERM: 'dumb' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      await waitFor(() => output.includes('rotated  mbx_demo_0001'), 40_000, 'the first rotation line');
      expect(output).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] \S*INFO\S*: \S*\[worker\] rotation rotated/);
      expect(output).not.toMatch(/^\{"level"/m);
      const pid = Number(/private redis-server \(pid (\d+)/.exec(output)?.[1]);
      child.kill('SIGTERM');
      await exited;
      await waitFor(() => !isRunning(pid), 10_000, 'the private Redis to stop');
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
