/** Mailbox ids as Sendmux issues them, and as they may appear in job ids and secret names. */
export const MAILBOX_ID_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;

export const MAILBOX_ID_PLACEHOLDER = '{mailboxId}';

/** AWS Secrets Manager: 1–512 characters of ASCII letters, digits and `/_+=.@-`. */
const SECRET_NAME_CHARS = /^[A-Za-z0-9/_+=.@-]+$/;
const SECRET_NAME_MAX = 512;
const LONGEST_MAILBOX_ID = 255;

export function describeExpectedSecretNameTemplate(): string {
  return (
    `a Secrets Manager name template containing "${MAILBOX_ID_PLACEHOLDER}" once, made of letters, digits and /_+=.@- ` +
    `(e.g. "sendmux/mailboxes/${MAILBOX_ID_PLACEHOLDER}"), at most ${SECRET_NAME_MAX} characters once rendered`
  );
}

/** `null` when the template is usable for every valid mailbox id, else why not. */
export function checkSecretNameTemplate(template: string): string | null {
  const occurrences = template.split(MAILBOX_ID_PLACEHOLDER).length - 1;
  if (occurrences === 0) return `${describeExpectedSecretNameTemplate()} — "${MAILBOX_ID_PLACEHOLDER}" is missing`;
  if (occurrences > 1) return `${describeExpectedSecretNameTemplate()} — "${MAILBOX_ID_PLACEHOLDER}" appears ${occurrences} times`;
  const fixedPart = template.split(MAILBOX_ID_PLACEHOLDER).join('');
  if (fixedPart !== '' && !SECRET_NAME_CHARS.test(fixedPart)) return describeExpectedSecretNameTemplate();
  const longest = fixedPart.length + LONGEST_MAILBOX_ID;
  if (longest > SECRET_NAME_MAX) {
    return `${describeExpectedSecretNameTemplate()} — with a ${LONGEST_MAILBOX_ID}-character mailbox id it would be ${longest} characters`;
  }
  return null;
}

/**
 * The Secrets Manager name for one mailbox. Throws if the mailbox id or the resulting name is
 * not valid, so a bad id can never address some other secret.
 */
export function renderSecretName(template: string, mailboxId: string): string {
  if (!MAILBOX_ID_PATTERN.test(mailboxId)) {
    throw new Error(`Invalid mailbox id ${JSON.stringify(mailboxId.slice(0, 80))}: expected 1-255 characters of A-Z, a-z, 0-9, _ or -`);
  }
  const problem = checkSecretNameTemplate(template);
  if (problem !== null) {
    throw new Error(`Invalid secret name template ${JSON.stringify(template.slice(0, 80))}: expected ${problem}`);
  }
  return template.split(MAILBOX_ID_PLACEHOLDER).join(mailboxId);
}
