import type { SecretStore } from '../aws/secret-store';
import { resolveMailboxSettings, type SettingsSource } from '../config/mailbox-settings';
import type { RotatorEventSink } from '../rotation/events';
import { MailboxSecret, type RevocationRefusal } from '../rotation/mailbox-secret';
import { revokeWithProof } from '../rotation/revocation';
import { StepLine } from '../rotation/step-line';
import type { SendmuxClient } from '../sendmux/client';
import type { Logger } from 'pino';
import pino from 'pino';

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
  /** Where a refusal is logged (at warn, by the choke point). Default: silent. */
  logger?: Logger;
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

  const secret = await MailboxSecret.read(deps.secrets, mailboxId, secretName);
  const token = await secret.tokenOf(keyId);
  const line = new StepLine((deps.logger ?? pino({ level: 'silent' })).child({ mailboxId, keyId, requestedBy: request.requestedBy }), 'incident-revoke');
  const startedAt = Date.now();
  const revoked = await revokeWithProof(deps, secret, {
    keyId, basis: { proof: 'incident', requestedBy: request.requestedBy, token }, line, purpose: `incident command by ${request.requestedBy}`,
  });
  if (revoked.outcome === 'refused') {
    const reason = incidentRefusal(revoked.refusal);
    return { outcome: 'refused', mailboxId, keyId, reason, message: refusalMessage(reason, { keyId, mailboxId, secretName, detail: revoked.reason }) };
  }
  const requestId = revoked.requestId ? { requestId: revoked.requestId } : {};
  let answer: ManualRevocation;
  if (revoked.outcome === 'not-found') {
    answer = { outcome: 'not-found', mailboxId, keyId, ...requestId,
      message: `Sendmux knows no key ${keyId} in mailbox ${mailboxId} (404); nothing was revoked — check the key id and the mailbox` };
  } else if (revoked.dead === 'not-checked') {
    answer = { outcome: 'revoked', mailboxId, keyId, confirmation: 'delete-acknowledged', ...requestId,
      message: `key ${keyId} of mailbox ${mailboxId} revoked: Sendmux answered 200 to DELETE (no Secrets Manager version holds its token, so GET /mailbox/me could not be tried)` };
  } else if (revoked.dead === 'dead') {
    answer = { outcome: 'revoked', mailboxId, keyId, confirmation: 'no-longer-authenticates', ...requestId,
      message: `key ${keyId} of mailbox ${mailboxId} revoked and confirmed dead: GET /mailbox/me with it answers 401` };
  } else {
    answer = { outcome: 'still-live', mailboxId, keyId, opensMailboxId: revoked.opensMailboxId ?? mailboxId, ...requestId,
      message: `DELETE of key ${keyId} answered 200 but the key still authenticates (it opens mailbox ${revoked.opensMailboxId ?? mailboxId}); revoke it in the Sendmux console and tell Sendmux` };
  }
  deps.events?.record({
    kind: 'revocation', at: (deps.now?.() ?? new Date()).toISOString(), jobId: `revoke-by-hand__${mailboxId}__${keyId}`, mailboxId, keyId, attempt: 1,
    outcome: answer.outcome === 'revoked' ? 'revoked' : answer.outcome === 'not-found' ? 'not-found' : 'failed',
    durationMs: Date.now() - startedAt, ...requestId, message: `by hand (${request.requestedBy}): ${answer.message}`,
  });
  return answer;
}

/** The incident API's closed set of refusals (its `error` code) for the owner's answer. */
function incidentRefusal(refusal: RevocationRefusal): KeyRevocationRefusal {
  if (refusal === 'current_key' || refusal === 'pending_key') return refusal;
  return 'current_key_unknown';
}

function refusalMessage(reason: KeyRevocationRefusal, at: { keyId: string; mailboxId: string; secretName: string; detail: string }): string {
  switch (reason) {
    case 'current_key':
      return `key ${at.keyId} is the AWSCURRENT key of ${at.secretName}; to replace a leaked current key run: rotator rotate ${at.mailboxId} --revoke-now`;
    case 'pending_key':
      return `key ${at.keyId} is the AWSPENDING key of ${at.secretName}: a rotation in progress owns it (it revokes the key itself if it fails); wait for it to end`;
    default:
      return `${at.detail}; rotate the mailbox first (the rotation adopts that value), then revoke`;
  }
}
