import fc from 'fast-check';
import { SCRUBBED, scrubError, scrubSecrets } from '../../src/security/scrub-secrets';

const MAILBOX_KEY = 'smx_mbx_0123456789abcdefghijklmnopqrstuvwxyzAB';
const ROOT_KEY = 'smx_root_sandbox_local_only';

describe('scrubSecrets', () => {
  it('removes every Sendmux-key-shaped run, mailbox and root keys alike', () => {
    expect(scrubSecrets(`Value '{"api_key":"${MAILBOX_KEY}"}' with ${ROOT_KEY}.`)).toBe(`Value '{"api_key":"${SCRUBBED}"}' with ${SCRUBBED}`);
  });

  it('keeps the 12-character key_prefix hint and key ids readable', () => {
    expect(scrubSecrets('prefix smx_mbx_AB12, key smx_key_1')).toBe('prefix smx_mbx_AB12, key smx_key_1');
  });

  it('removes the exact values it is given, whatever their shape', () => {
    expect(scrubSecrets('password=hunter2-imap-Secret! end', ['hunter2-imap-Secret!'])).toBe(`password=${SCRUBBED} end`);
  });

  it('ignores known values too short to be secrets, and undefined ones', () => {
    expect(scrubSecrets('a b c', ['a', undefined])).toBe('a b c');
  });

  it('never leaves a known secret or a key anywhere in arbitrary text', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.stringMatching(/^[A-Za-z0-9]{20,60}$/), fc.string({ minLength: 8 }), (before, after, random, known) => {
        const key = `smx_mbx_${random}`;
        const out = scrubSecrets(`${before}${key}${after}${known}${before}`, [known]);
        expect(out).not.toContain(key);
        expect(out).not.toContain(known);
      }),
    );
  });
});

describe('scrubError', () => {
  it('scrubs message, stack and own string fields of an error and its causes, in place', () => {
    const cause = new Error(`upstream said ${MAILBOX_KEY}`);
    const error = Object.assign(new Error(`wrapped: ${MAILBOX_KEY}`, { cause }), { detail: `x ${MAILBOX_KEY}` });
    expect(scrubError(error)).toBe(error);
    const text = `${error.message}${error.stack}${error.detail}${cause.message}${cause.stack}`;
    expect(text).not.toContain(MAILBOX_KEY);
    expect(error.message).toBe(`wrapped: ${SCRUBBED}`);
  });

  it('turns a thrown non-error into a scrubbed Error', () => {
    expect(scrubError(`boom ${MAILBOX_KEY}`).message).toBe(`boom ${SCRUBBED}`);
  });
});
