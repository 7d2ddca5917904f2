import { maskSettingsForDisplay, parseSettings, describeRedisTarget, redisTargetFromUrl } from '../../src/config';
import { maskUrlCredentials } from '../../src/config/masking';
import { RedisUnreachableError } from '../../src/queue/redis-connection';
import { CONFIG_PATH, MINIMAL_YAML, VALID_ENV } from './fixtures';
import { problemsOf } from './problems-of';

const PASSWORD = 'QueryPassw0rdLEAK';

describe('URLs, masked wherever they are printed', () => {
  it.each([
    [`redis://redis.internal:6379/0?password=${PASSWORD}`, 'redis://redis.internal:6379/0?password=****'],
    [`redis://redis.internal:6379?db=1&pass=${PASSWORD}`, 'redis://redis.internal:6379?db=1&pass=****'],
    [`rediss://app:${PASSWORD}@redis.internal:6380?access_token=${PASSWORD}`, 'rediss://app:****@redis.internal:6380?access_token=****'],
    [`https://hooks.example.com/x?X-Amz-Signature=${PASSWORD}&page=2`, 'https://hooks.example.com/x?X-Amz-Signature=****&page=2'],
    [`https://example.com/?apikey=${PASSWORD}#${PASSWORD}`, 'https://example.com/?apikey=****#****'],
    [`not a url?secret=${PASSWORD}`, 'not a url?secret=****'],
  ])('masks %s', (url, masked) => {
    expect(maskUrlCredentials(url)).toBe(masked);
  });

  it('leaves a URL without credentials as it is', () => {
    expect(maskUrlCredentials('redis://127.0.0.1:6379/2?family=6')).toBe('redis://127.0.0.1:6379/2?family=6');
  });

  it('masks a secret-looking parameter of REDIS_URL\'s query in config check (a ?password=… itself is refused: it would not be sent)', () => {
    const settings = parseSettings(MINIMAL_YAML, { ...VALID_ENV, REDIS_URL: `redis://redis.internal:6379?token=${PASSWORD}` }, CONFIG_PATH);
    const shown = JSON.stringify(maskSettingsForDisplay(settings));
    expect(shown).not.toContain(PASSWORD);
    expect(shown).toContain('redis://redis.internal:6379?token=****');
  });

  it('masks it in a problem report about REDIS_URL', () => {
    const problems = problemsOf(MINIMAL_YAML, { ...VALID_ENV, REDIS_URL: `redis://redis.internal:6379/db?password=${PASSWORD}` });
    expect(problems.map((p) => p.field)).toEqual(['REDIS_URL']);
    expect(JSON.stringify(problems)).not.toContain(PASSWORD);
  });

  it('masks it in connection errors and log descriptions of the target', () => {
    const target = redisTargetFromUrl(`redis://:${PASSWORD}@redis.internal:6379?password=${PASSWORD}`);
    expect(describeRedisTarget(target)).not.toContain(PASSWORD);
    expect(new RedisUnreachableError(target, 'connect ECONNREFUSED').message).toBe(
      'cannot reach Redis at redis://:****@redis.internal:6379?password=**** (REDIS_URL): connect ECONNREFUSED',
    );
  });
});
