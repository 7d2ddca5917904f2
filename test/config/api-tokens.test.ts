import { maskSettingsForDisplay, parseSettings } from '../../src/config';
import { apiTokenProblem, estimateTokenBits } from '../../src/config/token-strength';
import { CONFIG_PATH, MINIMAL_YAML, VALID_ENV } from './fixtures';
import { problemsOf } from './problems-of';

const HEX_32_BYTES = '3f9c1a7be40d5c2819f6a03e7b5d48c1e2a9f07b6c3d1e5a8b4f2c0d9e7a6b51';
const HEX_16_BYTES = '9b1e4c7a0f3d6e2b8a5c1f9e7d3b0a64';
const VIEWER = 'viewer-7c1e9a3f5b2d8e4c6a0f1b3d5e7c9a2f';

const TOKENS_YAML = `${MINIMAL_YAML}api:
  tokens:
    - { name: grafana, role: viewer, tokenEnv: ROTATOR_TOKEN_GRAFANA }
    - { name: oncall, role: operator, tokenEnv: ROTATOR_TOKEN_ONCALL }
  failedAuth: { max: 5, window: 30s }
`;

describe('API token strength', () => {
  it.each([
    ['aaaaaaaaaaaaaaaa', 'a single repeated character'],
    ['abababababababababababababababab', 'two characters repeated'],
    ['abcdefghijklmnop', '16 lower-case letters (about 82 bits)'],
    ['1234567890123456789012345678', '28 digits (about 93 bits)'],
    ['short', 'fewer than 16 characters'],
  ])('refuses ROTATOR_API_TOKEN=%j (%s) at start-up and says how to make one', (token) => {
    const problems = problemsOf(MINIMAL_YAML, { ...VALID_ENV, ROTATOR_API_TOKEN: token });
    expect(problems.map((p) => p.field)).toEqual(['ROTATOR_API_TOKEN']);
    expect(problems[0]?.expected).toContain('openssl rand -hex 32');
    expect(JSON.stringify(problems)).not.toContain(token);
  });

  it.each([
    [HEX_32_BYTES, '`openssl rand -hex 32`'],
    [HEX_16_BYTES, '`openssl rand -hex 16` (exactly 128 bits)'],
    ['q7Zk2Lp9Xv4Rm8Tn3Wb6Yc1Hd5Jf0Gs', '32 random alphanumerics'],
  ])('accepts %j (%s)', (token) => {
    expect(parseSettings(MINIMAL_YAML, { ...VALID_ENV, ROTATOR_API_TOKEN: token }, CONFIG_PATH).env.apiToken).toBe(token);
  });

  it('estimates bits from length and the smallest alphabet that holds the token', () => {
    expect(estimateTokenBits(HEX_16_BYTES)).toBe(128);
    expect(estimateTokenBits(HEX_32_BYTES)).toBe(256);
    expect(apiTokenProblem('aaaaaaaaaaaaaaaa')).toMatch(/1 distinct character/);
  });
});

describe('named tokens in api.tokens', () => {
  const env = { ...VALID_ENV, ROTATOR_TOKEN_GRAFANA: VIEWER, ROTATOR_TOKEN_ONCALL: HEX_32_BYTES };

  it('reads each token from its variable, with its name and role, and the failed-authentication limit', () => {
    const settings = parseSettings(TOKENS_YAML, env, CONFIG_PATH);
    expect(settings.env.apiTokens).toEqual([
      { name: 'grafana', role: 'viewer', token: VIEWER },
      { name: 'oncall', role: 'operator', token: HEX_32_BYTES },
    ]);
    expect(settings.file.api?.failedAuth).toEqual({ max: 5, windowMs: 30_000 });
  });

  it('shows names and roles in config check, never the tokens', () => {
    const shown = JSON.stringify(maskSettingsForDisplay(parseSettings(TOKENS_YAML, env, CONFIG_PATH)));
    expect(shown).toContain('"name":"grafana"');
    expect(shown).not.toContain(VIEWER);
    expect(shown).not.toContain(HEX_32_BYTES);
  });

  it('refuses a token whose variable is unset, naming the variable', () => {
    const problems = problemsOf(TOKENS_YAML, { ...env, ROTATOR_TOKEN_GRAFANA: '' });
    expect(problems).toEqual([expect.objectContaining({ field: 'ROTATOR_TOKEN_GRAFANA', source: 'env' })]);
    expect(problems[0]?.expected).toContain('api.tokens[0] (grafana)');
  });

  it('refuses a weak named token', () => {
    const problems = problemsOf(TOKENS_YAML, { ...env, ROTATOR_TOKEN_GRAFANA: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' });
    expect(problems.map((p) => p.field)).toEqual(['ROTATOR_TOKEN_GRAFANA']);
    expect(problems[0]?.expected).toContain('openssl rand -hex 32');
  });

  it('refuses two names sharing one token (the audit could not tell them apart), ROTATOR_API_TOKEN included', () => {
    const problems = problemsOf(TOKENS_YAML, { ...env, ROTATOR_API_TOKEN: VIEWER });
    expect(problems.map((p) => p.field)).toEqual(['ROTATOR_TOKEN_GRAFANA']);
    expect(problems[0]?.expected).toContain('ROTATOR_API_TOKEN');
  });

  it.each([
    ['an unknown role', '{ name: a, role: admin, tokenEnv: X }', 'api.tokens[0].role'],
    ['the reserved name "default"', '{ name: default, role: viewer, tokenEnv: X }', 'api.tokens[0].name'],
    ['a token written in the file', '{ name: a, role: viewer, token: abc }', 'api.tokens[0].token'],
  ])('refuses %s', (_what, entry, field) => {
    const problems = problemsOf(`${MINIMAL_YAML}api:\n  tokens:\n    - ${entry}\n`, { ...VALID_ENV, X: HEX_32_BYTES });
    expect(problems.map((p) => p.field)).toContain(field);
  });

  it('refuses the same name twice', () => {
    const yaml = `${MINIMAL_YAML}api:\n  tokens:\n    - { name: a, role: viewer, tokenEnv: X }\n    - { name: a, role: operator, tokenEnv: Y }\n`;
    expect(problemsOf(yaml, { ...VALID_ENV, X: HEX_32_BYTES, Y: VIEWER }).map((p) => p.field)).toEqual(['api.tokens[1].name']);
  });
});
