import { parseSettings } from '../../src/config';
import { CONFIG_PATH, MINIMAL_YAML, VALID_ENV } from './fixtures';
import { configErrorOf, fieldsOf, problemsOf } from './problems-of';

const parseFile = (yamlText: string) => parseSettings(yamlText, VALID_ENV, CONFIG_PATH).file;

describe('configuration file', () => {
  describe('defaults', () => {
    it('fills every optional setting with its documented default', () => {
      expect(parseFile(MINIMAL_YAML)).toEqual({
        dashboard: { readOnly: true },
        mailboxes: 'all',
        schedule: '0 3 * * 1',
        timezone: 'UTC',
        secretName: 'sendmux/mailboxes/{mailboxId}',
        revokePreviousAfterMs: 24 * 3_600_000,
        minRotationIntervalMs: 15 * 60_000,
        maxKeyAgeMs: null,
        reconcileIntervalMs: 3_600_000,
        tags: {},
        groups: [],
        rotation: { attempts: 8, backoffInitialMs: 5_000, backoffMaxMs: 300_000, concurrency: 16, onLimitExceeded: 'fail', appNamePrefix: 'rotator', lockDurationMs: 30_000, stalledIntervalMs: 30_000, shutdownTimeoutMs: 60_000 },
        rateLimit: { max: 9, durationMs: 1_000 },
        sendmux: { timeoutMs: 10_000 },
        retention: { completedAgeMs: 7 * 86_400_000, completedCount: 10_000, failedAgeMs: 30 * 86_400_000 },
        alerts: {},
        notify: {},
        api: { tokens: [], failedAuth: { max: 10, windowMs: 60_000 } },
      });
    });

    it('applies the section defaults when a section is present but empty', () => {
      const file = parseFile(`${MINIMAL_YAML}rotation:\nrateLimit:\nalerts:\n`);
      expect(file.rotation.attempts).toBe(8);
      expect(file.rateLimit).toEqual({ max: 9, durationMs: 1_000 });
      expect(file.alerts).toEqual({});
    });

    it('keeps the values that are given instead of the defaults', () => {
      const file = parseFile(
        [
          'mailboxes: [mbx_1, mbx-2]',
          'schedule: "*/30 * * * *"',
          'timezone: Europe/London',
          'secretName: "prod/sendmux/{mailboxId}"',
          'revokePreviousAfter: never',
          'minRotationInterval: 0s',
          'maxKeyAge: 30d',
          'reconcileInterval: 15m',
          'kmsKeyId: alias/rotator',
          'tags: {team: messaging, "cost center": "4210"}',
          'rotation: {attempts: 3, backoffInitialDelay: 1s, backoffMaxDelay: 1m, concurrency: 4, onLimitExceeded: revoke-previous, appNamePrefix: "key rotator"}',
          'rateLimit: {max: 5, duration: 2s}',
          'sendmux: {timeout: 3s}',
          'retention: {completedAge: 1d, completedCount: 50, failedAge: 2d}',
          'alerts: {webhookUrl: "https://hooks.example.com/x"}',
        ].join('\n'),
      );
      expect(file).toMatchObject({
        mailboxes: ['mbx_1', 'mbx-2'],
        timezone: 'Europe/London',
        revokePreviousAfterMs: null,
        minRotationIntervalMs: 0,
        maxKeyAgeMs: 30 * 86_400_000,
        reconcileIntervalMs: 15 * 60_000,
        kmsKeyId: 'alias/rotator',
        tags: { team: 'messaging', 'cost center': '4210' },
        rotation: { attempts: 3, backoffInitialMs: 1_000, backoffMaxMs: 60_000, concurrency: 4, onLimitExceeded: 'revoke-previous', appNamePrefix: 'key rotator' },
        rateLimit: { max: 5, durationMs: 2_000 },
        sendmux: { timeoutMs: 3_000 },
        retention: { completedAgeMs: 86_400_000, completedCount: 50, failedAgeMs: 2 * 86_400_000 },
        alerts: { webhookUrl: 'https://hooks.example.com/x' },
      });
    });
  });

  describe('reporting every problem at once', () => {
    it('reports a bad cron, a bad duration and an unknown key together', () => {
      const problems = problemsOf('mailboxes: all\nschedule: "0 3 * * 8"\nrevokePreviousAfter: 24 hours\nsecret_name: x\n');
      expect(fieldsOf(problems)).toEqual(['secret_name', 'schedule', 'revokePreviousAfter']);
    });

    it('reports file and environment problems in one error', () => {
      const problems = problemsOf('mailboxes: all\nschedule: nope\n', {});
      expect(problems.map((problem) => [problem.source, problem.field])).toEqual([
        ['file', 'schedule'],
        ['env', 'SENDMUX_API_KEY'],
      ]);
    });

    it('puts the count and the config path in the error message header', () => {
      const error = configErrorOf('mailboxes: all\nschedule: nope\ntimezone: Mars/Base\n');
      expect(error.message.split('\n')[0]).toBe(`Invalid rotator configuration: 2 problems (config file: ${CONFIG_PATH})`);
    });
  });

  describe('problem messages', () => {
    it('phrases a bad duration as field, value and the accepted forms', () => {
      expect(configErrorOf(`${MINIMAL_YAML}revokePreviousAfter: 24 hours\n`).message).toContain(
        '  - revokePreviousAfter: got "24 hours" — expected a duration like "24h", "30m", "0s", or "never"',
      );
    });

    it('suggests the closest known key for an unknown key', () => {
      const [problem] = problemsOf(`${MINIMAL_YAML}timezon: UTC\n`);
      expect(problem).toMatchObject({ field: 'timezon', source: 'file' });
      expect(problem?.expected).toContain('did you mean "timezone"?');
    });

    it('suggests the camelCase key for a snake_case key', () => {
      const [problem] = problemsOf(`${MINIMAL_YAML}rotation:\n  backoff_initial_delay: 5s\n`);
      expect(problem?.field).toBe('rotation.backoff_initial_delay');
      expect(problem?.expected).toContain('did you mean "backoffInitialDelay"?');
    });

    it('lists the known keys when no known key is close', () => {
      const [problem] = problemsOf(`${MINIMAL_YAML}sendmux:\n  xyzzyplugh: 1\n`);
      expect(problem?.expected).toContain('known keys here: timeout');
    });

    it('names a missing required key', () => {
      const problems = problemsOf('schedule: "0 3 * * 1"\n');
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ field: 'mailboxes', value: undefined });
      expect(problems[0]?.expected).toContain('required');
    });

    it('names the list index of a bad mailbox id', () => {
      expect(fieldsOf(problemsOf('mailboxes: [ok_1, "not ok"]\nschedule: "0 3 * * 1"\n'))).toEqual(['mailboxes[1]']);
    });

    it('truncates a long bad value', () => {
      const [problem] = problemsOf(`${MINIMAL_YAML}timezone: "${'x'.repeat(500)}"\n`);
      expect(String(problem?.value).length).toBeLessThanOrEqual(80);
    });

    it('reports a YAML syntax error with its line and column', () => {
      const problems = problemsOf('mailboxes: all\nschedule: "0 3 * * 1"\nrotation: [1, 2\nsendmux: {}\n');
      expect(problems[0]).toMatchObject({ field: 'YAML line 4, column 1', expected: 'valid YAML syntax', source: 'file' });
    });

    it('reports a duplicate key as a YAML error with its line', () => {
      expect(fieldsOf(problemsOf('mailboxes: all\nschedule: "0 3 * * 1"\nmailboxes: all\n'))).toEqual(['YAML line 3, column 1']);
    });

    it('does not echo the source line of a YAML error, which may hold a webhook URL', () => {
      const error = configErrorOf('alerts: {webhookUrl: "https://hooks.example.com/T0/SECRETPATH"\nschedule: "0 3 * * 1"\n');
      expect(error.message).not.toContain('SECRETPATH');
    });

    it('rejects a document that is not a mapping', () => {
      expect(problemsOf('- mailboxes\n- schedule\n')[0]).toMatchObject({ field: '(top level)' });
    });

    it('masks a bad webhook URL, which carries its credential in the path', () => {
      const error = configErrorOf(`${MINIMAL_YAML}alerts:\n  webhookUrl: "ftp://hooks.example.com/T0/SECRETPATH"\n`);
      expect(error.problems[0]?.field).toBe('alerts.webhookUrl');
      expect(error.message).not.toContain('SECRETPATH');
      expect(JSON.stringify(error.problems)).not.toContain('SECRETPATH');
    });

    it('masks a Sendmux key pasted into the file under an unknown key', () => {
      const error = configErrorOf(`${MINIMAL_YAML}apiKey: smx_root_PASTEDSECRET123\n`);
      expect(error.message).not.toContain('PASTEDSECRET');
      expect(error.message).toContain('smx_root_…(masked)');
    });
  });

  describe('rules per field', () => {
    it.each([
      ['mailboxes: some\n', 'mailboxes'],
      ['mailboxes: []\n', 'mailboxes'],
      ['mailboxes: [a, a]\n', 'mailboxes[1]'],
    ])('rejects %j', (line, field) => {
      expect(fieldsOf(problemsOf(`${line}schedule: "0 3 * * 1"\n`))).toEqual([field]);
    });

    it.each([
      ['timezone: Mars/Olympus', 'timezone'],
      ['secretName: "sendmux/static"', 'secretName'],
      ['secretName: "send mux/{mailboxId}"', 'secretName'],
      ['minRotationInterval: never', 'minRotationInterval'],
      ['maxKeyAge: 0s', 'maxKeyAge'],
      ['reconcileInterval: 0s', 'reconcileInterval'],
      ['reconcileInterval: never', 'reconcileInterval'],
      ['revokePreviousAfter: 86400', 'revokePreviousAfter'],
      ['kmsKeyId: "alias with spaces"', 'kmsKeyId'],
      ['tags: {"aws:owner": x}', 'tags["aws:owner"]'],
      ['tags: {version: 2}', 'tags.version'],
      ['rotation: {attempts: 0}', 'rotation.attempts'],
      ['rotation: {attempts: 2.5}', 'rotation.attempts'],
      ['rotation: {concurrency: "16"}', 'rotation.concurrency'],
      ['rotation: {onLimitExceeded: retry}', 'rotation.onLimitExceeded'],
      ['rotation: {backoffInitialDelay: 1m, backoffMaxDelay: 10s}', 'rotation.backoffMaxDelay'],
      ['rotation: {appNamePrefix: ""}', 'rotation.appNamePrefix'],
      [`rotation: {appNamePrefix: "${'p'.repeat(191)}"}`, 'rotation.appNamePrefix'],
      ['rateLimit: {max: 0}', 'rateLimit.max'],
      ['rateLimit: {duration: 0s}', 'rateLimit.duration'],
      ['sendmux: {timeout: 0ms}', 'sendmux.timeout'],
      ['retention: {completedCount: -1}', 'retention.completedCount'],
      ['alerts: {webhookUrl: "not a url"}', 'alerts.webhookUrl'],
      ['rotation: 3', 'rotation'],
    ])('rejects %j at %s', (line, field) => {
      expect(fieldsOf(problemsOf(`${MINIMAL_YAML}${line}\n`))).toEqual([field]);
    });

    it.each([
      ['"0 25 * * *"', 'an hour out of range'],
      ['"0 3 * *"', 'four fields'],
      ['5', 'a number'],
      ['""', 'an empty string'],
    ])('rejects the schedule %j (%s)', (schedule) => {
      expect(fieldsOf(problemsOf(`mailboxes: all\nschedule: ${schedule}\n`))).toEqual(['schedule']);
    });

    it('accepts a rate limit above the management key\'s 600 a minute (a sandbox may allow more)', () => {
      expect(parseFile(`${MINIMAL_YAML}rateLimit: {max: 1000, duration: 1s}\n`).rateLimit).toEqual({ max: 1000, durationMs: 1_000 });
    });

    it('accepts the six-field cron form with seconds', () => {
      expect(parseFile('mailboxes: all\nschedule: "30 0 3 * * 1"\n').schedule).toBe('30 0 3 * * 1');
    });
  });

  describe('groups', () => {
    const withGroups = (groups: string) => `${MINIMAL_YAML}groups:\n${groups}`;

    it('reads a group with mailboxes and one with an email pattern', () => {
      const file = parseFile(
        withGroups(
          '  - {name: critical, mailboxes: [mbx_1], schedule: "0 2 * * *", revokePreviousAfter: 0s}\n' +
            '  - {name: sales, emailGlob: "*@sales.example.com", schedule: "0 4 1 * *", timezone: Europe/Paris}\n',
        ),
      );
      expect(file.groups).toEqual([
        { name: 'critical', mailboxes: ['mbx_1'], schedule: '0 2 * * *', revokePreviousAfterMs: 0 },
        { name: 'sales', emailGlob: '*@sales.example.com', schedule: '0 4 1 * *', timezone: 'Europe/Paris' },
      ]);
    });

    it.each(['demo-000[13]@example.test', '*@{sales,ops}.example.test'])('rejects the unsupported glob syntax in %s instead of matching nothing', (glob) => {
      expect(() => parseSettings(withGroups(`  - {name: g, schedule: "@daily", emailGlob: "${glob}"}\n`), VALID_ENV, CONFIG_PATH)).toThrow(
        /\[ \] and \{ \} are not supported/,
      );
    });

    it('requires exactly one of mailboxes and emailGlob', () => {
      const problems = problemsOf(
        withGroups('  - {name: a, schedule: "@daily"}\n  - {name: b, schedule: "@daily", mailboxes: [x], emailGlob: "*"}\n'),
      );
      expect(fieldsOf(problems)).toEqual(['groups[0]', 'groups[1]']);
      expect(problems[0]?.expected).toContain('exactly one of');
    });

    it('names the group index of a bad schedule', () => {
      expect(fieldsOf(problemsOf(withGroups('  - {name: a, mailboxes: [x], schedule: "@daily"}\n  - {name: b, mailboxes: [y], schedule: "61 * * * *"}\n')))).toEqual([
        'groups[1].schedule',
      ]);
    });

    it('rejects two groups with the same name', () => {
      const problems = problemsOf(withGroups('  - {name: a, mailboxes: [x], schedule: "@daily"}\n  - {name: a, mailboxes: [y], schedule: "@daily"}\n'));
      expect(fieldsOf(problems)).toEqual(['groups[1].name']);
    });

    it('rejects a mailbox listed in two groups', () => {
      const problems = problemsOf(withGroups('  - {name: a, mailboxes: [x], schedule: "@daily"}\n  - {name: b, mailboxes: [x], schedule: "@daily"}\n'));
      expect(fieldsOf(problems)).toEqual(['groups[1].mailboxes']);
    });
  });

  describe('hostile YAML', () => {
    it('reports a self-referencing alias as a bad value instead of looping', () => {
      expect(fieldsOf(problemsOf('mailboxes: &a [*a]\nschedule: "0 3 * * 1"\n'))).toEqual(['mailboxes[0]']);
    });

    it('refuses an alias bomb instead of expanding it', () => {
      const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
      for (let level = 1; level <= 8; level += 1) {
        bomb.push(`${'b'.repeat(level)}: &${'b'.repeat(level)} [${Array(10).fill(level === 1 ? '*a' : `*${'b'.repeat(level - 1)}`).join(', ')}]`);
      }
      expect(problemsOf(bomb.join('\n'))[0]).toMatchObject({ field: 'YAML', expected: 'a YAML document that expands to a reasonable size' });
    });

    it('treats a "__proto__" key as an unknown key, not as a prototype', () => {
      const problems = problemsOf(`${MINIMAL_YAML}__proto__: {schedule: x}\n`);
      expect(fieldsOf(problems)).toEqual(['__proto__']);
    });

    it('keeps a "__proto__" tag as an ordinary tag', () => {
      const file = parseFile(`${MINIMAL_YAML}tags:\n  __proto__: polluted\n`);
      expect(Object.keys(file.tags)).toEqual(['__proto__']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('rejects binary data where text is expected', () => {
      expect(fieldsOf(problemsOf('mailboxes: all\nschedule: !!binary aGVsbG8=\n'))).toEqual(['schedule']);
    });
  });
});
