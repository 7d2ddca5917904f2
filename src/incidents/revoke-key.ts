import type { SecretStore } from '../aws/secret-store';
import { AWSCURRENT, AWSPENDING } from '../aws/staging-labels';
import { resolveMailboxSettings, type SettingsSource } from '../config/mailbox-settings';
import { bearerTokenFor, readSecretValue } from '../rotation/adoption';
import type { RotatorEventSink } from '../rotation/events';
import { keyAuthenticates, revokeKey } from '../rotation/steps/revoke';
import type { SendmuxClient } from '../sendmux/client';

/** Versions read (newest first) when looking for the revoked key's own token to prove it dead. */
const MAX_VERSIONS_SEARCHED = 20;

export type KeyRevocationRefusal = 'not_configured' | 'current_key' | 'pending_key' | 'current_key_unknown';

/**
 * The answer of `rotator revoke` / POST /mailboxes/{id}/keys/{key}/revoke.
 * - `revoked`: DELETE answered 200 and the key is confirmed dead — `no-longer-authenticates` when
 *   the rotator holds its token (a Secrets Manager version names the key) and GET /mailbox/me with
 *   it answered 401; `delete-acknowledged` when it does not hold the token (Sendmux's 200 is then the
 *   only proof: it answers 200 only for a key of this mailbox that is revoked now or was before).
 * - `still-live`: DELETE answered 200 but the token still authenticates (a vendor fault): act by hand.
 * - `not-found`: Sendmux knows no such key in this mailbox (404); nothing was revoked.
 * - `refused`: nothing was done (the key is AWSCURRENT or AWSPENDING, or the rotator cannot tell).
 */
export type ManualRevocation =
  | { outcome: 'revoked'; mailboxId: string; keyId: string; confirmation: 'no-longer-authenticates' | 'delete-acknowledged'; requestId?: string; message: string }
  | { outcome: 'still-live'; mailboxId: string; keyId: string; opensMailboxId: string; requestId?: string; message: string }
  | { outcome: 'not-found'; mailboxId: string; keyId: string; requestId?: string; message: string }
  | { outcome: 'refused'; mailboxId: string; keyId: string; reason: KeyRevocationRefusal; message: string };

export interface RevokeKeyByHandDeps {
  file: SettingsSource;
  sendmux: Pick<SendmuxClient, 'revokeMailboxKey' | 'getMailboxMe'>;
  secrets: Pick<SecretStore, 'describeSecret' | 'getSecretVersion' | 'listVersions'>;
  /** The audit history (and, in the service, alerts, metrics and consumer notifications). */
  events?: RotatorEventSink;
  now?: () => Date;
}

/**
 * Revokes one key of one mailbox on an operator's word (a leaked previous key, a key reported as
 * possibly orphaned). Refuses, doing nothing, the mailbox's AWSCURRENT key (that is
 * `rotator rotate --revoke-now`), its AWSPENDING key (a rotation in progress owns it), and any key
 * while the AWSCURRENT value does not name its key id (it could be that key). Every attempt that
 * reached Sendmux is one audit entry (a revocation event, job id `revoke-by-hand__<mailbox>__<key>`).
 * Ids must already be valid Sendmux ids (validated at the edge). Throws what the clients throw
 * (network, 5xx, AWS errors); the token it may read never leaves this function.
 */
export async function revokeKeyByHand(deps: RevokeKeyByHandDeps, request: { mailboxId: string; keyId: string; requestedBy: string }): Promise<ManualRevocation> {
  const { mailboxId, keyId } = request;
  const resolution = resolveMailboxSettings(deps.file, mailboxId);
  if (!resolution.covered) return { outcome: 'refused', mailboxId, keyId, reason: 'not_configured', message: resolution.reason };
  const { secretName } = resolution.settings;

  const refusal = await refusalFromSecretsManager(deps.secrets, secretName, mailboxId, keyId);
  if (refusal) return { outcome: 'refused', mailboxId, keyId, ...refusal };
  const token = await tokenOf(deps.secrets, secretName, keyId);

  const startedAt = Date.now();
  const revoked = await revokeKey(deps.sendmux, mailboxId, keyId);
  const requestId = revoked.requestId ? { requestId: revoked.requestId } : {};
  let answer: ManualRevocation;
  if (revoked.outcome === 'not-found') {
    answer = { outcome: 'not-found', mailboxId, keyId, ...requestId,
      message: `Sendmux knows no key ${keyId} in mailbox ${mailboxId} (404); nothing was revoked — check the key id and the mailbox` };
  } else if (token === null) {
    answer = { outcome: 'revoked', mailboxId, keyId, confirmation: 'delete-acknowledged', ...requestId,
      message: `key ${keyId} of mailbox ${mailboxId} revoked: Sendmux answered 200 to DELETE (no Secrets Manager version holds its token, so GET /mailbox/me could not be tried)` };
  } else {
    const proof = await keyAuthenticates(deps.sendmux, token);
    answer = proof.state === 'dead'
      ? { outcome: 'revoked', mailboxId, keyId, confirmation: 'no-longer-authenticates', ...requestId,
          message: `key ${keyId} of mailbox ${mailboxId} revoked and confirmed dead: GET /mailbox/me with it answers 401` }
      : { outcome: 'still-live', mailboxId, keyId, opensMailboxId: proof.mailboxId, ...requestId,
          message: `DELETE of key ${keyId} answered 200 but the key still authenticates (it opens mailbox ${proof.mailboxId}); revoke it in the Sendmux console and tell Sendmux` };
  }
  deps.events?.record({
    kind: 'revocation', at: (deps.now?.() ?? new Date()).toISOString(), jobId: `revoke-by-hand__${mailboxId}__${keyId}`, mailboxId, keyId, attempt: 1,
    outcome: answer.outcome === 'revoked' ? 'revoked' : answer.outcome === 'not-found' ? 'not-found' : 'failed',
    durationMs: Date.now() - startedAt, ...requestId, message: `by hand (${request.requestedBy}): ${answer.message}`,
  });
  return answer;
}

async function refusalFromSecretsManager(
  secrets: RevokeKeyByHandDeps['secrets'],
  secretName: string,
  mailboxId: string,
  keyId: string,
): Promise<{ reason: KeyRevocationRefusal; message: string } | null> {
  for (const stage of [AWSCURRENT, AWSPENDING]) {
    const version = await secrets.getSecretVersion(secretName, { versionStage: stage });
    if (!version) continue;
    const reading = readSecretValue(version.secretString);
    const holds = reading.kind === 'rotator' ? reading.document.key_id : reading.keyId;
    if (holds === keyId) {
      return stage === AWSCURRENT
        ? { reason: 'current_key', message: `key ${keyId} is the AWSCURRENT key of ${secretName}; to replace a leaked current key run: rotator rotate ${mailboxId} --revoke-now` }
        : { reason: 'pending_key', message: `key ${keyId} is the AWSPENDING key of ${secretName}: a rotation in progress owns it (it revokes the key itself if it fails); wait for it to end` };
    }
    if (holds === null) {
      return { reason: 'current_key_unknown', message: `the ${stage} value of ${secretName} does not name its key id, so key ${keyId} could be it; ` +
        `rotate the mailbox first (the rotation adopts that value), then revoke` };
    }
  }
  return null;
}

/** The token of `keyId` when a recent version of the secret names that key; null otherwise. */
async function tokenOf(secrets: RevokeKeyByHandDeps['secrets'], secretName: string, keyId: string): Promise<string | null> {
  if (!(await secrets.describeSecret(secretName))) return null;
  const versions = (await secrets.listVersions(secretName))
    .sort((a, b) => (b.createdDate?.getTime() ?? 0) - (a.createdDate?.getTime() ?? 0))
    .slice(0, MAX_VERSIONS_SEARCHED);
  for (const { versionId } of versions) {
    const version = await secrets.getSecretVersion(secretName, { versionId });
    const token = version ? bearerTokenFor(version.secretString, keyId) : null;
    if (token) return token;
  }
  return null;
}
