/**
 * Variables a helper child process (the demo's redis-server and its watchdog `sh`) may inherit:
 * enough to find programs, a home, and the locale and time zone for its messages. Everything
 * else — SENDMUX_API_KEY, AWS_SECRET_ACCESS_KEY, ROTATOR_API_TOKEN, REDIS_PASSWORD and whatever
 * an operator exported — stays in this process: a child needs none of it, and a child's
 * environment is readable by its user (`/proc/<pid>/environ`) and copied into its own children.
 */
export const CHILD_ENV_ALLOWED: readonly string[] = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

/** The allowed variables of `source` that are set, plus `extra` (the child's own settings). */
export function childProcessEnv(source: NodeJS.ProcessEnv = process.env, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of CHILD_ENV_ALLOWED) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}
