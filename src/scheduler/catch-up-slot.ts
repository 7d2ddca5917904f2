const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/**
 * How long one catch-up slot lasts.
 *
 * A catch-up rotation has no cron tick to name it, so its slot is a time bucket: every replica
 * and every restart inside the same bucket computes the same slot, hence the same job id
 * (`rotate__<mailbox>__<slot>`), and BullMQ creates one job. Once that job has run, the same
 * bucket cannot enqueue the mailbox again (the job id still exists), so the bucket length is also
 * the least time between two catch-up attempts for one mailbox after a failure:
 * - at most a quarter of maxKeyAge, so a failed catch-up is retried several times before the key
 *   is a further maxKeyAge overdue;
 * - at most a day, so a mailbox without a secret (or with maxKeyAge off) is retried daily;
 * - at least a minute, so a tiny maxKeyAge cannot turn catch-up into a rotation per tick.
 *
 * Replicas whose clocks differ by up to ±30 s disagree only within 30 s of a bucket boundary. Even
 * then nothing rotates twice: while the first job waits or runs, BullMQ's per-mailbox
 * deduplication returns it to the second enqueue, and once it has finished the mailbox's key is
 * fresh, so the next check finds nothing due (and the job itself skips a key younger than
 * minRotationInterval).
 */
export function catchUpBucketMs(maxKeyAgeMs: number | null): number {
  if (maxKeyAgeMs === null) return DAY_MS;
  const quarter = Math.floor(maxKeyAgeMs / 4 / MINUTE_MS) * MINUTE_MS;
  return Math.min(DAY_MS, Math.max(MINUTE_MS, quarter));
}

/**
 * `c` + the UTC start of the bucket `now` falls in, to the minute, e.g. `c20261127T0600Z`. The `c`
 * keeps catch-up slots apart from cron tick slots (`t…`) and on-demand ones (`od…`).
 */
export function catchUpSlot(now: Date, maxKeyAgeMs: number | null): string {
  const bucketMs = catchUpBucketMs(maxKeyAgeMs);
  const start = new Date(Math.floor(now.getTime() / bucketMs) * bucketMs);
  const iso = start.toISOString(); // 2026-11-27T06:00:00.000Z
  return `c${iso.slice(0, 16).replace(/[-:]/g, '')}Z`;
}
