import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Logger } from 'pino';

/** A skew this large (ms) is logged once at warn: beyond it, local ages of AWS dates are visibly wrong. */
export const LARGE_CLOCK_SKEW_MS = 30_000;
/** The `Date` header has a resolution of one second; a smaller measured offset is noise, not skew. */
const DATE_HEADER_RESOLUTION_MS = 1_000;

export interface AwsClockOptions {
  logger?: Logger;
  /** This machine's clock (ms since the epoch). Default Date.now. */
  localNowMs?: () => number;
  /** Default LARGE_CLOCK_SKEW_MS. */
  warnAboveMs?: number;
}

/**
 * AWS's idea of "now", learned from the `Date` header of every Secrets Manager answer (success or
 * error), so that ages of the dates AWS stamps (CreatedDate, LastChangedDate) are measured on
 * AWS's clock, not on a worker clock that may be a minute off.
 *
 * Why not the SDK's own `systemClockOffset`: the SDK updates it only when the skew exceeds the
 * 5 minutes after which AWS refuses a signature (@smithy/core getUpdatedSystemClockOffset), so a
 * 60 s drift leaves it at 0 while making "rotated … ago" 60 s wrong.
 *
 * The offset is `serverDate - localMidpointOfTheCall`, with the header's 1 s truncation
 * compensated by half a second; offsets under one second are treated as none. Until a first
 * answer has arrived the offset is 0 (the local clock).
 */
export class AwsClock {
  private offset = 0;
  private measured = false;
  private warned = false;
  private readonly localNowMs: () => number;
  private readonly warnAboveMs: number;

  constructor(private readonly opts: AwsClockOptions = {}) {
    this.localNowMs = opts.localNowMs ?? Date.now;
    this.warnAboveMs = opts.warnAboveMs ?? LARGE_CLOCK_SKEW_MS;
  }

  /** AWS's clock minus this machine's, in ms (positive: this machine is behind AWS). */
  get offsetMs(): number {
    return this.offset;
  }

  /** Whether any answer carried a usable `Date` header yet. */
  get hasMeasured(): boolean {
    return this.measured;
  }

  /** Now on AWS's clock, as far as the last answer told (ms since the epoch). */
  nowMs(): number {
    return this.localNowMs() + this.offset;
  }

  /**
   * How long ago (ms, never negative) AWS stamped `date`, on AWS's clock. A negative difference
   * left after the correction (a date stamped within the header's resolution) counts as 0.
   */
  ageMs(date: Date): number {
    return Math.max(0, this.nowMs() - date.getTime());
  }

  /**
   * Takes one answer's `Date` header (an HTTP-date) and the local times the call was sent and
   * answered (ms). An unparsable header is ignored.
   */
  observe(dateHeader: string | undefined, sentAtMs: number, receivedAtMs: number): void {
    if (dateHeader === undefined) return;
    const serverMs = Date.parse(dateHeader);
    if (!Number.isFinite(serverMs)) return;
    const measured = serverMs + DATE_HEADER_RESOLUTION_MS / 2 - (sentAtMs + receivedAtMs) / 2;
    this.offset = Math.abs(measured) < DATE_HEADER_RESOLUTION_MS ? 0 : Math.round(measured);
    this.measured = true;
    if (!this.warned && Math.abs(this.offset) > this.warnAboveMs) {
      this.warned = true;
      const direction = this.offset > 0 ? 'behind' : 'ahead of';
      this.opts.logger?.warn(
        { clockSkewMs: this.offset, thresholdMs: this.warnAboveMs },
        `this machine's clock is ${Math.round(Math.abs(this.offset) / 1000)}s ${direction} AWS Secrets Manager's (from its Date header); ` +
          'key ages are measured on AWS\'s clock, but fix the clock (NTP / chrony): other comparisons and the logs use it',
      );
    }
  }
}

const attached = new WeakMap<SecretsManagerClient, AwsClock>();

/**
 * The AwsClock fed by `client`'s answers, created and attached (one middleware at the
 * deserialize step) the first time it is asked for; later calls return the same clock.
 */
export function awsClockOf(client: SecretsManagerClient, options: AwsClockOptions = {}): AwsClock {
  const existing = attached.get(client);
  if (existing) return existing;
  const clock = new AwsClock(options);
  attached.set(client, clock);
  const now = options.localNowMs ?? Date.now;
  client.middlewareStack.add(
    (next) => async (args) => {
      const sentAt = now();
      try {
        const output = await next(args);
        clock.observe(dateHeaderOf((output as { response?: unknown }).response), sentAt, now());
        return output;
      } catch (error) {
        clock.observe(dateHeaderOf((error as { $response?: unknown } | null)?.$response), sentAt, now());
        throw error;
      }
    },
    { step: 'deserialize', name: 'rotatorAwsClock', override: true },
  );
  return clock;
}

function dateHeaderOf(response: unknown): string | undefined {
  const headers = (response as { headers?: Record<string, unknown> } | undefined)?.headers;
  if (!headers) return undefined;
  const value = headers['date'] ?? headers['Date'];
  return typeof value === 'string' ? value : undefined;
}
