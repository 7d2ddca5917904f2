import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSettings, ENV_VARS } from '../../src/config';
import { isLoopbackHost } from '../../src/http/auth';
import { API_BASE_PATH } from '../../standins/sendmux/operations';
import { sandboxOptionsFromEnv } from '../../standins/sendmux/env';
import {
  COMPOSE_PATH,
  DOCKERFILE_PATH,
  REPO_ROOT,
  commandOf,
  composeDurationMs,
  execForm,
  instructionsOf,
  interpolate,
  parseBindMount,
  parseCompose,
  parseDockerfile,
  parseHealthcheck,
  parsePortMapping,
  serviceEnv,
  uncommentSplitRolesExample,
  MissingComposeVariableError,
  type ComposeService,
} from './deploy-files';

/**
 * docker-compose.yml, read as the Compose specification defines it (no Docker engine here): the
 * local stack must come up healthy in dependency order, with the rotator wired through the same
 * environment variables the code reads.
 */

const composeText = readFileSync(COMPOSE_PATH, 'utf8');
const compose = parseCompose(composeText);
const services = compose.services;
/** `docker compose up` from a shell that sets the two secrets the file requires, as its header says. */
const SHELL: Record<string, string | undefined> = {
  ROTATOR_API_TOKEN: 'c3f1a9e07b5d2846e1f0a3c7b9d5e2f48a6c0e1b3d5f7a9c2e4b6d8f0a1c3e5b',
  REDIS_PASSWORD: '7e2b9d4f1a6c3e8b0d5f2a7c4e9b1d6f3a8c5e0b7d2f9a4c1e6b3d8f5a0c7e2b',
};

function service(name: string): ComposeService {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

const rotator = service('rotator');
const rotatorEnv = serviceEnv(rotator, SHELL);
const sandbox = service('sendmux-sandbox');
const sandboxEnv = serviceEnv(sandbox, SHELL);

const dockerStages = parseDockerfile(readFileSync(DOCKERFILE_PATH, 'utf8'));
const finalStage = dockerStages.at(-1)!;
const imageCmd = execForm(instructionsOf(finalStage, 'CMD').at(-1)!.args);
const imageHealthcheck = parseHealthcheck(instructionsOf(finalStage, 'HEALTHCHECK').at(-1)!.args).command;

/** Variables the AWS SDK's default credential chain and configuration read by themselves. */
const AWS_SDK_VARS = new Set([
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_DEFAULT_REGION',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ENDPOINT_URL',
]);

function healthcheckTest(svc: ComposeService): string[] {
  const test = svc.healthcheck?.test;
  if (!Array.isArray(test)) throw new Error('expected a healthcheck test in list form');
  return test;
}

describe('docker-compose.yml', () => {
  it('defines redis, localstack, the Sendmux sandbox and the rotator, without the obsolete version key', () => {
    expect(Object.keys(services).sort()).toEqual(['localstack', 'redis', 'rotator', 'sendmux-sandbox']);
    expect(compose.version).toBeUndefined();
  });

  /** The redis service's command line: its exec form, or the script of `sh -c`, as the shell receives it. */
  function redisCommandLine(): string {
    const command = commandOf(service('redis'));
    return command[0] === 'sh' && command[1] === '-c' ? interpolate(command[2]!, SHELL) : command.join(' ');
  }

  it('runs Redis 7 with noeviction and append-only persistence on a named volume, as BullMQ needs', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7(\b|$|@sha256:)/);
    expect(redisCommandLine()).toMatch(/^exec redis-server /);
    expect(redisCommandLine()).toContain('--maxmemory-policy noeviction');
    expect(redisCommandLine()).toContain('--appendonly yes');
    const dataVolume = (redis.volumes ?? []).map(String).find((spec) => spec.endsWith(':/data'));
    expect(dataVolume).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(dataVolume!.split(':')[0]);
  });

  it('checks Redis health with redis-cli ping', () => {
    expect(healthcheckTest(service('redis')).join(' ')).toContain('redis-cli ping');
  });

  it('requires a Redis password from the shell, given to the server from its environment, and the same to the rotator', () => {
    const redisEnv = serviceEnv(service('redis'), SHELL);
    // redis-cli (the healthcheck) reads REDISCLI_AUTH; the server takes the same variable.
    expect(redisEnv.REDISCLI_AUTH).toBe(SHELL.REDIS_PASSWORD);
    expect(redisCommandLine()).toContain('--requirepass "$REDISCLI_AUTH"');
    expect(composeText).not.toContain(SHELL.REDIS_PASSWORD);
    expect(rotatorEnv.REDIS_PASSWORD).toBe(SHELL.REDIS_PASSWORD);
    expect(new URL(rotatorEnv.REDIS_URL!).password).toBe('');
  });

  it.each(['REDIS_PASSWORD', 'ROTATOR_API_TOKEN'])('refuses to start when the shell does not set %s, and says how to make one', (name) => {
    const shell = { ...SHELL, [name]: undefined };
    const attempt = () => {
      serviceEnv(service('redis'), shell);
      serviceEnv(rotator, shell);
    };
    expect(attempt).toThrow(MissingComposeVariableError);
    expect(attempt).toThrow(new RegExp(`${name} is missing a value: .*openssl rand -hex 32`));
  });

  it('runs a pinned LocalStack with Secrets Manager only, checked on its health endpoint', () => {
    const localstack = service('localstack');
    expect(localstack.image).toMatch(/^localstack\/localstack:\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$/);
    expect(serviceEnv(localstack, SHELL).SERVICES).toBe('secretsmanager');
    expect(healthcheckTest(localstack).join(' ')).toContain('http://127.0.0.1:4566/_localstack/health');
  });

  it('builds the rotator from the Dockerfile\'s default (production) target, which holds no stand-in', () => {
    expect(rotator.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
  });

  it('builds the sandbox from the Dockerfile\'s standins target, whose image holds the sandbox it runs', () => {
    expect(sandbox.build).toEqual({ context: '.', dockerfile: 'Dockerfile', target: 'standins' });
    expect(dockerStages.map((stage) => stage.name)).toContain('standins');
    expect(sandbox.image).not.toBe(rotator.image);
    const [program, script] = commandOf(sandbox);
    expect(program).toBe('node');
    expect(script).toBe('dist/standins/sendmux/main.js');
    expect(existsSync(path.join(REPO_ROOT, script!))).toBe(true);
  });

  it('starts the sandbox on all interfaces with demo mailboxes, accepting the root key the rotator is given', () => {
    const options = sandboxOptionsFromEnv(sandboxEnv);
    expect(options.host).toBe('0.0.0.0');
    expect(options.mailboxes?.length).toBeGreaterThan(0);
    expect(options.managementKeys).toContain(rotatorEnv.SENDMUX_API_KEY);
  });

  it('gives the sandbox a healthcheck of its own, since the image HEALTHCHECK probes the rotator', () => {
    const test = healthcheckTest(sandbox);
    expect(test).not.toEqual(['CMD', ...(imageHealthcheck ?? [])]);
    expect(test.join(' ')).toContain(`${API_BASE_PATH}/`);
    expect(test.join(' ')).toContain('SANDBOX_PORT');
  });

  it('runs the rotator with the image CMD: every role in one process', () => {
    expect(commandOf(rotator)).toEqual(imageCmd);
    expect(commandOf(rotator).slice(-2)).toEqual(['--role', 'all']);
  });

  it('probes the rotator with the same command as the image HEALTHCHECK', () => {
    expect(healthcheckTest(rotator)).toEqual(['CMD', ...(imageHealthcheck ?? [])]);
  });

  it('sets no environment variable on the rotator that neither the code nor the AWS SDK reads', () => {
    const known = new Set([...ENV_VARS.map((variable) => variable.name), ...AWS_SDK_VARS]);
    const unknown = Object.keys(rotatorEnv).filter((name) => !known.has(name));
    expect(unknown).toEqual([]);
  });

  it('sets exactly one source of the management key, the AWS region, and an API token since HOST is not loopback', () => {
    const keySources = ENV_VARS.filter((variable) => variable.required === 'one-of').map((variable) => variable.name);
    expect(keySources.filter((name) => rotatorEnv[name])).toHaveLength(1);
    for (const variable of ENV_VARS.filter((v) => v.required === true)) expect(rotatorEnv[variable.name]).toBeTruthy();
    expect(rotatorEnv.AWS_REGION).toBeTruthy();
    expect(isLoopbackHost(rotatorEnv.HOST ?? '0.0.0.0')).toBe(false);
    expect(rotatorEnv.ROTATOR_API_TOKEN?.length).toBeGreaterThanOrEqual(16);
  });

  it('takes the API token from the shell, with no default written in the file', () => {
    const env = serviceEnv(rotator, { ...SHELL, ROTATOR_API_TOKEN: 'a-token-from-the-operator-shell-0123456789' });
    expect(env.ROTATOR_API_TOKEN).toBe('a-token-from-the-operator-shell-0123456789');
    expect(composeText).not.toMatch(/ROTATOR_API_TOKEN:-/);
  });

  it('points REDIS_URL at the redis service on the Redis port', () => {
    const url = new URL(rotatorEnv.REDIS_URL!);
    expect(url.protocol).toBe('redis:');
    expect(url.hostname).toBe('redis');
    expect(url.port || '6379').toBe('6379');
  });

  it('points SENDMUX_API_URL at the sandbox service, on the port it listens on, under the API base path', () => {
    const url = new URL(rotatorEnv.SENDMUX_API_URL!);
    expect(url.hostname).toBe('sendmux-sandbox');
    expect(Number(url.port)).toBe(sandboxOptionsFromEnv(sandboxEnv).port);
    expect(url.pathname).toBe(API_BASE_PATH);
  });

  it('points the Secrets Manager endpoint at the localstack service on its edge port', () => {
    const url = new URL(rotatorEnv.AWS_ENDPOINT_URL_SECRETS_MANAGER!);
    expect(url.hostname).toBe('localstack');
    expect(url.port).toBe('4566');
  });

  it('publishes the dashboard port on this machine only, mapped to the port the rotator listens on (PORT)', () => {
    const mappings = (rotator.ports ?? []).map((spec) => parsePortMapping(String(spec)));
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toEqual({ hostIp: '127.0.0.1', published: Number(rotatorEnv.PORT), target: Number(rotatorEnv.PORT) });
  });

  it('publishes no port of redis, localstack or the sandbox', () => {
    for (const name of ['redis', 'localstack', 'sendmux-sandbox']) expect(service(name).ports).toBeUndefined();
  });

  it('mounts config/rotator.compose.yaml read-only where ROTATOR_CONFIG points', () => {
    const mounts = (rotator.volumes ?? []).map((spec) => parseBindMount(String(spec))).filter((mount) => mount !== null);
    const configMount = mounts.find((mount) => mount.target === rotatorEnv.ROTATOR_CONFIG);
    expect(configMount).toEqual({ source: './config/rotator.compose.yaml', target: rotatorEnv.ROTATOR_CONFIG, readOnly: true });
  });

  it('gives a configuration and environment the rotator accepts', () => {
    const configPath = path.join(REPO_ROOT, 'config/rotator.compose.yaml');
    const settings = parseSettings(readFileSync(configPath, 'utf8'), rotatorEnv, configPath);
    expect(settings.env).toMatchObject({ host: '0.0.0.0', port: Number(rotatorEnv.PORT), awsRegion: rotatorEnv.AWS_REGION });
    expect(settings.file.mailboxes).toBe('all');
  });

  it('gives the rotator a stop grace period longer than its rotation shutdown timeout', () => {
    const configPath = path.join(REPO_ROOT, 'config/rotator.compose.yaml');
    const { file } = parseSettings(readFileSync(configPath, 'utf8'), rotatorEnv, configPath);
    expect(composeDurationMs(rotator.stop_grace_period ?? '10s')).toBeGreaterThan(file.rotation.shutdownTimeoutMs);
  });

  it('starts the rotator only once redis, localstack and the sandbox are healthy', () => {
    expect(rotator.depends_on).toEqual({
      redis: { condition: 'service_healthy' },
      localstack: { condition: 'service_healthy' },
      'sendmux-sandbox': { condition: 'service_healthy' },
    });
  });

  it('gives every service a healthcheck, so every service_healthy condition can be met', () => {
    for (const [name, svc] of Object.entries(services)) {
      expect([name, healthcheckTest(svc)[0]]).toEqual([name, expect.stringMatching(/^CMD(-SHELL)?$/)]);
      expect([name, svc.healthcheck?.disable]).toEqual([name, undefined]);
    }
  });

  it('uses no $ that Compose would interpolate other than ${VAR:-default}, ${VAR:?message} and $$', () => {
    const dollars = composeText.split('\n').filter((line) => !line.trim().startsWith('#') && line.includes('$'));
    for (const line of dollars) expect(() => interpolate(line, SHELL)).not.toThrow();
    const understood = /\$\{[A-Z_]+:[-?][^}]+\}|\$\$[A-Z_]+/g;
    expect(dollars.filter((line) => line.replace(understood, '').includes('$'))).toEqual([]);
  });

  describe('the commented split-roles example, uncommented', () => {
    const split = parseCompose(uncommentSplitRolesExample(composeText)).services;
    const roles = { 'rotator-api': 'api', 'rotator-scheduler': 'scheduler', 'rotator-worker': 'worker' } as const;

    it('runs the api, scheduler and worker roles as services of their own from the rotator image', () => {
      for (const [name, role] of Object.entries(roles)) {
        const svc = split[name];
        expect(svc).toBeDefined();
        expect(commandOf(svc!)).toEqual([...imageCmd!.slice(0, -1), role]);
        expect(svc!.build).toEqual(rotator.build);
      }
    });

    it('gives every role the rotator environment and the mounted configuration', () => {
      for (const name of Object.keys(roles)) {
        expect(serviceEnv(split[name]!, SHELL)).toEqual(rotatorEnv);
        expect(split[name]!.volumes).toEqual(rotator.volumes);
        expect(split[name]!.depends_on).toEqual(rotator.depends_on);
      }
    });

    it('scales the workers to several replicas and publishes the dashboard only from the api role', () => {
      expect(split['rotator-worker']!.deploy?.replicas).toBeGreaterThan(1);
      expect(split['rotator-api']!.ports).toEqual(rotator.ports);
      expect(split['rotator-scheduler']!.ports).toBeUndefined();
      expect(split['rotator-worker']!.ports).toBeUndefined();
    });
  });
});
