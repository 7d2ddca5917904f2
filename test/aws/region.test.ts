import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AwsRegionInvalidError, AwsRegionMissingError, resolveAwsRegion } from '../../src/aws/region';

/** A HOME of its own with the given ~/.aws/config (and credentials) content, or none. */
function awsHome(files: { config?: string; credentials?: string } = {}): { HOME: string; configFile: string } {
  const home = mkdtempSync(path.join(tmpdir(), 'rotator-aws-home-'));
  const dir = path.join(home, '.aws');
  const configFile = path.join(dir, 'config');
  if (files.config !== undefined || files.credentials !== undefined) {
    mkdirSync(dir);
    if (files.config !== undefined) writeFileSync(configFile, files.config);
    if (files.credentials !== undefined) writeFileSync(path.join(dir, 'credentials'), files.credentials);
  }
  return { HOME: home, configFile };
}

const CONFIG = '[default]\nregion = eu-central-1\n\n[profile ops]\nregion = ap-south-1\n';

describe('resolveAwsRegion', () => {
  it('takes AWS_REGION first, over AWS_DEFAULT_REGION and the profile', async () => {
    const { HOME } = awsHome({ config: CONFIG });
    expect(await resolveAwsRegion({ HOME, AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-west-1' })).toEqual({ region: 'us-west-2', source: 'AWS_REGION' });
  });

  it('honours AWS_DEFAULT_REGION when AWS_REGION is unset, over the profile', async () => {
    const { HOME } = awsHome({ config: CONFIG });
    expect(await resolveAwsRegion({ HOME, AWS_DEFAULT_REGION: 'eu-west-1' })).toEqual({ region: 'eu-west-1', source: 'AWS_DEFAULT_REGION' });
  });

  it('reads the default profile of ~/.aws/config when no variable names a region', async () => {
    const { HOME, configFile } = awsHome({ config: CONFIG });
    expect(await resolveAwsRegion({ HOME })).toEqual({ region: 'eu-central-1', source: `profile "default" of ${configFile}` });
  });

  it('reads the profile AWS_PROFILE names from the file AWS_CONFIG_FILE names', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rotator-aws-config-'));
    const file = path.join(dir, 'my-config');
    writeFileSync(file, CONFIG);
    const { HOME } = awsHome();
    expect(await resolveAwsRegion({ HOME, AWS_CONFIG_FILE: file, AWS_PROFILE: 'ops' })).toEqual({ region: 'ap-south-1', source: `profile "ops" of ${file}` });
  });

  it('reads a region the profile has only in the shared credentials file, as the SDK does', async () => {
    const { HOME } = awsHome({ credentials: '[default]\naws_access_key_id = x\nregion = sa-east-1\n' });
    expect((await resolveAwsRegion({ HOME })).region).toBe('sa-east-1');
  });

  it('re-reads the file on every call (an edited config is seen without a restart of the caller)', async () => {
    const { HOME, configFile } = awsHome({ config: CONFIG });
    expect((await resolveAwsRegion({ HOME })).region).toBe('eu-central-1');
    writeFileSync(configFile, '[default]\nregion = us-east-2\n');
    expect((await resolveAwsRegion({ HOME })).region).toBe('us-east-2');
  });

  it('refuses, naming every variable that could give one, when nothing yields a region (no us-east-1 default)', async () => {
    const { HOME, configFile } = awsHome();
    const error = await resolveAwsRegion({ HOME }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AwsRegionMissingError);
    expect((error as Error).message).toBe(
      `no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or a region for profile "default" in ${configFile} ` +
        '(AWS_PROFILE picks the profile, AWS_CONFIG_FILE the file). Secrets would otherwise be written to a region nobody chose.',
    );
  });

  it('refuses a profile that exists without a region, naming that profile', async () => {
    const { HOME } = awsHome({ config: '[profile ops]\noutput = json\n' });
    await expect(resolveAwsRegion({ HOME, AWS_PROFILE: 'ops' })).rejects.toThrow('a region for profile "ops"');
  });

  it('refuses a value that is not a region, naming where it came from', async () => {
    const { HOME, configFile } = awsHome({ config: '[default]\nregion = Frankfurt\n' });
    await expect(resolveAwsRegion({ HOME, AWS_DEFAULT_REGION: 'eu west 1' })).rejects.toThrow(new AwsRegionInvalidError('AWS_DEFAULT_REGION', 'eu west 1'));
    await expect(resolveAwsRegion({ HOME })).rejects.toThrow(`profile "default" of ${configFile} gives the AWS region "Frankfurt"`);
  });
});
