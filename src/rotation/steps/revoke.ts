import { isSendmuxError } from '../../sendmux/errors';
import type { SendmuxClient } from '../../sendmux/client';

export interface KeyRevocation {
  /** revoked: Sendmux answered 200 (also for a key already revoked); not-found: 404, nothing was revoked. */
  outcome: 'revoked' | 'not-found';
  requestId?: string;
}

/**
 * DELETE /mailboxes/{mailbox}/keys/{key}. Sendmux answers 200 for a key it revoked now or before
 * (idempotent) and 404 when the mailbox or the key is unknown — which is NOT a revocation: the
 * key may live in another mailbox. Other errors are thrown.
 */
export async function revokeKey(
  sendmux: Pick<SendmuxClient, 'revokeMailboxKey'>,
  mailboxId: string,
  keyId: string,
): Promise<KeyRevocation> {
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
 * mailbox key itself, so it costs nothing from the management key's rate limit.
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
