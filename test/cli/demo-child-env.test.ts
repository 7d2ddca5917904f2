import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findExecutable, startPrivateRedis } from '../../src/cli/demo/private-redis';
import { CHILD_ENV_ALLOWED, childProcessEnv } from '../../src/shared/child-env';

const SECRETS = {
  SENDMUX_API_KEY: 'smx_root_CHILDENVLEAK0123456789',
  AWS_SECRET_ACCESS_KEY: 'childEnvLeakAwsSecret0123456789',
  ROTATOR_API_TOKEN: 'child-env-leak-token-0123456789abcdef',
};

/** Variables a shell sets for itself. */
const SHELL_OWN = new Set(['PWD', 'SHLVL', '_', 'OLDPWD']);

function parseEnviron(text: string): Record<string, string> {
  const entries = text.split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

/** A process's environment as the kernel holds it (Linux /proc). */
function environOf(pid: number): Record<string, string> {
  return parseEnviron(readFileSync(`/proc/${pid}/environ`, 'utf8'));
}

/** The pid of the watchdog `sh` that guards redis-server `redisPid`. */
function watchdogOf(redisPid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv.includes('rotator-demo-redis-watchdog') && argv.includes(String(redisPid))) return Number(name);
    } catch {
      /* the process ended meanwhile */
    }
  }
  return undefined;
}

describe('the demo\'s child processes', () => {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const [name, value] of Object.entries(SECRETS)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('starts the private redis-server and its watchdog with PATH and a few locale variables, none of the secrets', async () => {
    const real = findExecutable('redis-server', process.env.PATH ?? '');
    if (real === undefined) throw new Error('redis-server is not on PATH');
    // redis-server overwrites its own environ with its process title, so /proc cannot show what it
    // was given: a wrapper writes its environment down, then becomes the real redis-server.
    const dir = mkdtempSync(path.join(tmpdir(), 'child-env-'));
    const dump = path.join(dir, 'redis-server.env');
    const wrapper = path.join(dir, 'redis-server');
    writeFileSync(wrapper, `#!/bin/sh\nenv -0 > '${dump}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const redis = await startPrivateRedis(wrapper);
    try {
      const watchdog = watchdogOf(redis.pid);
      expect(watchdog).toBeDefined();
      const environments = { 'redis-server': parseEnviron(readFileSync(dump, 'utf8')), watchdog: environOf(watchdog!) };
      for (const [child, env] of Object.entries(environments)) {
        expect([child, env.PATH]).toEqual([child, process.env.PATH]);
        for (const name of Object.keys(SECRETS)) expect([child, name, env[name]]).toEqual([child, name, undefined]);
        expect([child, Object.keys(env).filter((name) => !SHELL_OWN.has(name) && !CHILD_ENV_ALLOWED.includes(name))]).toEqual([child, []]);
      }
    } finally {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes only the allowed variables and the child\'s own', () => {
    expect(childProcessEnv({ PATH: '/bin', HOME: '/root', ...SECRETS, REDIS_PASSWORD: 'x' }, { OWN: '1' })).toEqual({ PATH: '/bin', HOME: '/root', OWN: '1' });
  });
});
