export type {
  ApiRole,
  ApiSettings,
  NamedApiToken,
  LogFormat,
  LogLevel,
  RedisHostPort,
  RedisTarget,
  RateLimitSettings,
  RetentionSettings,
  RotationGroup,
  RotationSettings,
  RotatorEnv,
  RotatorFileConfig,
  RotatorSettings,
} from './types';
export { ConfigError, formatConfigProblems, describeProblemCount, type ConfigProblem } from './problems';
export { loadSettings, parseSettings, resolveConfigPath, DEFAULT_CONFIG_PATH, EXAMPLE_CONFIG_PATH, type ResolvedConfigPath } from './load';
export { maskSettingsForDisplay } from './display';
export { renderSecretName, MAILBOX_ID_PATTERN } from './secret-name';
export { parseDuration } from './duration';
export { ENV_VARS, type EnvVarDoc } from './env';
export { describeRedisTarget, redisTargetFromUrl } from './redis-target';
