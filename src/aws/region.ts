import os from 'node:os';
import path from 'node:path';
import { loadConfig, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';

/** The AWS region the rotator will use, and what set it (for `config check` and the refusal). */
export interface ResolvedAwsRegion {
  region: string;
  /** `AWS_REGION`, `AWS_DEFAULT_REGION`, or `profile "<name>" of <config file>` (the shared config/credentials files). */
  source: string;
}

/** What `resolveAwsRegion` reads: the variables, and HOME for the default file locations. */
export type RegionEnv = Readonly<Record<string, string | undefined>>;

/** Thrown when no source yields a region; the message names every variable that could. */
export class AwsRegionMissingError extends Error {
  readonly code = 'aws_region_missing';
  constructor(readonly profile: string, readonly configFile: string) {
    super(
      `no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or a region for profile "${profile}" in ${configFile} ` +
        '(AWS_PROFILE picks the profile, AWS_CONFIG_FILE the file). Secrets would otherwise be written to a region nobody chose.',
    );
    this.name = 'AwsRegionMissingError';
  }
}

/** Thrown when a source yields something that is not a region name; names the source. */
export class AwsRegionInvalidError extends Error {
  readonly code = 'aws_region_invalid';
  constructor(readonly source: string, readonly value: string) {
    super(`${source} gives the AWS region "${value}", which is not a region name like "us-east-1" or "eu-west-2"`);
    this.name = 'AwsRegionInvalidError';
  }
}

const REGION_PATTERN = /^[a-z]{2}(-[a-z0-9]+)+-\d{1,2}$/;

/** The shared config and credentials files and the profile, as the AWS SDK locates them. */
export function sharedConfigLocation(env: RegionEnv): { profile: string; configFile: string; credentialsFile: string } {
  const home = env.HOME || os.homedir();
  return {
    profile: env.AWS_PROFILE || 'default',
    configFile: env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config'),
    credentialsFile: env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials'),
  };
}

/**
 * The region, in the AWS CLI's order: `AWS_REGION`, then `AWS_DEFAULT_REGION` (which the JS SDK
 * v3 does not read by itself, but the AWS CLI and SDKs for other languages do, so operators set
 * it), then the `region` of the profile (`AWS_PROFILE`, else `default`) in the shared config file
 * (`AWS_CONFIG_FILE`, else ~/.aws/config) or credentials file, read by the SDK's own loader
 * (`loadConfig` with its `NODE_REGION_CONFIG_OPTIONS` file selector). Reads `env`, not
 * process.env, so a CLI run with an env file and tests see the same thing.
 * Throws AwsRegionMissingError when nothing yields a region, AwsRegionInvalidError when a
 * source yields something else. Never falls back to a default region.
 */
export async function resolveAwsRegion(env: RegionEnv): Promise<ResolvedAwsRegion> {
  for (const variable of ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const) {
    const value = env[variable]?.trim();
    if (value) return checked(value, variable);
  }
  const where = sharedConfigLocation(env);
  const fromProfile = await loadConfig<string | undefined>(
    {
      // The variables were read above, from `env`; the SDK's env selector would read process.env.
      environmentVariableSelector: () => undefined,
      configFileSelector: NODE_REGION_CONFIG_OPTIONS.configFileSelector,
      default: () => undefined,
    },
    { profile: where.profile, filepath: where.credentialsFile, configFilepath: where.configFile, ignoreCache: true },
  )();
  if (typeof fromProfile === 'string' && fromProfile.trim() !== '') {
    return checked(fromProfile.trim(), `profile "${where.profile}" of ${where.configFile}`);
  }
  throw new AwsRegionMissingError(where.profile, where.configFile);
}

function checked(region: string, source: string): ResolvedAwsRegion {
  if (!REGION_PATTERN.test(region)) throw new AwsRegionInvalidError(source, region);
  return { region, source };
}
