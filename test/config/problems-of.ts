import { ConfigError, type ConfigProblem, parseSettings } from '../../src/config';
import { CONFIG_PATH, VALID_ENV } from './fixtures';

/** The problems parseSettings reports; fails the test if it accepts the input or throws anything else. */
export function problemsOf(yamlText: string, env: NodeJS.ProcessEnv = VALID_ENV): ConfigProblem[] {
  return configErrorOf(yamlText, env).problems;
}

export function configErrorOf(yamlText: string, env: NodeJS.ProcessEnv = VALID_ENV): ConfigError {
  try {
    parseSettings(yamlText, env, CONFIG_PATH);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the settings were accepted');
}

export function fieldsOf(problems: ConfigProblem[]): string[] {
  return problems.map((problem) => problem.field);
}
