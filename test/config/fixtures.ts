/** Shared inputs for the config tests. Fake secrets only; each is distinctive so a leak is easy to spot. */
export const FAKE_ROOT_KEY = 'smx_root_FAKEROOTKEY0123456789';
export const FAKE_API_TOKEN = 'fake-api-token-0123456789abcdef';

export const VALID_ENV: NodeJS.ProcessEnv = { SENDMUX_API_KEY: FAKE_ROOT_KEY, AWS_REGION: 'us-east-1' };

export const MINIMAL_YAML = 'mailboxes: all\nschedule: "0 3 * * 1"\n';

export const CONFIG_PATH = '/etc/rotator/rotator.yaml';
