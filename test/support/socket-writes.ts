import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

/** Counts the writes the connection's socket hands to the operating system (one per _write/_writev). */
export function countSocketWrites(redis: Redis): { count: () => number } {
  const stream = (redis as unknown as { stream: Socket & { _write: Function; _writev?: Function } }).stream;
  let writes = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = stream[method]?.bind(stream);
    if (!original) continue;
    stream[method] = (...args: unknown[]) => {
      writes += 1;
      return original(...args);
    };
  }
  return { count: () => writes };
}
