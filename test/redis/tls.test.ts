import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { RedisTarget } from '../../src/config';
import { runCaptured } from '../cli/capture';
import { TLS_ACL_USER, TlsRedisServer } from '../support/redis-topologies';
import { expectBatchKeptInvariants, runRotationBatch } from './support/rotation-batch';
import { deleteKeysWithPrefix } from '../support/redis';

/** A password with the characters that break naive URL handling. */
const PASSWORD = 'tls+pass/word=0';

/**
 * REDIS_URL=rediss://… with REDIS_TLS_CA_FILE and REDIS_PASSWORD against a redis-server that
 * only speaks TLS, its certificate signed by a private CA made by openssl in this test.
 */
describe('TLS Redis with a private CA and a password', () => {
  let server: TlsRedisServer;
  let observer: Redis;

  beforeAll(async () => {
    server = await TlsRedisServer.start(PASSWORD);
    observer = new Redis({ host: '127.0.0.1', port: server.server.port, password: PASSWORD, tls: { ca: readFileSync(server.caFile, 'utf8') }, maxRetriesPerRequest: 2 });
  }, 30_000);
  afterAll(async () => {
    observer?.disconnect();
    await server?.stop();
  });

  it('rotates every mailbox with the invariants intact', async () => {
    const target: RedisTarget = {
      mode: 'single',
      variable: 'REDIS_URL',
      url: server.url,
      password: PASSWORD,
      tls: true,
      tlsCa: { file: server.caFile, pem: readFileSync(server.caFile, 'utf8') },
    };
    const run = await runRotationBatch({ label: 'tls', mailboxes: 30, target, dumpSources: () => [observer] });
    expectBatchKeptInvariants(run);
  }, 60_000);

  it('the CLI works with the password in the URL (percent-encoded) and the CA file', async () => {
    const url = server.url.replace('rediss://', `rediss://:${encodeURIComponent(PASSWORD)}@`);
    const run = await runCaptured(['pause'], { cwd: process.cwd(), env: { SENDMUX_API_KEY: 'smx_root_tlstest', REDIS_URL: url, REDIS_TLS_CA_FILE: server.caFile, ROTATOR_QUEUE_PREFIX: `tls-cli-${process.pid}` } });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    await deleteKeysWithPrefix(observer, `tls-cli-${process.pid}`);
  });

  it('REDIS_USERNAME and REDIS_PASSWORD override the credentials in the URL', async () => {
    const url = server.url.replace('rediss://', 'rediss://default:wrong-password@');
    const prefix = `tls-acl-${process.pid}`;
    const run = await runCaptured(['pause'], {
      cwd: process.cwd(),
      env: { SENDMUX_API_KEY: 'smx_root_tlstest', REDIS_URL: url, REDIS_USERNAME: TLS_ACL_USER, REDIS_PASSWORD: PASSWORD, REDIS_TLS_CA_FILE: server.caFile, ROTATOR_QUEUE_PREFIX: prefix },
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    await deleteKeysWithPrefix(observer, prefix);
  });

  it('without the private CA, the CLI fails at once naming REDIS_URL and the certificate problem, never the password', async () => {
    const run = await runCaptured(['pause'], { cwd: process.cwd(), env: { SENDMUX_API_KEY: 'smx_root_tlstest', REDIS_URL: server.url, REDIS_PASSWORD: PASSWORD } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot reach Redis at ${server.url} (REDIS_URL): `);
    expect(run.stderr).toMatch(/certificate/i);
    expect(run.stderr).toContain('REDIS_TLS_CA_FILE');
    expect(run.stderr).not.toContain(PASSWORD);
  });
});
