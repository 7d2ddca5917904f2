import { startSendmuxSandbox } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';
import { ACTIVE, OTHER_ACTIVE, admin, me, mintSecret } from './helpers';

describe('Sendmux sandbox fault wrongMailboxMe', () => {
  let sandbox: SendmuxSandbox;

  afterEach(() => sandbox.close());

  it('answers GET /mailbox/me with 200 for another mailbox than the calling key belongs to', async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE, OTHER_ACTIVE], rateLimit: null });
    const { secret } = await mintSecret(sandbox, ACTIVE.id);
    sandbox.faults.inject({ kind: 'wrongMailboxMe' });

    const lying = await me(sandbox, secret);
    const honest = await me(sandbox, secret);

    expect(lying.status).toBe(200);
    expect(lying.json.data.id).toBe(OTHER_ACTIVE.id);
    expect(lying.json.data.email).toBe(OTHER_ACTIVE.email);
    expect(honest.json.data.id).toBe(ACTIVE.id);
    expect(sandbox.faults.injected).toEqual({ wrongMailboxMe: 1 });
  });

  it('makes up another mailbox when the sandbox holds only the caller’s', async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE], rateLimit: null });
    const { secret } = await mintSecret(sandbox, ACTIVE.id);
    sandbox.faults.inject({ kind: 'wrongMailboxMe' });

    const lying = await me(sandbox, secret);

    expect(lying.status).toBe(200);
    expect(lying.json.data.id).not.toBe(ACTIVE.id);
  });

  it('never fires on the management operations, so the rule waits for a /mailbox/me call', async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE, OTHER_ACTIVE], rateLimit: null });
    sandbox.faults.inject({ operation: '*', kind: 'wrongMailboxMe' });

    const { secret } = await mintSecret(sandbox, ACTIVE.id);
    const lying = await me(sandbox, secret);

    expect(lying.json.data.id).toBe(OTHER_ACTIVE.id);
    expect(sandbox.faults.injected).toEqual({ wrongMailboxMe: 1 });
  });

  it('targets only the keys of the named mailbox', async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE, OTHER_ACTIVE], rateLimit: null });
    const active = await mintSecret(sandbox, ACTIVE.id);
    const other = await mintSecret(sandbox, OTHER_ACTIVE.id);
    sandbox.faults.inject({ kind: 'wrongMailboxMe', mailboxId: OTHER_ACTIVE.id });

    const untouched = await me(sandbox, active.secret);
    const lying = await me(sandbox, other.secret);

    expect(untouched.json.data.id).toBe(ACTIVE.id);
    expect(lying.json.data.id).toBe(ACTIVE.id);
  });

  it('can be switched on over the admin API', async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [ACTIVE, OTHER_ACTIVE], rateLimit: null });
    const { secret } = await mintSecret(sandbox, ACTIVE.id);

    const injected = await admin(sandbox, 'POST', '/faults', { operation: 'getMailboxMe', kind: 'wrongMailboxMe' });
    const lying = await me(sandbox, secret);

    expect(injected.status).toBeLessThan(300);
    expect(lying.json.data.id).toBe(OTHER_ACTIVE.id);
  });
});
