import { runCaptured } from '../cli/capture';
import fc from 'fast-check';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { stringify as toYaml } from 'yaml';
import { parseRoles } from '../../src/app/service';
import { isSendmuxId } from '../../src/sendmux/ids';
import { ROTATION_QUEUE_NAME } from '../../src/queue/rotation-queue';
import { freePort } from '../http/support/redis-server-process';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '../support/redis';

/**
 * Random and malformed command lines through the real CLI (in process). Whatever the arguments,
 * the CLI answers with an exit code of 0, 1 or 2, says what was wrong on stderr when it fails,
 * never crashes or prints a stack trace, never echoes the management key, and never enqueues a
 * rotation for a mailbox id that is not a valid Sendmux id.
 *
 * Commands that would start the long-running service (`start` with a valid role, `demo`) are not
 * generated. Sendmux and Secrets Manager point at a closed local port, so nothing real is reached.
 */

const MANAGEMENT_KEY = 'smx_root_CLIFUZZKEY0123456789abcdef';
const STACK_FRAME = /^\s*at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;
const CRASH_WORDS = /TypeError|ReferenceError|RangeError|Cannot read propert|is not a function|undefined is not|Maximum call stack/;

interface Run {
  argv: string[];
  code: number;
  stdout: string;
  stderr: string;
}

let workDir: string;
let configPath: string;
let closedPortUrl: string;
let redis: Redis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const savedAwsEnv: Record<string, string | undefined> = {};
const prefixes: string[] = [];

function envFor(prefix: string): NodeJS.ProcessEnv {
  return {
    SENDMUX_API_KEY: MANAGEMENT_KEY,
    SENDMUX_API_URL: `${closedPortUrl}/api/v1`,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: closedPortUrl,
    REDIS_URL: TEST_REDIS_URL,
    ROTATOR_QUEUE_PREFIX: prefix,
    ROTATOR_CONFIG: configPath,
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    USER: 'cli-fuzz',
  };
}

async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return { argv, ...(await runCaptured(argv, { env, cwd: workDir })) };
}

/**
 * Where a failing run explains itself. Usually stderr. Two reports go to stdout by design and
 * carry the reason there: `rotate` prints one line per mailbox (`mbx_1  timeout  job=…  — still
 * running…`), and `--json` runs print a document with `problems` or per-rotation `message`s.
 */
function explainsFailure(result: Run): boolean {
  if (result.stderr.trim() !== '') return true;
  const isMessage = (value: unknown) => typeof value === 'string' && value.trim() !== '';
  if (result.argv.includes('--json')) {
    try {
      const document = JSON.parse(result.stdout) as { problems?: unknown; rotations?: unknown };
      if (Array.isArray(document.problems) && document.problems.length > 0 && document.problems.every(isMessage)) return true;
      if (Array.isArray(document.rotations)) {
        const unsuccessful = (document.rotations as Array<{ status?: string; outcome?: string; message?: unknown }>).filter(
          (r) => r.status !== 'completed' || r.outcome !== 'rotated',
        );
        return unsuccessful.length > 0 && unsuccessful.every((r) => isMessage(r.message));
      }
    } catch {
      return false;
    }
    return false;
  }
  if (result.argv[0] === 'rotate') {
    const lines = result.stdout.split('\n').filter((line) => line.trim() !== '');
    const unsuccessful = lines.filter((line) => !/^\S+ {2}rotated\b/.test(line));
    return unsuccessful.length > 0 && unsuccessful.every((line) => / — \S/.test(line));
  }
  return false;
}

/** What every run must satisfy, whatever its arguments; throws naming the broken rule and the argv. */
function expectWellBehaved(result: Run): void {
  const where = `argv ${JSON.stringify(result.argv).slice(0, 400)}`;
  const output = `${result.stdout}\n${result.stderr}`;
  if (![0, 1, 2].includes(result.code)) throw new Error(`${where}: exit code ${result.code}, expected 0, 1 or 2`);
  if (result.code !== 0 && !explainsFailure(result)) throw new Error(`${where}: exit code ${result.code} with nothing on stderr to say why`);
  if (STACK_FRAME.test(output)) throw new Error(`${where}: output contains a stack trace:\n${output.slice(0, 2000)}`);
  if (CRASH_WORDS.test(result.stderr)) throw new Error(`${where}: stderr reads like a crash, not a clear message:\n${result.stderr.slice(0, 2000)}`);
  if (output.includes(MANAGEMENT_KEY)) throw new Error(`${where}: the management key appears in the output`);
  if (unhandled.length > 0) throw new Error(`${where}: unhandled rejection: ${String(unhandled[0])}`);
}

async function keysUnder(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

// ---- arbitraries --------------------------------------------------------------------------------

const validId = fc.stringMatching(/^mbx_[A-Za-z0-9_-]{1,20}$/);

/** Ids a Sendmux id must never be: path tricks, unicode, control characters, empty, too long. */
const invalidId = fc
  .oneof(
    fc.constantFrom('', ' ', '..', '../..', '../../etc/passwd', 'mbx/../x', 'mbx_1/keys', '/mbx_1', 'mbx_1?x=1', 'mbx_1#f', 'mbx 1', 'mbx_1\n', 'mbx_1\u0000', 'mbx_é', 'мбх_1', '💥', 'mbx_1%2F..', 'mbx.1', 'mbx:1', '*', '$(id)', '`id`', 'mbx_1;rm -rf /'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map((s) => `mbx_${s}`),
    fc.integer({ min: 256, max: 20_000 }).map((n) => 'a'.repeat(n)),
    fc.integer({ min: 1, max: 2_000 }).map((n) => `mbx_${'ü'.repeat(n)}`),
  )
  .filter((id) => !isSendmuxId(id));

/** Any token at all: junk, option-looking strings, huge strings. */
const junkToken = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('--', '-', '--force', '--json', '--wait', '--limit', '--config', '-c', '--role', '--help', '-h', '--version', '-V', '--no-key-ages', '--nope', '-x', '--=', '--json=1', '---', '-', '\u0000', 'rotate', 'status', 'demo'),
  fc.integer({ min: 1_000, max: 50_000 }).map((n) => 'x'.repeat(n)),
);

const garbageRole = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.constantFrom('', ',', ' , ', 'workers', 'worker,', 'worker;api', 'worker api', 'WORKER,nope', 'all,x', 'root', '../worker', 'schedul'),
  )
  .filter((text) => {
    try {
      parseRoles(text);
      return false; // a valid role list would start the service
    } catch {
      return true;
    }
  });

const configPathArg = fc.oneof(
  fc.constant('__valid__'),
  fc.constantFrom('', '/', '.', '..', 'missing.yaml', '../../../../etc/shadow', 'dir-as-config', 'garbage.yaml', 'empty.yaml', 'nul\u0000.yaml'),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

const duration = fc.oneof(fc.constantFrom('0s', '1ms', '5ms', '20ms', '', 'never', '-1s', '1', 'abc', '1e9h', '15m', '99999999999999999999d', 'NaN'), fc.string({ maxLength: 8 }));
const smallOrBadDuration = fc.oneof(fc.constantFrom('0s', '1ms', '5ms', '20ms'), duration.filter((d) => !/^\d+(\.\d+)?(ms|s|m|h|d|w)$/.test(d)));
const limit = fc.oneof(fc.constantFrom('0', '1', '50', '10000', '10001', '-1', '1.5', 'ten', '', '1e3', '0x10'), fc.string({ maxLength: 8 }));

/**
 * Junk that cannot turn a failing command into `--help` or `--version` (both exit 0 before any
 * check) nor swallow the next token as an option's value.
 */
const junkWithoutHelp = junkToken.filter(
  (token) => !/^--(help|version)$/.test(token) && !/^-[^-]*[hV]/.test(token) && !/^(-c|--config|--limit|--role|--timeout)$/.test(token),
);

/** Options shared by several commands, as argv fragments, plus up to two junk tokens. */
function optionSet(fragments: Array<fc.Arbitrary<string[]>>, junk: fc.Arbitrary<string> = junkToken): fc.Arbitrary<string[]> {
  return fc
    .tuple(fc.subarray(fragments.map((_, i) => i)), ...fragments, fc.array(junk, { maxLength: 2 }))
    .map(([chosen, ...rest]) => {
      const junk = rest.pop() as string[];
      const parts = (chosen as number[]).flatMap((i) => rest[i] as string[]);
      return [...parts, ...junk];
    });
}

const configOpt = configPathArg.map((p) => ['--config', p]);
const jsonOpt = fc.constant<string[]>(['--json']);

const rotateArgv = fc
  .tuple(
    fc.array(fc.oneof(validId, invalidId), { minLength: 0, maxLength: 4 }),
    fc.boolean(),
    smallOrBadDuration,
    optionSet([jsonOpt, fc.constant<string[]>(['--force']), fc.constant<string[]>(['--revoke-now']), configOpt]),
  )
  // --wait always comes with a short (or invalid) --timeout first: a valid id with the default 15m would wait for a worker that never comes.
  .map(([ids, wait, timeout, options]) => ['rotate', ...(wait ? ['--wait', '--timeout', timeout] : []), ...options, ...ids]);

const statusArgv = optionSet([jsonOpt, fc.constant<string[]>(['--no-key-ages']), configOpt]).map((o) => ['status', ...o]);
const pauseArgv = fc.tuple(fc.constantFrom('pause', 'resume'), optionSet([configOpt])).map(([cmd, o]) => [cmd, ...o]);
const historyArgv = fc
  .tuple(fc.option(fc.oneof(validId, invalidId), { nil: undefined }), optionSet([jsonOpt, limit.map((l) => ['--limit', l]), configOpt]))
  .map(([id, o]) => ['history', ...o, ...(id === undefined ? [] : [id])]);
const planArgv = optionSet([jsonOpt, configOpt]).map((o) => ['plan', ...o]);
const configCheckArgv = optionSet([jsonOpt, configOpt]).map((o) => ['config', 'check', ...o]);
// No junk that could be a second --role: only `--role <garbage>` may reach `start`.
const startArgv = fc.tuple(garbageRole, optionSet([configOpt], junkWithoutHelp)).map(([role, o]) => ['start', '--role', role, ...o]);
const unknownArgv = fc.array(junkToken, { minLength: 0, maxLength: 5 }).filter((argv) => {
  // Only the commands above may run; a bare `start`/`demo` would start the service.
  const first = argv.find((token) => !token.startsWith('-'));
  return first !== 'start' && first !== 'demo' && !argv.includes('start') && !argv.includes('demo');
});

const anyArgv = fc.oneof(rotateArgv, statusArgv, pauseArgv, historyArgv, planArgv, configCheckArgv, startArgv, unknownArgv);

/** Replaces the `__valid__` placeholder with the valid config's path (other names resolve in the work dir). */
function materialise(argv: string[]): string[] {
  return argv.map((token, i) => {
    if (argv[i - 1] !== '--config') return token;
    if (token === '__valid__') return configPath;
    return token;
  });
}

// ---- tests --------------------------------------------------------------------------------------

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'rotator-cli-fuzz-'));
  configPath = path.join(workDir, 'rotator.yaml');
  writeFileSync(
    configPath,
    toYaml({ mailboxes: 'all', schedule: '0 3 * * 1', timezone: 'UTC', revokePreviousAfter: '0s', minRotationInterval: '0s' }),
  );
  mkdirSync(path.join(workDir, 'dir-as-config'));
  writeFileSync(path.join(workDir, 'garbage.yaml'), 'mailboxes: [\n  - {: :\nschedule: *nope\n\u0000');
  writeFileSync(path.join(workDir, 'empty.yaml'), '');
  closedPortUrl = `http://127.0.0.1:${await freePort()}`;
  // The AWS SDK reads its endpoint and credentials from process.env, not from the CLI's io.env.
  for (const name of ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_EC2_METADATA_DISABLED']) {
    savedAwsEnv[name] = process.env[name];
  }
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = closedPortUrl;
  process.env.AWS_ACCESS_KEY_ID = 'fuzz';
  process.env.AWS_SECRET_ACCESS_KEY = 'fuzz';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  process.on('unhandledRejection', onUnhandled);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  for (const prefix of prefixes) await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
  for (const [name, value] of Object.entries(savedAwsEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(workDir, { recursive: true, force: true });
});

function newPrefix(label: string): string {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  return prefix;
}

describe('rotator CLI on random and malformed arguments', () => {
  it('rejects every rotate request naming an invalid mailbox id with exit 2 and a message, and enqueues nothing', async () => {
    const prefix = newPrefix('cli-fuzz-invalid');
    const env = envFor(prefix);
    const requestWithAnInvalidId = fc
      .tuple(fc.array(validId, { maxLength: 3 }), invalidId, fc.nat(), optionSet([jsonOpt, fc.constant<string[]>(['--force']), fc.constant<string[]>(['--revoke-now'])], junkWithoutHelp))
      .map(([valid, bad, at, options]) => {
        const ids = [...valid];
        ids.splice(at % (ids.length + 1), 0, bad);
        return { bad, argv: ['rotate', ...options, ...ids] };
      });

    await fc.assert(
      fc.asyncProperty(requestWithAnInvalidId, async ({ bad, argv }) => {
        const result = await run(argv, env);
        expectWellBehaved(result);
        expect(result.code).toBe(2);
        // Either the id check names the id, or commander (for an id that looks like an option) names the token.
        const namesIt = result.stderr.includes('invalid mailbox id') ? result.stderr.includes(JSON.stringify(bad)) : /error: /.test(result.stderr);
        expect(namesIt).toBe(true);
        expect(await keysUnder(prefix)).toEqual([]);
      }),
      { numRuns: 700 },
    );
  });

  it('rejects history for an invalid mailbox id or --limit with exit 2, naming it', async () => {
    const env = envFor(newPrefix('cli-fuzz-history'));
    const badHistory = fc.oneof(
      fc.tuple(invalidId, fc.constantFrom('1', '50')).map(([id, lim]) => ({ field: 'mailbox id', argv: ['history', '--limit', lim, id] })),
      fc
        // The same rule as the command (Number(), a whole number from 1 to 10000), so only refused values are generated.
        .tuple(validId, limit.filter((l) => !(Number.isInteger(Number(l)) && Number(l) >= 1 && Number(l) <= 10_000)))
        .map(([id, lim]) => ({ field: '--limit', argv: ['history', id, '--limit', lim] })),
    );

    await fc.assert(
      fc.asyncProperty(badHistory, async ({ field, argv }) => {
        const result = await run(argv, env);
        expectWellBehaved(result);
        expect(result.code).toBe(2);
        expect(result.stderr.includes(field) || /error: /.test(result.stderr)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('answers any generated command line with exit 0, 1 or 2, a message on failure and no stack trace', async () => {
    const prefix = newPrefix('cli-fuzz-any');
    const env = envFor(prefix);

    await fc.assert(
      fc.asyncProperty(anyArgv, async (argv) => {
        expectWellBehaved(await run(materialise(argv), env));
      }),
      { numRuns: 1000 },
    );

    // Whatever got through was a well-formed request: every rotation job names a valid mailbox id.
    const { hostname, port } = new URL(TEST_REDIS_URL);
    const queue = new Queue(ROTATION_QUEUE_NAME, { connection: { host: hostname, port: Number(port || 6379) }, prefix });
    try {
      const jobs = await queue.getJobs(['waiting', 'paused', 'delayed', 'active', 'prioritized', 'completed', 'failed'], 0, -1);
      for (const job of jobs) expect(isSendmuxId((job.data as { mailboxId?: unknown }).mailboxId)).toBe(true);
    } finally {
      await queue.close();
    }
  }, 60_000);
});
