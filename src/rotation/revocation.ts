import { isSendmuxError } from '../sendmux/errors';
import type { SendmuxClient } from '../sendmux/client';
import type { MailboxSecret, ProofName, RevocationBasis, RevocationRefusal } from './mailbox-secret';
import type { StepLine } from './step-line';

/**
 * The one place a Sendmux key is revoked (DELETE /mailboxes/{id}/keys/{key}). Every path —
 * the revocation job, the clean-up of a failed or abandoned rotation, the stale-pending clean-up,
 * the credential-limit policy, incident commands — calls `revokeWithProof`, which asks the
 * mailbox's secret owner (src/rotation/mailbox-secret.ts) for one of the three proofs of
 * docs/design.md and refuses, logging at warn, without one.
 */

export interface RevocationDeps {
  sendmux: Pick<SendmuxClient, 'revokeMailboxKey' | 'getMailboxMe'>;
}

export interface RevocationRequest {
  keyId: string;
  basis: RevocationBasis;
  /** The line the refusal or the outcome is logged on (with the step's request ids). */
  line: StepLine;
  /** Why the caller asks, for the refusal line: e.g. "stale AWSPENDING clean-up". */
  purpose: string;
  /**
   * Mailboxes to DELETE in, in order, until Sendmux knows the key (default: the secret's own
   * mailbox). A key whose GET /mailbox/me answered for another mailbox lives there.
   */
  mailboxIds?: string[];
  /** Prove the key dead afterwards (GET /mailbox/me with its token answers 401) when the token is known. Default true. */
  proveDead?: boolean;
}

export type ProvenRevocation =
  /**
   * revoked: DELETE answered 200 (also for a key revoked before); not-found: 404 in every mailbox
   * tried, nothing revoked. `dead` tells whether GET /mailbox/me with the key's token answered
   * 401 (`dead`), still opened a mailbox (`live`), or was not tried (no token, or not asked).
   */
  | { outcome: 'revoked' | 'not-found'; proof: ProofName; evidence: string; mailboxId: string; triedMailboxIds: string[]; requestId?: string;
      dead: 'dead' | 'live' | 'not-checked'; opensMailboxId?: string; supersededBy?: string; adopted?: boolean; direct?: boolean }
  /** Nothing was sent to Sendmux: the proof named by `proof` could not be made. */
  | { outcome: 'refused'; proof: ProofName; refusal: RevocationRefusal; reason: string };

/**
 * Revokes `request.keyId` of `secret`'s mailbox when `secret.mayRevoke` proves it may go; else
 * logs the refusal at warn (mailbox, key id, the proof that was missing and why) and sends nothing.
 * Throws what the clients throw (network, 5xx, 429, AWS errors); a 404 is an outcome, not an error.
 */
export async function revokeWithProof(deps: RevocationDeps, secret: MailboxSecret, request: RevocationRequest): Promise<ProvenRevocation> {
  const { keyId, line } = request;
  const verdict = await secret.mayRevoke(keyId, request.basis);
  if (!verdict.allowed) {
    line.warn(
      { mailboxId: secret.mailboxId, keyId, revocation: 'refused', proofMissing: verdict.proof, refusal: verdict.refusal },
      `refused to revoke key ${keyId} of mailbox ${secret.mailboxId} (${request.purpose}): no ${proofWords(verdict.proof)} — ${verdict.reason}; nothing was sent to Sendmux`,
    );
    return { outcome: 'refused', proof: verdict.proof, refusal: verdict.refusal, reason: verdict.reason };
  }
  const candidates = [...new Set(request.mailboxIds ?? [secret.mailboxId])];
  const tried: string[] = [];
  let answer: { outcome: 'revoked' | 'not-found'; requestId?: string } = { outcome: 'not-found' };
  for (const mailboxId of candidates) {
    tried.push(mailboxId);
    answer = await deleteKey(deps.sendmux, mailboxId, keyId);
    if (answer.outcome === 'revoked') break;
  }
  const proof = verdict.token !== undefined && request.proveDead !== false ? await keyAuthenticates(deps.sendmux, verdict.token) : null;
  return {
    outcome: answer.outcome, proof: verdict.proof, evidence: verdict.evidence, mailboxId: tried[tried.length - 1]!, triedMailboxIds: tried,
    ...(answer.requestId ? { requestId: answer.requestId } : {}),
    dead: proof === null ? 'not-checked' : proof.state,
    ...(proof?.state === 'live' ? { opensMailboxId: proof.mailboxId } : {}),
    ...(verdict.supersededBy ? { supersededBy: verdict.supersededBy } : {}),
    ...(verdict.adopted !== undefined ? { adopted: verdict.adopted } : {}),
    ...(verdict.direct !== undefined ? { direct: verdict.direct } : {}),
  };
}

/** The proof's name in a refusal line. */
function proofWords(proof: ProofName): string {
  switch (proof) {
    case 'superseded': return 'proof from Secrets Manager that a verified AWSCURRENT version superseded it';
    case 'held-by-version': return 'proof that a version of this mailbox\'s secret other than AWSCURRENT holds it';
    case 'own-mint': return "proof from this rotation's own mint that the key is its orphan";
    case 'incident': return 'safe target for the incident command';
  }
}

/**
 * DELETE /mailboxes/{mailbox}/keys/{key}. Sendmux answers 200 for a key it revoked now or before
 * (idempotent) and 404 when the mailbox or the key is unknown — NOT a revocation: the key may
 * live in another mailbox (CONTRACT.md, operations table). Other errors are thrown.
 */
async function deleteKey(sendmux: Pick<SendmuxClient, 'revokeMailboxKey'>, mailboxId: string, keyId: string): Promise<{ outcome: 'revoked' | 'not-found'; requestId?: string }> {
  try {
    const res = await sendmux.revokeMailboxKey(mailboxId, keyId);
    return { outcome: 'revoked', ...(res.requestId ? { requestId: res.requestId } : {}) };
  } catch (err) {
    if (isSendmuxError(err) && err.status === 404) return { outcome: 'not-found', ...(err.requestId ? { requestId: err.requestId } : {}) };
    throw err;
  }
}

/**
 * Whether a key still authenticates: GET /mailbox/me with it. 'dead' on 401 (Sendmux no longer
 * accepts it), 'live' with the mailbox it opens on 200; other failures are thrown. Uses the
 * mailbox key itself, so it costs nothing from the management key's rate limit (CONTRACT.md,
 * "Rate limits").
 */
export async function keyAuthenticates(
  sendmux: Pick<SendmuxClient, 'getMailboxMe'>,
  secret: string,
): Promise<{ state: 'dead' } | { state: 'live'; mailboxId: string }> {
  try {
    const me = await sendmux.getMailboxMe(secret);
    return { state: 'live', mailboxId: me.data.id };
  } catch (err) {
    if (isSendmuxError(err) && err.status === 401) return { state: 'dead' };
    throw err;
  }
}
