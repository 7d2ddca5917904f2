import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, parseSettings } from '../../src/config';
import { CONFIG_PATH, VALID_ENV } from './fixtures';

/**
 * Whatever text or environment it is given, parseSettings either returns settings or throws a
 * ConfigError whose problems each name a field and what was expected. Any other exception
 * (a TypeError deep in validation, a stack overflow on a cyclic alias…) is a bug.
 */
function parsesOrReportsProblems(yamlText: string, env: NodeJS.ProcessEnv): boolean {
  try {
    const settings = parseSettings(yamlText, env, CONFIG_PATH);
    return typeof settings.file.schedule === 'string' && typeof settings.env.redis.mode === 'string';
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const named = (text: unknown): boolean => typeof text === 'string' && text.trim() !== '';
    return error.problems.length >= 1 && error.problems.every((problem) => named(problem.field) && named(problem.expected));
  }
}

const KNOWN_KEYS = ['mailboxes', 'schedule', 'timezone', 'secretName', 'revokePreviousAfter', 'minRotationInterval', 'maxKeyAge', 'reconcileInterval', 'kmsKeyId', 'tags', 'groups', 'rotation', 'rateLimit', 'sendmux', 'retention', 'alerts'];
const SECTION_KEYS = ['attempts', 'backoffInitialDelay', 'backoffMaxDelay', 'concurrency', 'onLimitExceeded', 'appNamePrefix', 'max', 'duration', 'timeout', 'completedAge', 'completedCount', 'failedAge', 'webhookUrl', 'name', 'emailGlob'];

const yamlFragment = fc.oneof(
  fc.constantFrom(...KNOWN_KEYS, ...SECTION_KEYS).map((key) => `${key}:`),
  fc.constantFrom(' all', ' "0 3 * * 1"', ' 24h', ' never', ' 0s', ' UTC', ' [a, b]', ' {}', ' ~', ' 8', ' -1', ' 1e400', ' .nan'),
  fc.constantFrom('\n', '\n  ', '\n- ', '- ', ' ', '\t', '[', ']', '{', '}', ',', ':', '"', "'", '#', '&a ', '*a', '!!binary ', '!!str ', '<<: *a', '---\n', '...', '|\n  ', '? '),
  fc.string({ maxLength: 8 }),
);
const yamlishText = fc.array(yamlFragment, { maxLength: 40 }).map((parts) => parts.join(''));

const leafValue = fc.oneof(
  fc.constantFrom('all', '0 3 * * 1', '24h', 'never', 'UTC', 'sendmux/{mailboxId}', 'fail', 'https://hooks.example.com/x', 'mbx_1'),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const settingsLikeObject = fc.letrec((tie) => ({
  value: fc.oneof({ maxDepth: 3, depthIdentifier: 'settings' }, leafValue, fc.array(tie('value'), { maxLength: 3 }), tie('object')),
  object: fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_KEYS, ...SECTION_KEYS), fc.string({ maxLength: 10 })), tie('value'), {
    maxKeys: 6,
    depthIdentifier: 'settings',
  }),
})).object;

const ENV_NAMES = ['SENDMUX_API_KEY', 'SENDMUX_API_KEY_SECRET_ID', 'REDIS_URL', 'SENDMUX_API_URL', 'AWS_REGION', 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'ROTATOR_QUEUE_PREFIX', 'LOG_LEVEL', 'PORT', 'HOST', 'ROTATOR_API_TOKEN'];
const arbitraryEnv = fc.oneof(
  fc.constant(VALID_ENV),
  fc.dictionary(fc.constantFrom(...ENV_NAMES), fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('smx_root_x', 'redis://:p@h:1/0', '0', '65535', 'info'))),
);

describe('parseSettings on arbitrary input', () => {
  it('returns settings or a ConfigError with problems for arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), arbitraryEnv, parsesOrReportsProblems), { numRuns: 2000 });
  });

  it('returns settings or a ConfigError with problems for YAML-like text', () => {
    fc.assert(fc.property(yamlishText, arbitraryEnv, parsesOrReportsProblems), { numRuns: 2000 });
  });

  it('returns settings or a ConfigError with problems for arbitrary objects dumped as YAML', () => {
    fc.assert(
      fc.property(settingsLikeObject, arbitraryEnv, (object, env) => parsesOrReportsProblems(stringify(object), env)),
      { numRuns: 1500 },
    );
  });

  it('returns settings for valid settings with arbitrary extra whitespace and comments', () => {
    fc.assert(
      fc.property(fc.constantFrom('', ' ', '  # note'), fc.constantFrom('', '\n', '\n# trailing\n'), (pad, tail) => {
        const settings = parseSettings(`mailboxes: all${pad}\nschedule: "0 3 * * 1"${pad}${tail}`, VALID_ENV, CONFIG_PATH);
        expect(settings.file.mailboxes).toBe('all');
      }),
    );
  });
});
