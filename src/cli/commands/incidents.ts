import type { Command } from 'commander';
import pino from 'pino';
import { withReachableRuntime } from '../cli-runtime';
import { AuditLog } from '../../audit/audit-log';
import { revokeKeyByHand, type ManualRevocation } from '../../incidents/revoke-key';
import { retryRotation, type RetryOutcome } from '../../incidents/retry-rotation';
import { createMailboxCoverage } from '../../scheduler/mailbox-coverage';
import { isSendmuxId } from '../../sendmux/ids';
import { JOB_ID_PATTERN } from '../../rotation/identity';
import { cliUser } from './rotate';
import { addConfigOption, EXIT_FAILURE, EXIT_REFUSED, EXIT_USAGE, type CliContext } from '../context';

interface IncidentOptions {
  config?: string;
  json?: boolean;
}

/** `rotator revoke <mailboxId> <keyId>` and `rotator retry <jobId>`: the incident commands. */
export function registerIncidentCommands(program: Command, ctx: CliContext): void {
  addConfigOption(
    program
      .command('revoke')
      .description('revoke one key of a mailbox now (a leaked previous key, a possibly orphaned key); refuses the AWSCURRENT and AWSPENDING keys')
      .argument('<mailboxId>', 'mailbox id, e.g. mbx_123')
      .argument('<keyId>', 'the key’s public id, e.g. smx_…')
      .option('--json', 'print machine-readable JSON'),
  ).action(async (mailboxId: string, keyId: string, options: IncidentOptions) => {
    for (const [name, value] of [['mailbox id', mailboxId], ['key id', keyId]] as const) {
      if (!isSendmuxId(value)) {
        ctx.io.stderr(`rotator revoke: invalid ${name} ${JSON.stringify(value)}: use 1-255 characters from A-Z a-z 0-9 _ -\n`);
        ctx.setExitCode(EXIT_USAGE);
        return;
      }
    }
    const settings = ctx.loadSettings(options.config);
    await withReachableRuntime(settings, async (runtime) => {
      const audit = new AuditLog({ redis: runtime.redis, prefix: settings.env.queuePrefix, logger: pino({ level: 'silent' }) });
      const answer = await revokeKeyByHand(
        { file: settings.file, sendmux: runtime.sendmux, secrets: runtime.secrets, events: audit },
        { mailboxId, keyId, requestedBy: `cli:${cliUser(ctx.io.env)}` },
      );
      await audit.flush();
      ctx.io.stdout(options.json ? `${JSON.stringify(answer, null, 2)}\n` : `${formatRevocation(answer)}\n`);
      ctx.setExitCode(answer.outcome === 'revoked' ? 0 : answer.outcome === 'refused' ? EXIT_REFUSED : EXIT_FAILURE);
    });
  });

  addConfigOption(
    program
      .command('retry')
      .description('run a failed rotation again with the same slot and Idempotency-Key, unless a newer rotation of its mailbox exists')
      .argument('<jobId>', 'the failed job’s id, e.g. rotate__mbx_123__<slot>')
      .option('--json', 'print machine-readable JSON'),
  ).action(async (jobId: string, options: IncidentOptions) => {
    if (!JOB_ID_PATTERN.test(jobId)) {
      ctx.io.stderr(`rotator retry: invalid job id ${JSON.stringify(jobId)}: use 1-600 characters from A-Z a-z 0-9 _ -\n`);
      ctx.setExitCode(EXIT_USAGE);
      return;
    }
    const settings = ctx.loadSettings(options.config);
    await withReachableRuntime(settings, async (runtime) => {
      const answer = await retryRotation(
        { queue: runtime.queue, ledger: runtime.ledger, covers: createMailboxCoverage({ file: settings.file, sendmux: runtime.sendmux }) },
        jobId,
        `cli:${cliUser(ctx.io.env)}`,
      );
      ctx.io.stdout(options.json ? `${JSON.stringify(answer, null, 2)}\n` : `${formatRetry(answer)}\n`);
      if (answer.outcome === 'refused') ctx.setExitCode(EXIT_REFUSED);
    });
  });
}

function formatRevocation(answer: ManualRevocation): string {
  const detail = answer.outcome === 'revoked' ? answer.confirmation : answer.outcome === 'refused' ? answer.reason : undefined;
  const request = 'requestId' in answer && answer.requestId ? `  request=${answer.requestId}` : '';
  return `${answer.mailboxId}  ${answer.keyId}  ${answer.outcome}${detail ? ` (${detail})` : ''}${request}  — ${answer.message}`;
}

function formatRetry(answer: RetryOutcome): string {
  return answer.outcome === 'retried' ? `${answer.jobId}  retried  — ${answer.message}` : `${answer.jobId}  refused (${answer.reason})  — ${answer.message}`;
}
