import type { SecretStore } from '../aws/secret-store';
import { AWSCURRENT, AWSPENDING } from '../aws/staging-labels';
import { parseStoredMailboxSecret, type StoredMailboxSecret } from './secret-value';

/** How many versions back the chain of `supersedes` records is followed. */
const MAX_CHAIN = 5;

export type SupersessionProof =
  | {
      proven: true;
      /** The version whose document records the key as superseded. */
      supersededBy: string;
      /** Its `revoke_not_before`; null when it records none (grace period `never`). */
      revokeNotBefore: Date | null;
      /** Whether that version is AWSCURRENT itself (the key is the AWSPREVIOUS one), not an older one in the chain. */
      direct: boolean;
      /** Whether the key is the original key of a value that version adopted (named by the foreign value, not minted by the rotator). */
      adopted: boolean;
    }
  | { proven: false; reason: string };

/**
 * Proves from Secrets Manager alone that `keyId` is a superseded key of this mailbox's secret:
 * it is neither the AWSCURRENT nor the AWSPENDING version's key, and the AWSCURRENT version's
 * document (or one of the versions it in turn superseded, following `supersedes.version_id`)
 * records it in `supersedes`. An adopted value's key (src/rotation/adoption.ts) is proven by the
 * version that adopted it, whose `supersedes` names it when the value gave its id. Fails closed: a missing secret, a secret scheduled for deletion, a
 * document that is not the rotator's, or a chain that never names the key all answer
 * `proven: false` with the reason. Throws only what SecretStore throws (transient AWS errors).
 *
 * Calls: one DescribeSecret (which version holds AWSCURRENT, whether any holds AWSPENDING), one
 * GetSecretValue of the AWSCURRENT version, the AWSPENDING version's only when there is one (a
 * rotation in progress), and one per older version the chain follows. Asking for AWSPENDING by
 * label instead cost a ResourceNotFoundException answer on nearly every revocation.
 */
export async function proveSuperseded(
  secrets: Pick<SecretStore, 'describeSecret' | 'getSecretVersion'>,
  secretName: string,
  mailboxId: string,
  keyId: string,
): Promise<SupersessionProof> {
  const description = await secrets.describeSecret(secretName);
  if (!description) return { proven: false, reason: `secret ${secretName} does not exist` };
  if (description.deletedDate) return { proven: false, reason: `secret ${secretName} is scheduled for deletion on ${description.deletedDate.toISOString()}` };
  const holderOf = (stage: string) => Object.entries(description.versionIdsToStages).find(([, stages]) => stages.includes(stage))?.[0];
  const currentVersionId = holderOf(AWSCURRENT);
  const current = currentVersionId ? await secrets.getSecretVersion(secretName, { versionId: currentVersionId }) : null;
  if (!current) return { proven: false, reason: `secret ${secretName} has no AWSCURRENT version` };
  const read = (versionId: string, secretString: string): StoredMailboxSecret | string => {
    try {
      return parseStoredMailboxSecret(secretName, versionId, secretString);
    } catch (err) {
      return (err as Error).message;
    }
  };
  let document = read(current.versionId, current.secretString);
  if (typeof document === 'string') return { proven: false, reason: document };
  if (document.mailbox_id !== mailboxId) return { proven: false, reason: `AWSCURRENT of ${secretName} belongs to mailbox ${document.mailbox_id}` };
  if (document.key_id === keyId) return { proven: false, reason: `it is the AWSCURRENT key of secret ${secretName}` };

  const pendingVersionId = holderOf(AWSPENDING);
  // A first version holds both labels: its key is the AWSCURRENT one, checked above.
  const pending = pendingVersionId && pendingVersionId !== current.versionId ? await secrets.getSecretVersion(secretName, { versionId: pendingVersionId }) : null;
  if (pending) {
    const pendingDocument = read(pending.versionId, pending.secretString);
    if (typeof pendingDocument === 'string') return { proven: false, reason: pendingDocument };
    if (pendingDocument.key_id === keyId) return { proven: false, reason: `it is the AWSPENDING key of secret ${secretName} (a rotation in progress)` };
  }

  let versionId = current.versionId;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const superseded = document.supersedes;
    if (!superseded) break;
    if (superseded.key_id === keyId) {
      const notBefore = document.revoke_not_before;
      return { proven: true, supersededBy: versionId, revokeNotBefore: notBefore ? new Date(notBefore) : null, direct: depth === 0,
        adopted: document.adopted?.version_id === superseded.version_id };
    }
    // The chain ends at an adopted value: it is not the rotator's and records nothing further.
    if (document.adopted?.version_id === superseded.version_id) break;
    const older = await secrets.getSecretVersion(secretName, { versionId: superseded.version_id });
    if (!older) break;
    const olderDocument = read(older.versionId, older.secretString);
    if (typeof olderDocument === 'string') return { proven: false, reason: olderDocument };
    versionId = older.versionId;
    document = olderDocument;
  }
  return { proven: false, reason: `no version of secret ${secretName} records key ${keyId} as the key it superseded` };
}
