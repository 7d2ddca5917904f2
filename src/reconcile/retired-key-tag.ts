/**
 * Tag the revocation job puts on a mailbox's secret once the key its AWSCURRENT version
 * superseded is revoked (or Sendmux knows no such key): the value is that key's public id.
 * Versions are immutable, so this tag is the one place Secrets Manager records "already done";
 * the reconciler reads it (in the DescribeSecret it makes anyway) and adds no job for that key.
 * Only the AWSPREVIOUS key is recorded: the next rotation supersedes the tag's meaning.
 */
export const RETIRED_KEY_TAG = 'rotator:retired-key';
