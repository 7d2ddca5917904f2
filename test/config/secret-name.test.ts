import { renderSecretName } from '../../src/config';

describe('renderSecretName', () => {
  it('replaces {mailboxId} with the mailbox id', () => {
    expect(renderSecretName('sendmux/mailboxes/{mailboxId}', 'mbx_01HZX3')).toBe('sendmux/mailboxes/mbx_01HZX3');
  });

  it('refuses a template using {mailboxId} more than once', () => {
    expect(() => renderSecretName('team/{mailboxId}/key-{mailboxId}', 'm-1')).toThrow(/appears 2 times/);
  });

  it.each([
    ['../other', 'a path traversal'],
    ['mbx 1', 'a space'],
    ['', 'an empty id'],
    ['a'.repeat(256), 'more than 255 characters'],
    ['mbx/1', 'a slash that would address another secret'],
  ])('refuses a mailbox id with %s (%s)', (mailboxId) => {
    expect(() => renderSecretName('sendmux/{mailboxId}', mailboxId)).toThrow(/mailbox id/);
  });

  it('refuses a template without {mailboxId}', () => {
    expect(() => renderSecretName('sendmux/shared', 'mbx_1')).toThrow(/\{mailboxId\}/);
  });

  it('refuses a template with characters Secrets Manager does not allow', () => {
    expect(() => renderSecretName('sendmux mailboxes/{mailboxId}', 'mbx_1')).toThrow(/template/);
  });

  it('refuses a template that could render a name longer than 512 characters', () => {
    expect(() => renderSecretName(`${'p'.repeat(257)}/{mailboxId}`, 'mbx_1')).toThrow(/512/);
  });

  it('accepts the longest template that fits a 255-character mailbox id', () => {
    const template = `${'p'.repeat(256)}/{mailboxId}`;
    expect(renderSecretName(template, 'm'.repeat(255))).toHaveLength(512);
  });
});
