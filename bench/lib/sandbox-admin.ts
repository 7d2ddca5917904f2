import { randomUUID } from 'node:crypto';
import { buildStoredMailboxSecret } from '../../src/rotation/secret-value';
import type { SecretStore } from '../../src/aws/secret-store';
import { forEachWithLimit } from '../../src/scheduler/with-limit';

/** What the bench reads from GET /_sandbox/state: the counters only (the rest holds secrets). */
export interface SandboxCounters {
  /** Responses by operation, then by HTTP status. */
  requests: Record<string, Record<string, number>>;
  /** 429s produced by the management rate limiter. */
  rateLimited: number;
}

export async function readSandboxCounters(adminUrl: string): Promise<SandboxCounters> {
  const response = await fetch(`${adminUrl}/state`);
  if (!response.ok) throw new Error(`GET ${adminUrl}/state answered ${response.status}`);
  const state = (await response.json()) as { counters: SandboxCounters };
  return { requests: state.counters.requests, rateLimited: state.counters.rateLimited };
}

/** Management requests (root key) answered between two counter readings, by outcome. */
export interface ManagementRequestDelta {
  mints: number;
  revokes: number;
  /** 2xx mints + revokes: the requests that did useful work. */
  succeeded: number;
  rateLimited: number;
  /** Every management response, 429s and errors included. */
  total: number;
}

const MANAGEMENT_OPERATIONS = ['mintMailboxKey', 'revokeMailboxKey', 'listMailboxes', 'getMailbox'];

export function managementDelta(before: SandboxCounters, after: SandboxCounters): ManagementRequestDelta {
  const count = (counters: SandboxCounters, operation: string, status?: (s: string) => boolean) =>
    Object.entries(counters.requests[operation] ?? {})
      .filter(([s]) => (status ? status(s) : true))
      .reduce((sum, [, n]) => sum + n, 0);
  const ok = (s: string) => /^2\d\d$/.test(s);
  const diff = (operation: string, status?: (s: string) => boolean) => count(after, operation, status) - count(before, operation, status);
  const mints = diff('mintMailboxKey', ok);
  const revokes = diff('revokeMailboxKey', ok);
  return {
    mints,
    revokes,
    succeeded: mints + revokes,
    rateLimited: after.rateLimited - before.rateLimited,
    total: MANAGEMENT_OPERATIONS.reduce((sum, op) => sum + diff(op), 0),
  };
}

export async function configureSandbox(adminUrl: string, update: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${adminUrl}/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(update),
  });
  if (!response.ok) throw new Error(`POST ${adminUrl}/config answered ${response.status}: ${await response.text()}`);
}

interface SeededKey {
  id: string;
  secret: string;
  keyPrefix: string;
  keySuffix: string;
}

/**
 * Gives every mailbox what a rotated mailbox has: a live Sendmux key (seeded through the admin
 * API, no management request counted) stored as the AWSCURRENT version of its secret. Measured
 * rotations then do the full mint + revoke, like every rotation after the first.
 */
export async function seedMailboxes(opts: {
  adminUrl: string;
  secrets: Pick<SecretStore, 'createSecretIfMissing' | 'putSecretVersion'>;
  mailboxIds: readonly string[];
  secretNameFor: (mailboxId: string) => string;
  concurrency?: number;
}): Promise<void> {
  await forEachWithLimit(opts.mailboxIds, opts.concurrency ?? 32, async (mailboxId) => {
    const response = await fetch(`${opts.adminUrl}/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mailboxId, appName: 'bench seed' }),
    });
    if (!response.ok) throw new Error(`seeding a key for ${mailboxId}: POST /_sandbox/keys answered ${response.status}`);
    const { key } = (await response.json()) as { key: SeededKey };
    const secretName = opts.secretNameFor(mailboxId);
    await opts.secrets.createSecretIfMissing(secretName, { description: `bench seed for ${mailboxId}` });
    // The stand-in, like AWS, makes a secret's first version AWSCURRENT.
    await opts.secrets.putSecretVersion(secretName, {
      clientRequestToken: randomUUID(),
      secretString: buildStoredMailboxSecret({
        mailboxId,
        minted: {
          keyId: key.id,
          secret: key.secret,
          password: key.secret,
          keyPrefix: key.keyPrefix,
          keySuffix: key.keySuffix,
          username: `${mailboxId}@example.test`,
          server: 'mail.sandbox.test',
          imapPort: 993,
          smtpPort: 465,
          shape: 'credential',
        },
        rotatedAt: new Date().toISOString(),
        idempotencyKey: `bench-seed-${mailboxId}`,
        sendmuxRequestId: undefined,
        slot: 'bench-seed',
        supersedes: null,
        revokeNotBefore: null,
      }),
      versionStages: ['AWSCURRENT'],
    });
  });
}
