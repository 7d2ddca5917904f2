import type { Logger } from 'pino';
import type { SecretsManagerCall } from '../aws/secret-store';

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * The log of one step of one job: its lines name the Secrets Manager calls that step made (the
 * store logs each call at debug only), each call once, in the first line the step writes after
 * it. A step's calls belong to that step's object, never to a buffer shared with the next step,
 * so a line written late (a bookkeeping failure reported after the job moved on) names no call of
 * another step.
 *
 * Sendmux calls are named by the line that reports them (`sendmuxRequestId`), from the call's own
 * result: one call, one line.
 */
export class StepLine {
  private readonly calls: string[] = [];
  private named = 0;

  /**
   * `previous`: the line of the step before, in the same job. Its calls that none of its lines
   * named (a step that logs nothing, like a quick look) are named by this step's first line: a
   * hand-over at a step boundary, so they stay with their job and are named once.
   */
  constructor(
    private readonly log: Logger,
    /** The step's name, added to every line as `step`. */
    readonly step: string,
    previous?: StepLine,
  ) {
    if (previous) this.calls.push(...(previous.unnamedCalls().awsRequestIds ?? []));
  }

  /** Records an answered Secrets Manager call made for this step (SecretStore's onCall). */
  noteAwsCall(call: SecretsManagerCall): void {
    this.calls.push(`${call.operation} ${call.requestId ?? '(none)'}${call.awsErrorName ? ` ${call.awsErrorName}` : ''}`);
  }

  debug(fields: Record<string, unknown>, message: string): void {
    this.write('debug', fields, message);
  }
  info(fields: Record<string, unknown>, message: string): void {
    this.write('info', fields, message);
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.write('warn', fields, message);
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.write('error', fields, message);
  }

  /** Whether calls of this step are not yet named by a line (the job's last line names them). */
  get hasUnnamedCalls(): boolean {
    return this.named < this.calls.length;
  }

  /** `{ awsRequestIds }` of the calls no line of this step named yet (marks them named), or `{}`. */
  unnamedCalls(): { awsRequestIds?: string[] } {
    if (this.named >= this.calls.length) return {};
    const awsRequestIds = this.calls.slice(this.named);
    this.named = this.calls.length;
    return { awsRequestIds };
  }

  private write(level: Level, fields: Record<string, unknown>, message: string): void {
    this.log[level]({ ...this.unnamedCalls(), step: this.step, ...fields }, message);
  }
}
