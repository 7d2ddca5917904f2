import { isRunning } from '../support/rotator-process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureDemoRedis, probeRedis } from '../../src/cli/demo/demo-redis';
import { findExecutable, PrivateRedisError, startPrivateRedis } from '../../src/cli/demo/private-redis';
import { TEST_REDIS_URL } from '../support/redis';
import { freePort } from '../http/support/redis-server-process';

describe('the demo’s Redis', () => {
  it('uses REDIS_URL when a Redis answers there, and starts nothing', async () => {
    expect(await ensureDemoRedis(TEST_REDIS_URL, process.env.PATH)).toEqual({ url: TEST_REDIS_URL });
  });

  it('tells "nothing listens" (refused) apart from a Redis that answers', async () => {
    expect(await probeRedis(TEST_REDIS_URL)).toEqual({ answers: true });
    const port = await freePort();
    expect(await probeRedis(`redis://127.0.0.1:${port}`)).toEqual({ answers: false, nothingThere: true, reason: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  it('checks what the service’s connection does (SELECT of the URL’s database): an out-of-range database is one clear error naming REDIS_URL, and nothing is started', async () => {
    const url = `${TEST_REDIS_URL.replace(/\/\d*$/, '')}/99`;
    const probe = await probeRedis(url);
    expect(probe).toEqual({ answers: false, nothingThere: false, reason: expect.stringContaining('DB index is out of range') });
    await expect(ensureDemoRedis(url, process.env.PATH)).rejects.toThrow(/REDIS_URL=redis:\/\/127\.0\.0\.1:6379\/99 did not accept the demo's connection: .*DB index is out of range/);
  });

  it('reports a TLS handshake that fails against a listening plain Redis (rediss://) as such, never as "no Redis answers"', async () => {
    const url = TEST_REDIS_URL.replace(/^redis:/, 'rediss:');
    const probe = await probeRedis(url, 1_000);
    expect(probe).toEqual({ answers: false, nothingThere: false, reason: expect.stringContaining('the TLS handshake did not complete') });
    await expect(ensureDemoRedis(url, process.env.PATH)).rejects.toThrow(/did not accept the demo's connection: a server listens at 127\.0\.0\.1:6379 but the TLS handshake/);
  }, 15_000);

  it('never shows the REDIS_URL password in its messages, a lone user-info (read as the password) included', async () => {
    const emptyPath = mkdtempSync(path.join(tmpdir(), 'rotator-no-redis-'));
    const port = await freePort();
    for (const [url, shown] of <Array<[string, string]>>[
      [`redis://:s3cretpass123@127.0.0.1:${port}`, `redis://:****@127.0.0.1:${port}`],
      [`redis://s3cretpass123@127.0.0.1:${port}`, `redis://****@127.0.0.1:${port}`],
    ]) {
      const error = await ensureDemoRedis(url, emptyPath).catch((err: Error) => err);
      expect((error as Error).message).toContain(`REDIS_URL=${shown} `);
      expect((error as Error).message).not.toContain('s3cretpass123');
    }
  });

  it('starts a private redis-server that answers, and stop() ends that process', async () => {
    const notices: string[] = [];
    const redis = await ensureDemoRedis(`redis://127.0.0.1:${await freePort()}`, process.env.PATH, (text) => notices.push(text));
    try {
      expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(notices).toEqual([expect.stringContaining(`private redis-server (pid ${redis.privateRedis!.pid}, `)]);
      expect(await probeRedis(redis.url)).toEqual({ answers: true });
      expect(isRunning(redis.privateRedis!.pid)).toBe(true);
    } finally {
      await redis.privateRedis?.stop();
    }
    expect(isRunning(redis.privateRedis!.pid)).toBe(false);
  });

  it('reports a redis-server that exits at once, and leaves no process behind', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fake-redis-'));
    const fake = path.join(dir, 'redis-server');
    writeFileSync(fake, '#!/bin/sh\necho "FATAL CONFIG FILE ERROR" >&2\nexit 1\n', { mode: 0o755 });
    expect(findExecutable('redis-server', `/nonexistent${path.delimiter}${dir}`)).toBe(fake);
    await expect(startPrivateRedis(fake)).rejects.toThrow(PrivateRedisError);
    await expect(startPrivateRedis(fake)).rejects.toThrow(/exited \(code 1\) before it answered:\nFATAL CONFIG FILE ERROR/);
  });
});
