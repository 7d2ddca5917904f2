import { randomBytes, randomUUID } from 'node:crypto';
import { SecretStore } from '../../src/aws/secret-store';
import type { RotatorRuntime } from '../../src/app/rotator-runtime';
import { SendmuxApiError } from '../../src/sendmux/errors';
import { TestBed, waitFor, waitForJob } from '../support/test-bed';

/**
 * SENDMUX_API_KEY_SECRET_ID: the rotator reads the Sendmux management key from a Secrets Manager
 * secret at start-up, and again once after a 401, so the key can be rotated without a restart.
 * Real runtime, real Redis, the Sendmux sandbox and the Secrets Manager stand-in.
 */

const newRootKey = () => `smx_root_${randomBytes(12).toString('hex')}`;
/** The key the sandbox accepts; every other root key is answered 401. */
const ACCEPTED_KEY = newRootKey();
const RELOAD_MESSAGE = 'Sendmux answered 401: reloading the management key from Secrets Manager';

describe('the management key from Secrets Manager (SENDMUX_API_KEY_SECRET_ID)', () => {
  let bed: TestBed;
  let store: SecretStore;

  beforeAll(async () => {
    bed = await TestBed.start({ mailboxes: 1, label: 'mgmt-key', sandbox: { managementKeys: [ACCEPTED_KEY], rateLimit: null } });
    store = new SecretStore({ client: bed.smClient });
  });
  afterAll(async () => {
    await bed.close();
  });

  /** A fresh secret (own name per test) whose AWSCURRENT value is `value`. */
  async function managementKeySecret(value: string): Promise<string> {
    const secretId = `sendmux/management-key-${randomBytes(4).toString('hex')}`;
    await store.createSecretIfMissing(secretId);
    await putCurrent(secretId, value);
    return secretId;
  }

  async function putCurrent(secretId: string, value: string): Promise<void> {
    await store.putSecretVersion(secretId, { clientRequestToken: randomUUID(), secretString: value, versionStages: ['AWSCURRENT'] });
  }

  function startRuntime(secretId: string, runWorker = false): Promise<RotatorRuntime> {
    return bed.runtimeWithEnv({ sendmuxApiKey: undefined, sendmuxApiKeySecretId: secretId }, { runWorker });
  }

  /** Closes a test's runtime so that its worker takes no job of the next test. */
  async function closeRuntime(runtime: RotatorRuntime): Promise<void> {
    // Closing the queue while BullMQ is still connecting makes it emit an unhandled error.
    await runtime.queue.queue.waitUntilReady();
    await runtime.close();
  }

  /** GetSecretValue calls made for this secret, counted from the secret store's log lines. */
  function reads(secretId: string): number {
    return bed.logs.parsed().filter((line) => line.operation === 'GetSecretValue' && line.secretId === secretId && line.msg === 'secrets manager GetSecretValue ok').length;
  }

  function reloads(secretId: string): number {
    return bed.logs.parsed().filter((line) => line.msg === RELOAD_MESSAGE && line.secretId === secretId).length;
  }

  function listMailboxesResponses(): Record<string, number> {
    return { ...(bed.sandbox.state.counters.requests.listMailboxes ?? {}) };
  }

  async function rotateOnce(runtime: RotatorRuntime): Promise<string> {
    const [outcome] = await runtime.queue.requestRotations([
      { mailboxId: bed.mailboxIds[0]!, reason: 'manual', requestedBy: 'test', force: true },
    ]);
    if (!outcome || outcome.status === 'refused') throw new Error(`rotation refused: ${JSON.stringify(outcome)}`);
    return (await waitForJob(runtime, outcome.jobId)).state;
  }

  it('reads the key from the secret at start-up, before any Sendmux call', async () => {
    const secretId = await managementKeySecret(JSON.stringify({ api_key: ACCEPTED_KEY }));
    const requestsBefore = JSON.stringify(bed.sandbox.state.counters.requests);
    const runtime = await startRuntime(secretId);
    await waitFor(() => reads(secretId) === 1, 5_000, 'the start-up read of the management key');
    expect(JSON.stringify(bed.sandbox.state.counters.requests)).toBe(requestsBefore);
    await closeRuntime(runtime);
  });

  it('rotates a mailbox with a key stored as JSON with an "api_key" field', async () => {
    const secretId = await managementKeySecret(JSON.stringify({ api_key: ACCEPTED_KEY, note: 'management key' }));
    const runtime = await startRuntime(secretId, true);
    expect(await rotateOnce(runtime)).toBe('completed');
    expect(reloads(secretId)).toBe(0);
    await closeRuntime(runtime);
  });

  it('rotates a mailbox with a key stored as a plain string', async () => {
    const secretId = await managementKeySecret(ACCEPTED_KEY);
    const runtime = await startRuntime(secretId, true);
    expect(await rotateOnce(runtime)).toBe('completed');
    expect(reloads(secretId)).toBe(0);
    await closeRuntime(runtime);
  });

  it('after a 401, reloads the key from the secret once and retries the call with the new key', async () => {
    const rejectedKey = newRootKey();
    const secretId = await managementKeySecret(rejectedKey);
    const runtime = await startRuntime(secretId);
    await waitFor(() => reads(secretId) === 1, 5_000, 'the start-up read of the management key');
    await putCurrent(secretId, ACCEPTED_KEY);
    const before = listMailboxesResponses();

    const page = await runtime.sendmux.listMailboxes();

    expect(page.data.mailboxes.map((mailbox) => mailbox.id)).toEqual(bed.mailboxIds);
    expect(reloads(secretId)).toBe(1);
    expect(reads(secretId)).toBe(2);
    const after = listMailboxesResponses();
    expect({ 401: (after['401'] ?? 0) - (before['401'] ?? 0), 200: (after['200'] ?? 0) - (before['200'] ?? 0) }).toEqual({ 401: 1, 200: 1 });
    await closeRuntime(runtime);
  });

  it('keeps using the reloaded key without reading the secret again', async () => {
    const secretId = await managementKeySecret(newRootKey());
    const runtime = await startRuntime(secretId);
    await waitFor(() => reads(secretId) === 1, 5_000, 'the start-up read of the management key');
    await putCurrent(secretId, ACCEPTED_KEY);
    await runtime.sendmux.listMailboxes();
    await runtime.sendmux.listMailboxes();
    await runtime.sendmux.listMailboxes();
    expect(reads(secretId)).toBe(2);
    expect(reloads(secretId)).toBe(1);
    await closeRuntime(runtime);
  });

  it('gives up with the 401 after one reload and one retry when the secret still holds the rejected key', async () => {
    const secretId = await managementKeySecret(newRootKey());
    const runtime = await startRuntime(secretId);
    await waitFor(() => reads(secretId) === 1, 5_000, 'the start-up read of the management key');
    const before = listMailboxesResponses();

    const failure = await runtime.sendmux.listMailboxes().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(SendmuxApiError);
    expect((failure as SendmuxApiError).status).toBe(401);
    expect(reloads(secretId)).toBe(1);
    expect((listMailboxesResponses()['401'] ?? 0) - (before['401'] ?? 0)).toBe(2);
    await closeRuntime(runtime);
  });

  it('shares one reload between concurrent calls that met the same 401', async () => {
    const secretId = await managementKeySecret(newRootKey());
    const runtime = await startRuntime(secretId);
    await waitFor(() => reads(secretId) === 1, 5_000, 'the start-up read of the management key');
    await putCurrent(secretId, ACCEPTED_KEY);
    // A slow reload, so that every concurrent call meets its 401 while the reload is in flight.
    bed.standIn.faults.inject({ operation: 'GetSecretValue', kind: 'delay', delayMs: 300, times: 1 });

    const pages = await Promise.all(Array.from({ length: 5 }, () => runtime.sendmux.listMailboxes()));

    expect(pages).toHaveLength(5);
    expect(reloads(secretId)).toBe(1);
    expect(reads(secretId)).toBe(2);
    bed.standIn.faults.clear();
    await closeRuntime(runtime);
  });

  it('names the secret and the expected shapes when it holds neither a key nor JSON with "api_key", without its value', async () => {
    const secretId = await managementKeySecret(JSON.stringify({ token: ACCEPTED_KEY }));
    const runtime = await startRuntime(secretId);

    const failure = await runtime.sendmux.listMailboxes().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain(`SENDMUX_API_KEY_SECRET_ID: secret ${secretId}`);
    expect((failure as Error).message).toContain('"api_key"');
    expect((failure as Error).message).not.toContain(ACCEPTED_KEY);
    await closeRuntime(runtime);
  });

  it('says the secret is missing when SENDMUX_API_KEY_SECRET_ID names no secret', async () => {
    const secretId = `sendmux/management-key-missing-${randomBytes(4).toString('hex')}`;
    const runtime = await startRuntime(secretId);

    const failure = await runtime.sendmux.listMailboxes().catch((error: unknown) => error);

    expect((failure as Error).message).toBe(`SENDMUX_API_KEY_SECRET_ID: secret ${secretId} does not exist or has no AWSCURRENT value`);
    expect(bed.logs.text()).toContain('could not read the Sendmux management key at start-up');
    await closeRuntime(runtime);
  });

  it('never writes a management key to the logs', () => {
    expect(bed.logs.lines.length).toBeGreaterThan(0);
    expect(bed.logs.text()).not.toContain(ACCEPTED_KEY);
    expect(bed.logs.text()).not.toMatch(/smx_root_[0-9a-f]{24}/);
  });
});
