import type { RotatorEvent, RotatorEventSink } from '../../rotation/events';
import { formatDuration } from '../../scheduler/format-duration';

/**
 * The demo's plain account of what changed: one line per finished rotation or revocation
 * (retries and rate-limit pauses are in the logs), e.g.
 * `12:00:30  rotated  mbx_demo_0001  key smx_a… -> smx_b…  secret version 5f2c…  old key revoked at 12:01:30 (in 1m)`.
 * `revokeAfterMs` is the configured revokePreviousAfter (null = never). Never prints a secret:
 * events carry key ids only.
 */
export function createRotationLineSink(write: (line: string) => void, revokeAfterMs: number | null): RotatorEventSink {
  return { record: (event) => {
    const line = describeEvent(event, revokeAfterMs);
    if (line !== undefined) write(`${line}\n`);
  } };
}

/** The line for one event, or undefined for an attempt that did not finish the job. */
export function describeEvent(event: RotatorEvent, revokeAfterMs: number | null): string | undefined {
  const at = clock(event.at);
  if (event.kind === 'revocation') {
    if (event.outcome === 'revoked') return `${at}  revoked  ${event.mailboxId}  old key ${event.keyId}`;
    // A 404 from Sendmux: nothing was revoked, so the line must not say it was.
    if (event.outcome === 'not-found') return `${at}  NOT REVOKED  ${event.mailboxId}  Sendmux knows no key ${event.keyId} in this mailbox`;
    if (event.outcome === 'failed') return `${at}  REVOCATION FAILED  ${event.mailboxId}  key ${event.keyId}: ${event.message ?? 'see the logs'}`;
    return undefined;
  }
  if (event.outcome === 'rotated') {
    const previous = event.previousKeyId ?? '(none)';
    const version = event.secretVersionId ? `  secret version ${event.secretVersionId}` : '';
    return `${at}  rotated  ${event.mailboxId}  key ${previous} -> ${event.newKeyId ?? '?'}${version}  ${revocationNote(event.at, event.previousKeyId, revokeAfterMs)}`;
  }
  if (event.outcome === 'failed') return `${at}  ROTATION FAILED  ${event.mailboxId}: ${event.message ?? 'see the logs'}`;
  return undefined;
}

function revocationNote(at: string, previousKeyId: string | null | undefined, revokeAfterMs: number | null): string {
  if (!previousKeyId) return 'first key of this mailbox: nothing to revoke';
  if (revokeAfterMs === null) return 'old key stays live (revokePreviousAfter: never)';
  const when = new Date(Date.parse(at) + revokeAfterMs).toISOString();
  return `old key revoked at ${clock(when)} (in ${formatDuration(revokeAfterMs)})`;
}

/** HH:MM:SS of an ISO time, in UTC like the logs. */
function clock(iso: string): string {
  return iso.slice(11, 19);
}
