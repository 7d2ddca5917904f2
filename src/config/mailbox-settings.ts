import { renderSecretName } from './secret-name';
import { matchesEmailGlob } from '../scheduler/email-glob';
import type { RotationGroup, RotatorFileConfig } from './types';

/** Everything that governs the rotation of one mailbox, resolved from the configuration alone. */
export interface MailboxSettings {
  mailboxId: string;
  /** The group that owns the mailbox (first group in the file that claims it), or null for the top level. */
  group: string | null;
  /** The rendered Secrets Manager secret name (`secretName` template with the id). */
  secretName: string;
  /** Minted keys are named `<appNamePrefix> <slot>`. */
  appNamePrefix: string;
  /** Grace period before a superseded key is revoked, in ms: the group's, else the top level's; null = never. */
  revokePreviousAfterMs: number | null;
  minRotationIntervalMs: number;
  onLimitExceeded: 'fail' | 'revoke-previous';
  kmsKeyId?: string;
  tags: Record<string, string>;
  /** The cron and time zone of the owning schedule. */
  schedule: string;
  timezone: string;
}

export type MailboxSettingsResolution =
  | { covered: true; settings: MailboxSettings }
  | { covered: false; reason: string };

/** The parts of the configuration the resolver reads. */
export type SettingsSource = Pick<
  RotatorFileConfig,
  'mailboxes' | 'groups' | 'secretName' | 'revokePreviousAfterMs' | 'minRotationIntervalMs' | 'kmsKeyId' | 'tags' | 'schedule' | 'timezone'
> & { rotation: Pick<RotatorFileConfig['rotation'], 'appNamePrefix' | 'onLimitExceeded'> };

/**
 * The effective settings of one mailbox: its group's (the first group in the file that claims it,
 * by id or by email glob), then the top level's, then the defaults the file schema already filled
 * in. This is what job processors act on — job data is a request, never the authority.
 *
 * Coverage: with `mailboxes: all` any valid mailbox id is covered (whether Sendmux knows it is
 * checked elsewhere: the API/scheduler, and Sendmux itself answers 404); with a list, an id is
 * covered when the list or some group's `mailboxes` names it (as the scheduler resolves it).
 *
 * `email` is needed only to evaluate `emailGlob` groups (see {@link settingsNeedEmail}); without
 * it such groups are passed over. Throws only for an invalid mailbox id (via renderSecretName).
 */
export function resolveMailboxSettings(file: SettingsSource, mailboxId: string, email?: string): MailboxSettingsResolution {
  const secretName = renderSecretName(file.secretName, mailboxId);
  const listed = file.mailboxes === 'all' || file.mailboxes.includes(mailboxId) || file.groups.some((g) => g.mailboxes?.includes(mailboxId));
  if (!listed) {
    return {
      covered: false,
      reason: `mailbox ${mailboxId} is not covered by the configuration (not in "mailboxes" nor in any group's "mailboxes"); add it there to rotate it`,
    };
  }
  const group = file.groups.find((g) => claims(g, mailboxId, email));
  return {
    covered: true,
    settings: {
      mailboxId,
      group: group?.name ?? null,
      secretName,
      appNamePrefix: file.rotation.appNamePrefix,
      revokePreviousAfterMs: group?.revokePreviousAfterMs !== undefined ? group.revokePreviousAfterMs : file.revokePreviousAfterMs,
      minRotationIntervalMs: file.minRotationIntervalMs,
      onLimitExceeded: file.rotation.onLimitExceeded,
      ...(file.kmsKeyId !== undefined ? { kmsKeyId: file.kmsKeyId } : {}),
      tags: file.tags,
      schedule: group?.schedule ?? file.schedule,
      timezone: group?.timezone ?? file.timezone,
    },
  };
}

/** Whether the owning group of this mailbox can depend on its email (an emailGlob group could claim it first). */
export function settingsNeedEmail(file: Pick<RotatorFileConfig, 'groups'>, mailboxId: string): boolean {
  for (const group of file.groups) {
    if (group.mailboxes?.includes(mailboxId)) return false;
    if (group.emailGlob !== undefined) return true;
  }
  return false;
}

function claims(group: RotationGroup, mailboxId: string, email: string | undefined): boolean {
  if (group.mailboxes?.includes(mailboxId)) return true;
  return group.emailGlob !== undefined && email !== undefined && matchesEmailGlob(group.emailGlob, email);
}
