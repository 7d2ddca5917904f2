import { createLogger, resolveLogFormat } from '../../src/logging/logger';
import { parseEnv } from '../../src/config/env';
import { duplicateKeys } from '../support/duplicate-keys';
import { runCaptured } from '../cli/capture';
import { REPO_ROOT } from '../support/rotator-process';

const MINTED_SECRET = 'smx_mbx_PLAINTEXTsecretQWERTY123456';

function captured(format?: 'json' | 'pretty') {
  const chunks: string[] = [];
  const logger = createLogger({ format, colorize: false, destination: { write: (line: string) => void chunks.push(line) } });
  return { logger, text: () => chunks.join('') };
}

describe('LOG_FORMAT', () => {
  it('json (the default) writes one JSON object a line', () => {
    const { logger, text } = captured();
    logger.child({ component: 'worker' }).info({ mailboxId: 'mbx_1' }, 'rotation rotated');
    const line = JSON.parse(text().trim()) as Record<string, unknown>;
    expect(line).toEqual(expect.objectContaining({ level: 'info', component: 'worker', mailboxId: 'mbx_1', msg: 'rotation rotated' }));
  });

  it('pretty writes one readable line an entry: time, level, [component] message, then the fields, secrets redacted', () => {
    const { logger, text } = captured('pretty');
    logger.child({ component: 'worker' }).warn({ mailboxId: 'mbx_1', secret: MINTED_SECRET }, 'rotation retrying');
    const output = text();
    expect(output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: \[worker\] rotation retrying \{"mailboxId":"mbx_1","secret":"\[REDACTED\]"\}\n$/);
    expect(output).not.toContain(MINTED_SECRET);
  });

  it.each([
    [undefined, true, true, 'pretty'],
    [undefined, true, false, 'json'],
    [undefined, false, true, 'json'],
    ['json', true, true, 'json'],
    ['pretty', false, false, 'pretty'],
  ] as const)('configured %s, interactive default %s, stdout a terminal %s: %s', (configured, interactiveDefault, tty, expected) => {
    expect(resolveLogFormat(configured, interactiveDefault, tty)).toBe(expected);
  });

  it('is validated: any other value is refused with the field and the choices', () => {
    const result = parseEnv({ SENDMUX_API_KEY: 'smx_root_abcdefghijklmnop', LOG_FORMAT: 'text' }, '/config.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([expect.objectContaining({ field: 'LOG_FORMAT', value: 'text', expected: expect.stringContaining('json') })]);
    expect(result.problems[0]!.expected).toContain('pretty');
  });

  it.each([['start'], ['demo']])('rotator %s refuses a bad LOG_FORMAT before starting anything, naming the variable and the choices', async (command) => {
    const run = await runCaptured([command], { env: { SENDMUX_API_KEY: 'smx_root_abcdefghijklmnop', LOG_FORMAT: 'text' }, cwd: REPO_ROOT });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/LOG_FORMAT.*text/);
    expect(run.stderr).toMatch(/json .*pretty/);
    expect(run.stdout).toBe('');
  });

  it('accepts json and pretty in any case', () => {
    const result = parseEnv({ SENDMUX_API_KEY: 'smx_root_abcdefghijklmnop', LOG_FORMAT: 'Pretty' }, '/config.yaml');
    expect(result.ok && result.env.logFormat).toBe('pretty');
  });
});

describe('duplicateKeys (the log-line check JSON.parse cannot do)', () => {
  it('finds a key a child logger binds twice, as pino writes it', () => {
    const { logger, text } = captured();
    logger.child({ component: 'scheduler' }).child({ component: 'scheduler' }).info('tick');
    expect(duplicateKeys(text().trim())).toEqual(['$.component']);
  });

  it('finds repeated keys at any depth and names where', () => {
    expect(duplicateKeys('{"a":{"b":1,"b":2},"c":[{"d":1,"d":1}],"e":"{\\"x\\":1,\\"x\\":2}"}')).toEqual(['$.a.b', '$.c[0].d']);
  });

  it('passes a line whose keys are distinct per object (the same key in sibling objects is fine)', () => {
    expect(duplicateKeys('{"a":{"id":1},"b":{"id":2},"id":3,"s":"a\\"b","n":-1.5e3,"t":true,"z":null,"l":[]}')).toEqual([]);
  });

  it('throws on text that is not JSON', () => {
    expect(() => duplicateKeys('{"a":1')).toThrow(/not JSON/);
  });
});
