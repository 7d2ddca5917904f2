/**
 * What consumers receive. The envelope follows the Standard Webhooks recommendation
 * (`type`, `timestamp`, `data`). No payload ever carries a key's secret: consumers read the new
 * key from Secrets Manager (the ARN and version id say where).
 */

export interface RotationSucceededNotification {
  type: 'rotation.succeeded';
  /** ISO 8601, when the new key became AWSCURRENT (the rotation event's time). */
  timestamp: string;
  data: {
    mailboxId: string;
    /** Null when Secrets Manager could not be asked for it; `secretName` still says where. */
    secretArn: string | null;
    secretName: string;
    /** The Secrets Manager version id now labelled AWSCURRENT. */
    secretVersionId: string;
    /** Public id of the new key (never its secret). */
    keyId: string;
    /** Public id of the key it replaced; null on a mailbox's first rotation. */
    previousKeyId: string | null;
    occurredAt: string;
  };
}

export interface KeyRevokedNotification {
  type: 'key.revoked';
  timestamp: string;
  data: {
    mailboxId: string;
    /** Public id of the revoked key. */
    keyId: string;
    occurredAt: string;
  };
}

export type ConsumerNotification = RotationSucceededNotification | KeyRevokedNotification;
