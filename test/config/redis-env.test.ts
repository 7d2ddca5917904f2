import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSettings } from '../../src/config';
import { runCaptured } from '../cli/capture';
import { CONFIG_PATH, MINIMAL_YAML, VALID_ENV } from './fixtures';
import { fieldsOf, problemsOf } from './problems-of';

const REPO_ROOT = path.resolve(__dirname, '../..');
const redisOf = (env: NodeJS.ProcessEnv) => parseSettings(MINIMAL_YAML, { ...VALID_ENV, ...env }, CONFIG_PATH).env.redis;
const problems = (env: NodeJS.ProcessEnv) => problemsOf(MINIMAL_YAML, { ...VALID_ENV, ...env });
const FAKE_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

describe('Redis connection modes from the environment', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rotator-redis-env-'));
    writeFileSync(path.join(dir, 'ca.pem'), FAKE_PEM);
    writeFileSync(path.join(dir, 'not-a-cert.txt'), 'hello');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is single-node REDIS_URL by default', () => {
    expect(redisOf({})).toEqual({ mode: 'single', variable: 'REDIS_URL', url: 'redis://127.0.0.1:6379', tls: false });
  });

  it('takes cluster seed nodes from REDIS_CLUSTER_NODES, with credentials and TLS', () => {
    expect(
      redisOf({ REDIS_CLUSTER_NODES: '10.0.1.10:6379, cfg.example.cache.amazonaws.com:6380', ROTATOR_QUEUE_PREFIX: '{rotator}', REDIS_USERNAME: 'app', REDIS_PASSWORD: 'p+a/s=s', REDIS_TLS: 'true' }),
    ).toEqual({
      mode: 'cluster',
      variable: 'REDIS_CLUSTER_NODES',
      nodes: [
        { host: '10.0.1.10', port: 6379 },
        { host: 'cfg.example.cache.amazonaws.com', port: 6380 },
      ],
      username: 'app',
      password: 'p+a/s=s',
      tls: true,
    });
  });

  it('takes sentinels from REDIS_SENTINELS with the master name from REDIS_SENTINEL_MASTER', () => {
    expect(redisOf({ REDIS_SENTINELS: '127.0.0.1:26379,[::1]:26380', REDIS_SENTINEL_MASTER: 'mymaster' })).toEqual({
      mode: 'sentinel',
      variable: 'REDIS_SENTINELS',
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      masterName: 'mymaster',
      tls: false,
    });
  });

  it('turns TLS on for rediss:// and reads the private CA from REDIS_TLS_CA_FILE', () => {
    const caFile = path.join(dir, 'ca.pem');
    expect(redisOf({ REDIS_URL: 'rediss://redis.internal:6380', REDIS_TLS_CA_FILE: caFile })).toMatchObject({ tls: true, tlsCa: { file: caFile, pem: FAKE_PEM } });
    expect(redisOf({ REDIS_URL: 'redis://redis.internal:6380', REDIS_TLS_CA_FILE: caFile }).tls).toBe(true);
  });

  it('refuses two modes at once, naming both variables', () => {
    const found = problems({ REDIS_URL: 'redis://a:6379', REDIS_SENTINELS: 'b:26379', REDIS_SENTINEL_MASTER: 'm' });
    expect(fieldsOf(found)).toEqual(['REDIS_SENTINELS']);
    expect(found[0]!.expected).toContain('set exactly one of REDIS_URL (single node), REDIS_CLUSTER_NODES (cluster) or REDIS_SENTINELS (sentinel)');
  });

  it('refuses a cluster whose queue prefix has no {hash tag}, suggesting one', () => {
    const found = problems({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', ROTATOR_QUEUE_PREFIX: 'rotator' });
    expect(fieldsOf(found)).toEqual(['ROTATOR_QUEUE_PREFIX']);
    expect(found[0]!.expected).toContain('"{rotator}"');
  });

  it('needs REDIS_SENTINEL_MASTER with REDIS_SENTINELS, and only with it', () => {
    expect(fieldsOf(problems({ REDIS_SENTINELS: '127.0.0.1:26379' }))).toEqual(['REDIS_SENTINEL_MASTER']);
    expect(fieldsOf(problems({ REDIS_SENTINEL_MASTER: 'mymaster' }))).toEqual(['REDIS_SENTINEL_MASTER']);
  });

  it('refuses a node list that is not host:port', () => {
    const found = problems({ REDIS_CLUSTER_NODES: '127.0.0.1', ROTATOR_QUEUE_PREFIX: '{r}' });
    expect(fieldsOf(found)).toEqual(['REDIS_CLUSTER_NODES']);
    expect(found[0]!.expected).toContain('host:port');
  });

  it('refuses REDIS_TLS=false with a rediss:// URL', () => {
    expect(fieldsOf(problems({ REDIS_URL: 'rediss://a:6379', REDIS_TLS: 'false' }))).toEqual(['REDIS_TLS']);
  });

  it('names an unreadable or non-PEM CA file', () => {
    const missing = path.join(dir, 'missing.pem');
    const unreadable = problems({ REDIS_TLS_CA_FILE: missing });
    expect(unreadable).toEqual([expect.objectContaining({ field: 'REDIS_TLS_CA_FILE', value: missing })]);
    expect(unreadable[0]!.expected).toContain('ENOENT');
    expect(fieldsOf(problems({ REDIS_TLS_CA_FILE: path.join(dir, 'not-a-cert.txt') }))).toEqual(['REDIS_TLS_CA_FILE']);
  });

  it('never shows REDIS_PASSWORD in a problem', () => {
    const found = problems({ REDIS_PASSWORD: 'line1\nSECRETPART', REDIS_CLUSTER_NODES: 'x' });
    expect(JSON.stringify(found)).not.toContain('SECRETPART');
  });

  it('config check shows the mode and masks the passwords', async () => {
    const run = await runCaptured(['config', 'check', '--config', 'config/rotator.example.yaml'], {
      cwd: REPO_ROOT,
      env: { ...VALID_ENV, REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_MASTER: 'mymaster', REDIS_PASSWORD: 'TOPSECRETPW+/=' },
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('sentinel');
    expect(run.stdout).toContain('mymaster');
    expect(`${run.stdout}${run.stderr}`).not.toContain('TOPSECRETPW');
  });

  it('config check fails on a cluster without a hash-tagged prefix, naming the fix', async () => {
    const run = await runCaptured(['config', 'check', '--config', 'config/rotator.example.yaml'], {
      cwd: REPO_ROOT,
      env: { ...VALID_ENV, REDIS_CLUSTER_NODES: '127.0.0.1:7000', ROTATOR_QUEUE_PREFIX: 'rotator' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ROTATOR_QUEUE_PREFIX');
    expect(run.stderr).toContain('{rotator}');
  });
});
