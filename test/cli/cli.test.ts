import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCaptured } from './capture';

const REPO_ROOT = path.resolve(__dirname, '../..');
const EXAMPLE = 'config/rotator.example.yaml';
const ROOT_KEY = 'smx_root_CLITESTKEY0123456789';
const API_TOKEN = 'cli-test-token-0123456789';
const ENV = { SENDMUX_API_KEY: ROOT_KEY, AWS_REGION: 'us-east-1', ROTATOR_API_TOKEN: API_TOKEN };

describe('rotator CLI', () => {
  describe('global options and usage errors', () => {
    it('prints help listing the commands and environment variables, exit 0', async () => {
      const run = await runCaptured(['--help'], { cwd: REPO_ROOT });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: rotator');
      expect(run.stdout).toContain('config');
      expect(run.stdout).toContain('SENDMUX_API_KEY');
      expect(run.stdout).toContain('ROTATOR_CONFIG');
    });

    it('prints the package version, exit 0', async () => {
      const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
      const run = await runCaptured(['--version'], { cwd: REPO_ROOT });
      expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    });

    it('rejects an unknown command with a clear message, exit 2', async () => {
      const run = await runCaptured(['rotate-everything'], { cwd: REPO_ROOT });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("unknown command 'rotate-everything'");
      expect(run.stderr).toContain('rotator --help');
    });

    it('suggests the closest command for a typo, exit 2', async () => {
      const run = await runCaptured(['confg', 'check'], { cwd: REPO_ROOT });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('Did you mean config?');
    });

    it('rejects an unknown option, exit 2', async () => {
      const run = await runCaptured(['config', 'check', '--strict'], { cwd: REPO_ROOT, env: ENV });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("unknown option '--strict'");
    });

    it('rejects --config without its path, exit 2', async () => {
      const run = await runCaptured(['config', 'check', '--config'], { cwd: REPO_ROOT, env: ENV });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("option '-c, --config <path>' argument missing");
    });

    it('rejects unexpected arguments, exit 2', async () => {
      const run = await runCaptured(['config', 'check', 'extra'], { cwd: REPO_ROOT, env: ENV });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('too many arguments');
    });

    it('shows the config help when no config subcommand is given, exit 2', async () => {
      const run = await runCaptured(['config'], { cwd: REPO_ROOT });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('check');
    });
  });

  describe('config check', () => {
    it('accepts the example configuration, exit 0', async () => {
      const run = await runCaptured(['config', 'check', '--config', EXAMPLE], { cwd: REPO_ROOT, env: ENV });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Configuration OK (config file: ${path.join(REPO_ROOT, EXAMPLE)})`);
      expect(run.stdout).toContain('schedule: 0 3 * * 1');
    });

    it('masks the management key and the API token in its output', async () => {
      const run = await runCaptured(['config', 'check', '--config', EXAMPLE], { cwd: REPO_ROOT, env: ENV });
      const output = run.stdout + run.stderr;
      expect(output).not.toContain(ROOT_KEY);
      expect(output).not.toContain(API_TOKEN);
      expect(run.stdout).toContain('sendmuxApiKey: smx_root_…(masked)');
      expect(run.stdout).toContain('apiToken: "********"');
    });

    it('prints the effective settings as JSON with --json', async () => {
      const run = await runCaptured(['config', 'check', '--config', EXAMPLE, '--json'], { cwd: REPO_ROOT, env: ENV });
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as { ok: boolean; settings: { file: { revokePreviousAfterMs: number }; env: { sendmuxApiKey: string } } };
      expect(report.ok).toBe(true);
      expect(report.settings.file.revokePreviousAfterMs).toBe(86_400_000);
      expect(report.settings.env.sendmuxApiKey).toBe('smx_root_…(masked)');
    });

    it('notes that no AWS region is set, naming the variables, without failing', async () => {
      const home = mkdtempSync(path.join(tmpdir(), 'rotator-no-aws-'));
      const run = await runCaptured(['config', 'check', '--config', EXAMPLE], { cwd: REPO_ROOT, env: { SENDMUX_API_KEY: ROOT_KEY, HOME: home } });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('AWS region: none\n');
      expect(run.stderr).toContain(`note: no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or a region for profile "default" in ${home}/.aws/config`);
      expect(run.stderr).toContain('rotator start refuses to run');
    });

    it('reports the AWS region it will use and that it came from AWS_DEFAULT_REGION', async () => {
      const env = { SENDMUX_API_KEY: ROOT_KEY, AWS_DEFAULT_REGION: 'eu-west-1', HOME: mkdtempSync(path.join(tmpdir(), 'rotator-aws-')) };
      const run = await runCaptured(['config', 'check', '--config', EXAMPLE], { cwd: REPO_ROOT, env });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('AWS region: eu-west-1 (from AWS_DEFAULT_REGION)\n');
      expect(run.stderr).not.toContain('no AWS region');
    });

    it('reports the region of the AWS_PROFILE profile in AWS_CONFIG_FILE, in text and JSON', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'rotator-aws-'));
      const file = path.join(dir, 'config');
      writeFileSync(file, '[profile ops]\nregion = eu-north-1\n');
      const env = { SENDMUX_API_KEY: ROOT_KEY, AWS_CONFIG_FILE: file, AWS_PROFILE: 'ops', HOME: dir };
      const text = await runCaptured(['config', 'check', '--config', EXAMPLE], { cwd: REPO_ROOT, env });
      expect(text.stdout).toContain(`AWS region: eu-north-1 (from profile "ops" of ${file})\n`);
      const json = await runCaptured(['config', 'check', '--config', EXAMPLE, '--json'], { cwd: REPO_ROOT, env });
      expect((JSON.parse(json.stdout) as { awsRegion: unknown }).awsRegion).toEqual({ region: 'eu-north-1', source: `profile "ops" of ${file}` });
    });

    describe('with a schedule that writes secret versions faster than Secrets Manager tolerates', () => {
      let dir: string;
      beforeEach(() => {
        dir = mkdtempSync(path.join(tmpdir(), 'rotator-cli-'));
      });
      afterEach(() => {
        rmSync(dir, { recursive: true, force: true });
      });

      function check(yaml: string, extra: string[] = []) {
        const file = path.join(dir, 'rotator.yaml');
        writeFileSync(file, yaml);
        return runCaptured(['config', 'check', '--config', file, ...extra], { cwd: dir, env: ENV });
      }

      it('warns (one line, exit 0) when a schedule implies more than one version per mailbox per 10 minutes', async () => {
        const run = await check('mailboxes: all\nschedule: "*/30 * * * * *"\nminRotationInterval: 1m\n');
        expect(run.code).toBe(0);
        const warnings = run.stderr.split('\n').filter((line) => line.startsWith('warning: '));
        expect(warnings).toEqual([expect.stringMatching(/^warning: schedule \(default\) \("\*\/30 \* \* \* \* \*" in UTC\) fires as often as every 30s .*every 1m; Secrets Manager tolerates about one version per secret per 10 minutes/)]);
        const json = await check('mailboxes: all\nschedule: "*/5 * * * *"\nminRotationInterval: 1m\n', ['--json']);
        expect(json.code).toBe(0);
        expect((JSON.parse(json.stdout) as { warnings: string[] }).warnings).toEqual([expect.stringContaining('every 5m')]);
      });

      it('refuses a private webhook destination, naming the field and allowPrivateNetwork: true as the fix, exit 1', async () => {
        const run = await check('mailboxes: all\nschedule: "0 3 * * 1"\nalerts:\n  webhookUrl: "https://10.0.0.1/hook"\n');
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/- alerts\.webhookUrl: .*10\.0\.0\.0\/8.*set alerts\.allowPrivateNetwork: true/);
        const allowed = await check('mailboxes: all\nschedule: "0 3 * * 1"\nalerts:\n  webhookUrl: "https://10.0.0.1/hook"\n  allowPrivateNetwork: true\n');
        expect(allowed.code).toBe(0);
      });

      it('warns that alerts go unsigned when alerts.webhookUrl is set without ALERT_WEBHOOK_SECRET', async () => {
        const run = await check('mailboxes: all\nschedule: "0 3 * * 1"\nalerts:\n  webhookUrl: "https://hooks.example.com/x"\n');
        expect(run.code).toBe(0);
        expect(run.stderr).toMatch(/warning: alerts\.webhookUrl is set but ALERT_WEBHOOK_SECRET is not/);
      });

      it('does not warn when minRotationInterval holds each mailbox to one rotation per 10 minutes or less often', async () => {
        const run = await check('mailboxes: all\nschedule: "*/30 * * * * *"\nminRotationInterval: 10m\n');
        expect(run.code).toBe(0);
        expect(run.stderr).not.toContain('warning:');
      });
    });

    describe('with a broken file', () => {
      let dir: string;

      beforeEach(() => {
        dir = mkdtempSync(path.join(tmpdir(), 'rotator-cli-'));
      });

      afterEach(() => {
        rmSync(dir, { recursive: true, force: true });
      });

      const brokenYaml = 'mailboxes: all\nschedule: "0 3 * * 8"\nrevokePreviousAfter: 24 hours\nsecret_name: "x/{mailboxId}"\n';

      it('prints all three mistakes, one per line under a header with the count and path, exit 1', async () => {
        const file = path.join(dir, 'rotator.yaml');
        writeFileSync(file, brokenYaml);
        const run = await runCaptured(['config', 'check', '--config', file], { cwd: dir, env: ENV });
        expect(run.code).toBe(1);
        expect(run.stdout).toBe('');
        const lines = run.stderr.trimEnd().split('\n');
        expect(lines[0]).toBe(`Invalid rotator configuration: 3 problems (config file: ${file})`);
        expect(lines).toHaveLength(4);
        expect(lines[1]).toMatch(/^ {2}- secret_name: got .* did you mean "secretName"\?$/);
        expect(lines[2]).toMatch(/^ {2}- schedule: got "0 3 \* \* 8" — expected a cron expression/);
        expect(lines[3]).toBe('  - revokePreviousAfter: got "24 hours" — expected a duration like "24h", "30m", "0s", or "never"');
      });

      it('prints the problems as JSON on stderr with --json, exit 1', async () => {
        const file = path.join(dir, 'rotator.yaml');
        writeFileSync(file, brokenYaml);
        const run = await runCaptured(['config', 'check', '--config', file, '--json'], { cwd: dir, env: ENV });
        expect(run.code).toBe(1);
        const report = JSON.parse(run.stderr) as { ok: boolean; configPath: string; problems: Array<{ field: string }> };
        expect(report).toMatchObject({ ok: false, configPath: file });
        expect(report.problems.map((problem) => problem.field)).toEqual(['secret_name', 'schedule', 'revokePreviousAfter']);
      });

      it('notes a rate limit above the management key\'s limit without failing', async () => {
        const file = path.join(dir, 'fast.yaml');
        writeFileSync(file, 'mailboxes: all\nschedule: "0 3 * * 1"\nrateLimit: {max: 20, duration: 1s}\n');
        const run = await runCaptured(['config', 'check', '--config', file], { cwd: dir, env: ENV });
        expect(run.code).toBe(0);
        expect(run.stderr).toContain('note: rateLimit allows 1200 jobs per minute');
      });

      it('reads ROTATOR_CONFIG when --config is not given', async () => {
        writeFileSync(path.join(dir, 'from-env.yaml'), brokenYaml);
        const run = await runCaptured(['config', 'check'], { cwd: dir, env: { ...ENV, ROTATOR_CONFIG: 'from-env.yaml' } });
        expect(run.code).toBe(1);
        expect(run.stderr).toContain(`(config file: ${path.join(dir, 'from-env.yaml')})`);
      });

      it('falls back to config/rotator.example.yaml under the working directory', async () => {
        mkdirSync(path.join(dir, 'config'));
        writeFileSync(path.join(dir, EXAMPLE), 'mailboxes: [mbx_1]\nschedule: "0 5 * * *"\n');
        const run = await runCaptured(['config', 'check'], { cwd: dir, env: ENV });
        expect(run.code).toBe(0);
        expect(run.stdout).toContain(`config file: ${path.join(dir, EXAMPLE)}`);
      });

      it('reports a missing file and environment problems together, exit 1', async () => {
        const run = await runCaptured(['config', 'check', '--config', 'absent.yaml'], { cwd: dir, env: {} });
        expect(run.code).toBe(1);
        expect(run.stderr).toContain('2 problems');
        expect(run.stderr).toContain('config file: got');
        expect(run.stderr).toContain('env SENDMUX_API_KEY: got nothing');
      });

      it('never prints a secret given in a bad environment', async () => {
        const run = await runCaptured(['config', 'check', '--config', path.join(REPO_ROOT, EXAMPLE)], {
          cwd: dir,
          env: { SENDMUX_API_KEY: 'smx_mbx_CLILEAKCHECK42', ROTATOR_API_TOKEN: 'CLILEAKTOKEN', REDIS_URL: 'redis://:CLILEAKPW@h:1/x' },
        });
        expect(run.code).toBe(1);
        for (const leak of ['CLILEAKCHECK42', 'CLILEAKTOKEN', 'CLILEAKPW']) expect(run.stdout + run.stderr).not.toContain(leak);
      });
    });
  });
});
