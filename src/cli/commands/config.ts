import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ConfigError, maskSettingsForDisplay, resolveConfigPath, type RotatorSettings } from '../../config';
import { rateLimitPerMinute, SENDMUX_MANAGEMENT_REQUESTS_PER_MINUTE } from '../../config/file-schema';
import { shortestGapMs } from '../../scheduler/schedule-frequency';
import { schedulesOf } from '../../scheduler/schedules';
import { formatDuration } from '../../scheduler/format-duration';
import { addConfigOption, EXIT_FAILURE, type CliContext } from '../context';
import { AwsRegionInvalidError, AwsRegionMissingError, resolveAwsRegion, type ResolvedAwsRegion } from '../../aws/region';
import { regionInputs } from '../../app/rotator-runtime';
import { InsecureBindError, isLoopbackHost } from '../../http/auth';

/**
 * Secrets Manager tolerates about one new version per secret per 10 minutes sustained (its
 * PutSecretValue quota and the 100-version limit on deprecated versions; AWS docs "Secrets
 * Manager quotas"). Each scheduled rotation writes one version.
 */
const SECRET_VERSION_INTERVAL_MS = 10 * 60_000;

interface CheckOptions {
  config?: string;
  json?: boolean;
}

/** `rotator config …`: commands about the configuration itself. */
export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('inspect the configuration');

  addConfigOption(
    config
      .command('check')
      .description('validate the configuration file and environment; print the effective settings with secrets masked')
      .option('--json', 'print JSON instead of YAML'),
  ).action(async (options: CheckOptions) => {
    await runConfigCheck(ctx, options);
  });
}

/** The region the service would use and its source, or why there is none (a note: `start` refuses then). */
async function regionReport(settings: RotatorSettings): Promise<{ region: ResolvedAwsRegion | null; problem?: string }> {
  try {
    return { region: await resolveAwsRegion(regionInputs(settings.env)) };
  } catch (err) {
    if (err instanceof AwsRegionMissingError || err instanceof AwsRegionInvalidError) return { region: null, problem: err.message };
    throw err;
  }
}

async function runConfigCheck(ctx: CliContext, options: CheckOptions): Promise<void> {
  const { io } = ctx;
  let settings: RotatorSettings;
  try {
    settings = ctx.loadSettings(options.config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const configPath = error.configPath ?? resolveConfigPath({ env: io.env, cwd: io.cwd, ...(options.config === undefined ? {} : { configPath: options.config }) }).path;
    if (options.json) {
      io.stderr(`${JSON.stringify({ ok: false, configPath, problems: error.problems }, null, 2)}\n`);
    } else {
      io.stderr(`${error.message}\n`);
    }
    ctx.setExitCode(EXIT_FAILURE);
    return;
  }

  const region = await regionReport(settings);
  const notes = notesAbout(settings, region.problem);
  const warnings = warningsAbout(settings, new Date());
  const display = maskSettingsForDisplay(settings);
  if (options.json) {
    io.stdout(`${JSON.stringify({ ok: true, configPath: settings.env.configPath, awsRegion: region.region, warnings, notes, settings: display }, null, 2)}\n`);
    return;
  }
  const regionLine = region.region ? `AWS region: ${region.region.region} (from ${region.region.source})` : 'AWS region: none';
  io.stdout(`Configuration OK (config file: ${settings.env.configPath})\n${regionLine}\n\n${stringify(display)}`);
  for (const warning of warnings) io.stderr(`warning: ${warning}\n`);
  for (const note of notes) io.stderr(`note: ${note}\n`);
}

/**
 * Valid settings that will hurt in production; they do not fail the check. A schedule (held back
 * by minRotationInterval, which skips a mailbox rotated more recently) that writes a mailbox's
 * secret more than once per 10 minutes outruns Secrets Manager's version quota.
 */
function warningsAbout(settings: RotatorSettings, now: Date): string[] {
  const warnings: string[] = [];
  const { file } = settings;
  for (const schedule of schedulesOf(file)) {
    const gap = shortestGapMs(schedule, now);
    if (gap === null) continue;
    const perMailbox = Math.max(gap, file.minRotationIntervalMs);
    if (perMailbox >= SECRET_VERSION_INTERVAL_MS) continue;
    warnings.push(
      `schedule ${schedule.name} ("${schedule.cron}" in ${schedule.timezone}) fires as often as every ${formatDuration(gap)} and ` +
        `minRotationInterval is ${formatDuration(file.minRotationIntervalMs)}, so each of its mailboxes may get a new secret version ` +
        `every ${formatDuration(perMailbox)}; Secrets Manager tolerates about one version per secret per 10 minutes sustained — ` +
        'fire less often or raise minRotationInterval to 10m or more',
    );
  }
  if (file.alerts.webhookUrl !== undefined && settings.env.alertWebhookSecret === undefined) {
    warnings.push(
      'alerts.webhookUrl is set but ALERT_WEBHOOK_SECRET is not, so alerts go out unsigned and a receiver cannot tell them from forgeries; ' +
        'set ALERT_WEBHOOK_SECRET to a "whsec_<base64>" secret (e.g. whsec_$(openssl rand -base64 32)) and verify the Standard Webhooks signature at the receiver',
    );
  }
  return warnings;
}

/** Things that are valid but will stop some commands from working. */
function notesAbout(settings: RotatorSettings, regionProblem: string | undefined): string[] {
  const notes: string[] = [];
  if (regionProblem !== undefined) {
    notes.push(`${regionProblem} — rotator start refuses to run, and commands that read or write AWS Secrets Manager fail, until one is set`);
  }
  const perMinute = rateLimitPerMinute(settings.file.rateLimit);
  if (perMinute > SENDMUX_MANAGEMENT_REQUESTS_PER_MINUTE) {
    notes.push(
      `rateLimit allows ${Math.round(perMinute)} jobs per minute, above the Sendmux management key's ` +
        `${SENDMUX_MANAGEMENT_REQUESTS_PER_MINUTE}; expect 429 responses against the real API`,
    );
  }
  if ((settings.env.apiToken === undefined || settings.env.apiToken === '') && !isLoopbackHost(settings.env.host)) {
    notes.push(`${new InsecureBindError(settings.env.host).message} — rotator start refuses to run until then (every role serves /healthz, /readyz and /metrics on HOST)`);
  } else if (settings.env.apiToken === undefined) {
    notes.push('ROTATOR_API_TOKEN is not set; the HTTP API will refuse operations that need it');
  }
  return notes;
}
