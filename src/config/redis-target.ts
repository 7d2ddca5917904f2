import { maskUrlCredentials, maskToken } from './masking';
import type { RedisTarget } from './types';

/** The single-node target for a redis:// or rediss:// URL, as REDIS_URL alone would give. */
export function redisTargetFromUrl(url: string): RedisTarget {
  return { mode: 'single', variable: 'REDIS_URL', url, tls: url.startsWith('rediss:') };
}

/**
 * Where `target` points, safe to print: the URL with its password masked, or the node list.
 * E.g. `rediss://app:****@redis.internal:6380`, `cluster 10.0.1.10:6379,10.0.2.10:6379`,
 * `sentinel master "mymaster" via 10.0.1.10:26379`.
 */
export function describeRedisTarget(target: RedisTarget): string {
  const hosts = (nodes: ReadonlyArray<{ host: string; port: number }>) =>
    nodes.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
  const tls = target.tls && !(target.mode === 'single' && target.url.startsWith('rediss:')) ? ' (TLS)' : '';
  switch (target.mode) {
    case 'single':
      return `${maskUrlCredentials(target.url)}${tls}`;
    case 'cluster':
      return `cluster ${hosts(target.nodes)}${tls}`;
    case 'sentinel':
      return `sentinel master "${target.masterName}" via ${hosts(target.sentinels)}${tls}`;
  }
}

/** The Redis settings as `config check` shows them: the mode, where, and credentials masked. */
export function maskRedisTargetForDisplay(target: RedisTarget): Record<string, unknown> {
  return {
    mode: target.mode,
    variable: target.variable,
    address: describeRedisTarget(target),
    ...(target.mode === 'cluster' ? { nodes: target.nodes.map((n) => `${n.host}:${n.port}`) } : {}),
    ...(target.mode === 'sentinel' ? { sentinels: target.sentinels.map((n) => `${n.host}:${n.port}`), masterName: target.masterName } : {}),
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: maskToken() }),
    tls: target.tls,
    ...(target.tlsCa === undefined ? {} : { tlsCaFile: target.tlsCa.file }),
  };
}
