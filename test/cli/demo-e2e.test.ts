import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { waitFor } from '../support/test-bed';
import { REPO_ROOT, RotatorProcess, writeConfigFile, isRunning } from '../support/rotator-process';
import { freePort } from '../http/support/redis-server-process';
import { duplicateKeys } from '../support/duplicate-keys';
import { TEST_REDIS_URL } from '../support/redis';

/** A port where nothing listens: bound and released a moment ago. */
const closedRedisUrl = async () => `redis://127.0.0.1:${await freePort()}`;

/** The README's CLI examples against the demo (the lines that start with `node --env-file=.rotator-demo.env`). */
function readmeCliExamples(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/^node --env-file=\.rotator-demo\.env dist\/src\/cli\/main\.js .+$/gm)].map((m) => m[0]);
}

/** The README's HTTP examples against the demo (the lines of its sh blocks that start with `curl`). */
function readmeCurlExamples(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((block) => block[1]!.split('\n')).filter((line) => line.startsWith('curl '));
}

/**
 * Runs one README curl line as written, with the demo's default port replaced by this demo's (the
 * test gives it a free one); returns curl's exit code, the body and the HTTP status.
 */
function runCurlExample(example: string, base: string): { code: number | null; body: string; status: number } {
  const line = `${example.replaceAll('http://127.0.0.1:3000', base)} -w '\nHTTP %{http_code}'`;
  const run = spawnSync('bash', ['-c', line], { encoding: 'utf8', timeout: 30_000 });
  const status = Number(/\nHTTP (\d{3})$/.exec(run.stdout)?.[1] ?? 0);
  return { code: run.status, body: run.stdout.replace(/\nHTTP \d{3}$/, ''), status };
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
    // The banner names both pages, and the reminder of them follows the rotation lines.
    expect(demo.stderr.join('\n')).toMatch(/Mailboxes page: +http:\/\/127\.0\.0\.1:\d+\/admin\/mailboxes/);
    expect(demo.stderr.some((l) => /^rotator demo: look at http:\/\/127\.0\.0\.1:\d+\/admin\/mailboxes .*\/admin\/queues/.test(l))).toBe(true);
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

  it('answers every README HTTP example, as written, with a 2xx (the demo needs no token on loopback)', () => {
    const examples = readmeCurlExamples();
    expect(examples.length).toBeGreaterThanOrEqual(3);
    const base = /Dashboard: +(http:\/\/127\.0\.0\.1:\d+)\/admin\/queues/.exec(demo.stderr.join('\n'))?.[1];
    expect(base).toBeDefined();
    for (const example of examples) {
      const run = runCurlExample(example, base!);
      expect({ example, code: run.code, status: run.status >= 200 && run.status < 300 ? '2xx' : `${run.status}: ${run.body}` }).toEqual({ example, code: 0, status: '2xx' });
      if (example.includes('/rotations')) expect(JSON.parse(run.body)).toMatchObject({ rotations: [{ mailboxId: 'mbx_demo_0001' }] });
      if (example.includes('/history')) expect(JSON.parse(run.body)).toMatchObject({ mailboxId: 'mbx_demo_0001' });
    }
  }, 60_000);

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
    // It says what it removed.
    const said = demo.stderr.find((l) => l.startsWith('rotator demo: stopped; removed '));
    expect(said).toContain(`the private redis-server (pid ${privateRedisPid})`);
    expect(said).toContain(`the env file ${envFile}`);
  }, 30_000);
});

describe('rotator demo without a Redis at REDIS_URL and without redis-server', () => {
  it('exits 1 within 5 s with one message naming REDIS_URL, what it tried and the fix', async () => {
    const redisUrl = await closedRedisUrl();
    const emptyPath = mkdtempSync(path.join(tmpdir(), 'rotator-no-redis-'));
    const startedAt = Date.now();
    const demo = new RotatorProcess(['demo', '--sendmux-port', '0', '--secrets-manager-port', '0'], { PATH: emptyPath, REDIS_URL: redisUrl, PORT: '0' });
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
  it('refuses a stand-in port in use before it starts anything (no private Redis), and names the option to change', async () => {
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
      expect(stderr).toContain(`the Sendmux sandbox cannot listen on 127.0.0.1:${busyPort}: it is in use`);
      expect(stderr).toContain('--sendmux-port');
      expect(stderr).not.toContain('private redis-server');
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

/** Starts a demo and waits for its banner (or its exit). */
async function startDemo(args: string[], env: NodeJS.ProcessEnv): Promise<RotatorProcess> {
  const demo = new RotatorProcess(['demo', '--mailboxes', '1', '--sendmux-port', '0', '--secrets-manager-port', '0', ...args], { PORT: '0', ...env });
  let exited = false;
  void demo.exited.then(() => (exited = true));
  await waitFor(() => exited || demo.stderr.some((l) => l.includes('Ctrl-C stops everything')), 30_000, 'the demo banner');
  if (exited) throw new Error(`the demo exited:\n${demo.output()}`);
  return demo;
}

/** Every key under `<prefix>:` in the test Redis (SCAN, read-only). */
async function keysUnder(prefix: string): Promise<string[]> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  } finally {
    redis.disconnect();
  }
}

/** Runs a demo that must refuse to start; returns its exit and stderr. */
async function refusedDemo(args: string[], env: NodeJS.ProcessEnv): Promise<{ exit: { code: number | null; signal: NodeJS.Signals | null }; stderr: string }> {
  const demo = new RotatorProcess(['demo', '--mailboxes', '1', ...args], env);
  const timer = setTimeout(() => demo.kill('SIGKILL'), 20_000);
  const exit = await demo.exited;
  clearTimeout(timer);
  return { exit, stderr: demo.stderr.join('\n') };
}

describe('rotator demo on a shared Redis at REDIS_URL', () => {
  const password = 's3cretpass123';
  let demo: RotatorProcess;
  let envFile: string;
  let prefix: string;

  beforeAll(async () => {
    envFile = path.join(mkdtempSync(path.join(tmpdir(), 'rotator-demo-shared-')), 'demo.env');
    demo = await startDemo(['--cli-env-file', envFile], { REDIS_URL: TEST_REDIS_URL.replace('redis://', `redis://:${password}@`) });
    prefix = /queue prefix "([^"]+)"/.exec(demo.stderr.join('\n'))?.[1] ?? '';
  }, 60_000);

  afterAll(async () => {
    await demo.stop();
  });

  it('masks the Redis password in the banner as `config check` does; only the 0600 env file keeps it', () => {
    const banner = demo.stderr.join('\n');
    expect(banner).toMatch(/Redis: +redis:\/\/:\*\*\*\*@127\.0\.0\.1:6379/);
    expect(demo.output()).not.toContain(password);
    expect(readFileSync(envFile, 'utf8')).toContain(`REDIS_URL=redis://:${password}@127.0.0.1:6379`);
  });

  it('uses a queue prefix of its own for this run, written into the env file', async () => {
    expect(prefix).toMatch(/^rotator-demo-[0-9a-f]{6}$/);
    expect(readFileSync(envFile, 'utf8')).toContain(`ROTATOR_QUEUE_PREFIX=${prefix}\n`);
    await waitFor(async () => (await keysUnder(prefix)).length > 0, 20_000, 'keys under the demo prefix');
  });

  it('refuses a second demo that would take the running demo’s env file, before starting anything, naming its pid', async () => {
    const second = await refusedDemo(['--sendmux-port', '0', '--secrets-manager-port', '0', '--cli-env-file', envFile], { REDIS_URL: await closedRedisUrl(), PORT: '0' });
    expect(second.exit).toEqual({ code: 1, signal: null });
    expect(second.stderr).toContain(`another rotator demo (pid ${demo.pid}) is running and uses this file`);
    expect(second.stderr).not.toContain('private redis-server');
    expect(readFileSync(envFile, 'utf8')).toContain(`ROTATOR_QUEUE_PREFIX=${prefix}\n`);
  }, 30_000);

  it('on SIGINT deletes every key of its own prefix (SCAN, no FLUSH) and its env file', async () => {
    demo.kill('SIGINT');
    const exit = await demo.exited;
    expect({ exit, output: exit.code === 0 ? '' : demo.output() }).toEqual({ exit: { code: 0, signal: null }, output: '' });
    expect(await keysUnder(prefix)).toEqual([]);
    expect(existsSync(envFile)).toBe(false);
    expect(demo.stderr.find((l) => l.startsWith('rotator demo: stopped; removed '))).toMatch(new RegExp(`\\d+ Redis key\\(s\\) under its queue prefix "${prefix}"`));
  }, 30_000);
});

describe('rotator demo with ROTATOR_QUEUE_PREFIX set', () => {
  it('uses that prefix and leaves its keys in Redis when it stops (they are the user’s, not the demo’s)', async () => {
    const prefix = `rotator-demo-user-${process.pid}-${Date.now().toString(36)}`;
    const envFile = path.join(mkdtempSync(path.join(tmpdir(), 'rotator-demo-prefix-')), 'demo.env');
    const demo = await startDemo(['--cli-env-file', envFile], { REDIS_URL: TEST_REDIS_URL, ROTATOR_QUEUE_PREFIX: prefix });
    try {
      expect(demo.stderr.join('\n')).toContain(`queue prefix "${prefix}")`);
      await waitFor(async () => (await keysUnder(prefix)).length > 0, 20_000, 'keys under the given prefix');
      demo.kill('SIGINT');
      expect(await demo.exited).toEqual({ code: 0, signal: null });
      expect((await keysUnder(prefix)).length).toBeGreaterThan(0);
    } finally {
      await demo.stop();
      const redis = new Redis(TEST_REDIS_URL);
      const keys = await keysUnder(prefix);
      if (keys.length > 0) await redis.unlink(...keys);
      redis.disconnect();
    }
  }, 60_000);
});

describe('rotator demo killed with SIGKILL', () => {
  it('takes its private Redis with it within a few seconds; the next demo replaces the stale env file and says so', async () => {
    const envFile = path.join(mkdtempSync(path.join(tmpdir(), 'rotator-demo-killed-')), 'demo.env');
    const first = await startDemo(['--cli-env-file', envFile], { REDIS_URL: await closedRedisUrl() });
    const redisPid = Number(/private redis-server \(pid (\d+)/.exec(first.stderr.join('\n'))?.[1]);
    expect(isRunning(redisPid)).toBe(true);
    first.kill('SIGKILL');
    await first.exited;
    await waitFor(() => !isRunning(redisPid), 8_000, 'the private Redis to stop after the demo was SIGKILLed');
    expect(readFileSync(envFile, 'utf8')).toContain(`(pid ${first.pid})`);

    // The CLI with the file the dead demo left: it says the demo is gone, instead of ECONNREFUSED.
    const cli = await runExample(`node --env-file=.rotator-demo.env dist/src/cli/main.js status`, envFile);
    expect(cli.code).toBe(1);
    expect(cli.output).toContain(`rotator: the demo (pid ${first.pid}) is gone; start it with npm run demo`);
    expect(cli.output).not.toMatch(/ECONNREFUSED|cannot reach Redis/);

    const second = await startDemo(['--cli-env-file', envFile], { REDIS_URL: await closedRedisUrl() });
    try {
      expect(second.stderr.join('\n')).toContain(`left by a demo that is no longer running (pid ${first.pid})`);
      expect(readFileSync(envFile, 'utf8')).toContain(`(pid ${second.pid})`);
    } finally {
      second.kill('SIGINT');
      await second.exited;
    }
    expect(existsSync(envFile)).toBe(false);
  }, 60_000);
});

describe('rotator demo refuses, before starting anything (no Redis started, no key minted)', () => {
  const noRedis = async () => ({ REDIS_URL: await closedRedisUrl(), PORT: '0' });

  it('a --cli-env-file that exists and is not a demo’s (a project .env), leaving it as it was', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'rotator-project-')), '.env');
    writeFileSync(file, 'SENDMUX_API_KEY_SECRET_ID=prod/key\n');
    const run = await refusedDemo(['--sendmux-port', '0', '--secrets-manager-port', '0', '--cli-env-file', file], await noRedis());
    expect(run.exit).toEqual({ code: 1, signal: null });
    expect(run.stderr).toContain('the file exists and was not written by rotator demo');
    expect(run.stderr).toContain('--cli-env-file');
    expect(run.stderr).not.toContain('private redis-server');
    expect(readFileSync(file, 'utf8')).toBe('SENDMUX_API_KEY_SECRET_ID=prod/key\n');
  }, 30_000);

  it('a --cli-env-file in a directory that does not exist', async () => {
    const run = await refusedDemo(['--sendmux-port', '0', '--secrets-manager-port', '0', '--cli-env-file', '/nonexistent/dir/x.env'], await noRedis());
    expect(run.exit).toEqual({ code: 1, signal: null });
    expect(run.stderr).toContain('--cli-env-file /nonexistent/dir/x.env: the directory /nonexistent/dir does not exist');
    expect(run.stderr).not.toMatch(/private redis-server|ENOENT/);
  }, 30_000);

  it.each([
    [['--sendmux-port', '3002'], {}, /the Sendmux sandbox \(--sendmux-port\) and the Secrets Manager stand-in \(--secrets-manager-port\) are both set to port 3002/],
    [['--sendmux-port', '0', '--secrets-manager-port', '4123'], { PORT: '4123' }, /the Secrets Manager stand-in \(--secrets-manager-port\) and the rotator \(the PORT variable\) are both set to port 4123/],
  ])('two of its own listeners on one port (%j %j), naming both', async (args, env, message) => {
    const run = await refusedDemo([...args, '--cli-env-file', path.join(mkdtempSync(path.join(tmpdir(), 'rotator-demo-ports-')), 'demo.env')], { ...(await noRedis()), ...env });
    expect(run.exit).toEqual({ code: 1, signal: null });
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain('private redis-server');
  }, 30_000);

  it('a HOST the service would refuse (not loopback, no ROTATOR_API_TOKEN)', async () => {
    const run = await refusedDemo(['--sendmux-port', '0', '--secrets-manager-port', '0', '--cli-env-file', path.join(mkdtempSync(path.join(tmpdir(), 'rotator-demo-host-')), 'demo.env')], { ...(await noRedis()), HOST: 'example.com' });
    expect(run.exit).toEqual({ code: 1, signal: null });
    expect(run.stderr).toContain('refusing to serve the HTTP API on HOST=example.com without authentication');
    expect(run.stderr).not.toMatch(/private redis-server|rotated/);
  }, 30_000);
});
