import { Writable } from 'node:stream';
import pino from 'pino';
import { DEFAULT_SANDBOX_MANAGEMENT_KEY } from '../../../standins/sendmux';
import { DEFAULT_SANDBOX_PORT, sandboxOptionsFromEnv } from '../../../standins/sendmux/env';
import { startSandboxFromEnv } from '../../../standins/sendmux/main';
import { call } from './helpers';

describe('Sendmux sandbox process configuration (environment)', () => {
  it('defaults to 127.0.0.1:4010, the fake root key, no mailboxes and the vendor rate limit', () => {
    const options = sandboxOptionsFromEnv({});

    expect(options).toMatchObject({
      host: '127.0.0.1',
      port: DEFAULT_SANDBOX_PORT,
      managementKeys: [DEFAULT_SANDBOX_MANAGEMENT_KEY],
      mailboxes: [],
      allowRemoteAdmin: false,
    });
    expect(options.rateLimit).toBeUndefined();
    expect(DEFAULT_SANDBOX_PORT).toBe(4010);
  });

  it('reads every variable', () => {
    const options = sandboxOptionsFromEnv({
      SANDBOX_HOST: '0.0.0.0',
      SANDBOX_PORT: '5050',
      SANDBOX_MANAGEMENT_KEY: 'smx_root_a, smx_root_b',
      SANDBOX_DEMO_MAILBOXES: '2',
      SANDBOX_RATE_LIMIT: '300/30s',
      SANDBOX_LATENCY_MS: '20-80',
      SANDBOX_MINT_SHAPE: 'legacy',
      SANDBOX_MAX_ACTIVE_KEYS_PER_MAILBOX: '2',
      SANDBOX_MAX_ACTIVE_KEYS_PER_TEAM: '10',
      SANDBOX_ALLOW_REMOTE_ADMIN: 'true',
    });

    expect(options).toMatchObject({
      host: '0.0.0.0',
      port: 5050,
      managementKeys: ['smx_root_a', 'smx_root_b'],
      rateLimit: { max: 300, windowMs: 30_000 },
      latencyMs: { min: 20, max: 80 },
      mintShape: 'legacy',
      maxActiveKeysPerMailbox: 2,
      maxActiveKeysPerTeam: 10,
      allowRemoteAdmin: true,
    });
    expect(options.mailboxes).toEqual([
      { id: 'mbx_demo_0001', email: 'demo-0001@example.test', status: 'active', displayName: 'Demo mailbox 0001' },
      { id: 'mbx_demo_0002', email: 'demo-0002@example.test', status: 'active', displayName: 'Demo mailbox 0002' },
    ]);
  });

  it('turns the rate limit off with SANDBOX_RATE_LIMIT=off and reads a single latency value', () => {
    const options = sandboxOptionsFromEnv({ SANDBOX_RATE_LIMIT: 'off', SANDBOX_LATENCY_MS: '50' });

    expect(options.rateLimit).toBeNull();
    expect(options.latencyMs).toBe(50);
  });

  it.each([
    ['SANDBOX_PORT', 'http', /SANDBOX_PORT must be an integer/],
    ['SANDBOX_PORT', '70000', /SANDBOX_PORT must be an integer from 0 to 65535/],
    ['SANDBOX_DEMO_MAILBOXES', 'many', /SANDBOX_DEMO_MAILBOXES/],
    ['SANDBOX_RATE_LIMIT', '600', /SANDBOX_RATE_LIMIT must look like "600\/60s"/],
    ['SANDBOX_RATE_LIMIT', '600/soon', /SANDBOX_RATE_LIMIT/],
    ['SANDBOX_LATENCY_MS', 'fast', /SANDBOX_LATENCY_MS/],
    ['SANDBOX_LATENCY_MS', '80-20', /low-high/],
    ['SANDBOX_MINT_SHAPE', 'v3', /SANDBOX_MINT_SHAPE/],
    ['SANDBOX_ALLOW_REMOTE_ADMIN', 'yes please', /SANDBOX_ALLOW_REMOTE_ADMIN/],
  ])('refuses %s=%s with an error naming the variable', (name, value, message) => {
    expect(() => sandboxOptionsFromEnv({ [name]: value })).toThrow(message);
  });

  it('starts a sandbox serving the demo mailboxes and logs that it is a LOCAL STAND-IN, without any key', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const sandbox = await startSandboxFromEnv(
      { SANDBOX_PORT: '0', SANDBOX_DEMO_MAILBOXES: '3', SANDBOX_MANAGEMENT_KEY: 'smx_root_env_secret_value' },
      pino({ level: 'debug' }, sink),
    );
    try {
      const list = await call(sandbox, 'GET', '/mailboxes', { key: 'smx_root_env_secret_value' });
      const minted = await call(sandbox, 'POST', '/mailboxes/mbx_demo_0001/keys', { key: 'smx_root_env_secret_value', body: { app_name: 'demo' } });

      expect(list.json.data.map((m: { id: string }) => m.id)).toEqual(['mbx_demo_0003', 'mbx_demo_0002', 'mbx_demo_0001']);
      const log = lines.join('');
      expect(log).toContain('LOCAL STAND-IN');
      expect(log).toContain(sandbox.url);
      expect(log).toContain('sandbox response');
      expect(log).not.toContain('smx_root_env_secret_value');
      expect(log).not.toContain(minted.json.data.credential.secret);
    } finally {
      await sandbox.close();
    }
  });
});
