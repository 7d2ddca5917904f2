import { InvalidSendmuxIdError, InvalidSendmuxInputError } from '../../src/sendmux/errors';
import { assertSendmuxId, isSendmuxId } from '../../src/sendmux/ids';

describe('Sendmux id validation', () => {
  it.each([['mbx_clxyz123'], ['smx_key-01'], ['a'], ['Z'.repeat(255)], ['rot-mbx_1-20260102T0300Z']])(
    'accepts %j',
    (value) => {
      expect(isSendmuxId(value)).toBe(true);
      expect(() => assertSendmuxId('mailboxId', value)).not.toThrow();
    },
  );

  it.each([
    [''],
    ['x'.repeat(256)],
    ['mbx/1'],
    ['..'],
    ['mbx%2F1'],
    ['mbx?x=1'],
    ['mbx#1'],
    ['mbx 1'],
    ['mbx\n1'],
    ['mbx:1'],
    ['mbx_ä'],
  ])('rejects %j', (value) => {
    expect(isSendmuxId(value)).toBe(false);
    expect(() => assertSendmuxId('mailboxId', value)).toThrow(InvalidSendmuxIdError);
  });

  it.each([[undefined], [null], [42], [{}]])('rejects the non-string %p', (value) => {
    expect(isSendmuxId(value)).toBe(false);
    expect(() => assertSendmuxId('keyId', value)).toThrow(/keyId must be a string of 1–255 characters/);
  });

  it('names the field, the value, the offending character and the allowed alphabet', () => {
    let thrown: unknown;
    try {
      assertSendmuxId('keyId', 'smx/../x');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidSendmuxIdError);
    expect(thrown).toBeInstanceOf(InvalidSendmuxInputError);
    expect(thrown).toMatchObject({ name: 'InvalidSendmuxIdError', field: 'keyId', value: 'smx/../x' });
    expect((thrown as Error).message).toBe(
      'keyId "smx/../x" contains the character "/"; it must be 1–255 characters, each a letter A–Z/a–z, a digit 0–9, "_" or "-"',
    );
  });

  it('reports the length of an over-long id instead of quoting all of it', () => {
    expect(() => assertSendmuxId('idempotencyKey', 'k'.repeat(300))).toThrow(/idempotencyKey is 300 characters long/);
  });
});
