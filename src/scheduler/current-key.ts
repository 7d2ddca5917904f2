import type { SecretStore } from '../aws/secret-store';
import { MailboxSecret } from '../rotation/mailbox-secret';

/** What Secrets Manager holds for one mailbox, as far as deciding whether it is due goes. */
export type CurrentKeyState =
  | { kind: 'missing' }
  /** The secret exists but no version is AWSCURRENT (e.g. a first rotation stopped after CreateSecret). */
  | { kind: 'no-current'; arn: string; pendingVersionId?: string }
  /** Scheduled for deletion: every write fails until someone restores it. */
  | { kind: 'deleted'; arn: string; deletedDate: Date }
  /** `createdDate` is missing only if AWS reported none. */
  | { kind: 'current'; arn: string; versionId: string; createdDate?: Date; pendingVersionId?: string };

export type CurrentKeyReader = Pick<SecretStore, 'describeSecret' | 'listVersions' | 'getSecretVersion'>;

/** Version ids are immutable, so their creation dates are cached; the cap bounds memory, not correctness. */
const DEFAULT_CACHE_ENTRIES = 200_000;

/**
 * Reads a mailbox secret's AWSCURRENT version and when it was created.
 *
 * DescribeSecret (Secrets Manager's highest-quota read) names the current version; its
 * CreatedDate comes from ListSecretVersionIds, which never touches the secret value, or — only if
 * that reports no date — from GetSecretValue. A long-running scheduler checks every mailbox on
 * every tick, so creation dates are remembered per version id: after the first pass, a mailbox
 * costs one DescribeSecret per check until it is rotated again.
 */
export class CurrentKeyInspector {
  private readonly createdDates = new Map<string, Date>();

  constructor(
    private readonly secrets: CurrentKeyReader,
    private readonly cacheEntries = DEFAULT_CACHE_ENTRIES,
  ) {}

  /** Throws SecretStoreError when Secrets Manager refuses or fails (AccessDenied, throttling, …). */
  async inspect(secretName: string, options: { withCreatedDate: boolean }): Promise<CurrentKeyState> {
    const secret = await MailboxSecret.readLabels(this.secrets, secretName);
    if (!secret.exists || !secret.arn) return { kind: 'missing' };
    const arn = secret.arn;
    if (secret.deletedDate) return { kind: 'deleted', arn, deletedDate: secret.deletedDate };
    const versionId = secret.holder('current');
    const pendingVersionId = secret.holder('pending');
    const pending = pendingVersionId === undefined ? {} : { pendingVersionId };
    if (versionId === undefined) return { kind: 'no-current', arn, ...pending };
    if (!options.withCreatedDate) return { kind: 'current', arn, versionId, ...pending };
    const createdDate = await this.createdDateOf(secretName, versionId);
    return { kind: 'current', arn, versionId, ...(createdDate ? { createdDate } : {}), ...pending };
  }

  private async createdDateOf(secretName: string, versionId: string): Promise<Date | undefined> {
    const cacheKey = `${secretName}\u0000${versionId}`;
    const cached = this.createdDates.get(cacheKey);
    if (cached) return cached;
    const versions = await this.secrets.listVersions(secretName);
    let createdDate = versions.find((version) => version.versionId === versionId)?.createdDate;
    if (!createdDate) createdDate = (await this.secrets.getSecretVersion(secretName, { versionId }))?.createdDate;
    if (createdDate) this.remember(cacheKey, createdDate);
    return createdDate;
  }

  private remember(cacheKey: string, createdDate: Date): void {
    if (this.createdDates.size >= this.cacheEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.createdDates.keys().next();
      if (!oldest.done) this.createdDates.delete(oldest.value);
    }
    this.createdDates.set(cacheKey, createdDate);
  }
}
