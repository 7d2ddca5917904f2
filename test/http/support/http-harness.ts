import type { JobType } from 'bullmq';
import type { RotatorRuntime } from '../../../src/app/rotator-runtime';
import { startHttpServer, type HttpServerDeps, type RunningHttpServer } from '../../../src/http';
import { RotatorMetrics } from '../../../src/metrics/rotator-metrics';
import { TestBed } from '../../support/test-bed';
import { AuditLog } from '../../../src/audit/audit-log';
import { AlertNotifier } from '../../../src/alerts/alert-notifier';
import { combineSinks } from '../../../src/rotation/events';
import { collectMailboxOverview } from '../../../src/overview/mailbox-overview';
import { createMailboxCoverage } from '../../../src/scheduler/mailbox-coverage';
import { createIncidentCommands } from '../../../src/incidents';

export const TEST_API_TOKEN = 'test-api-token-0123456789abcdef';

/** The audit module's interface, kept in memory: records what it was asked for and answers canned events. */
export class InMemoryHistory {
  readonly calls: Array<{ mailboxId: string; limit: number }> = [];
  constructor(private readonly events: Map<string, unknown[]> = new Map()) {}
  async forMailbox(mailboxId: string, limit: number): Promise<unknown[]> {
    this.calls.push({ mailboxId, limit });
    return (this.events.get(mailboxId) ?? []).slice(0, limit);
  }
}

export interface HttpHarness {
  bed: TestBed;
  runtime: RotatorRuntime;
  metrics: RotatorMetrics;
  server: RunningHttpServer;
  history: InMemoryHistory;
  url: string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  mailboxes?: number;
  config?: Record<string, unknown>;
  label: string;
  /** Overrides of the server's dependencies (e.g. another `redis` for readiness). */
  server?: (deps: HttpServerDeps) => Partial<HttpServerDeps>;
  history?: InMemoryHistory;
  /**
   * Serve /admin/mailboxes as the service does: job events also go to a real AuditLog and
   * AlertNotifier (no webhook) in the bed's Redis, which the page's model and the
   * rotator_mailboxes_failing gauge read.
   */
  overview?: boolean;
}

/**
 * A TestBed runtime (worker included) whose job events feed a RotatorMetrics, and the HTTP
 * server in front of it on 127.0.0.1, an ephemeral port, with TEST_API_TOKEN.
 */
export async function startHarness(options: HarnessOptions): Promise<HttpHarness> {
  const bed = await TestBed.start({ mailboxes: options.mailboxes ?? 1, label: options.label, config: options.config });
  const audit = options.overview ? new AuditLog({ redis: bed.redis, prefix: bed.prefix, logger: bed.logs.logger }) : undefined;
  const alerts = options.overview ? new AlertNotifier({ redis: bed.redis, prefix: bed.prefix, logger: bed.logs.logger }) : undefined;
  // The runtime needs the metrics (as its event sink) before the metrics can read the runtime's queue.
  let runtime: RotatorRuntime | undefined;
  const metrics = new RotatorMetrics({
    queue: {
      getJobCounts: (...states: string[]) => requireRuntime().queue.queue.getJobCounts(...(states as JobType[])),
      isPaused: () => requireRuntime().queue.queue.isPaused(),
    },
    maxKeyAgeMs: bed.settings.file.maxKeyAgeMs,
    ...(alerts ? { consecutiveFailures: () => alerts.consecutiveFailures() } : {}),
    lastRotations: () => requireRuntime().ledger.allLastRotations(),
  });
  function requireRuntime(): RotatorRuntime {
    if (!runtime) throw new Error('runtime not started');
    return runtime;
  }
  runtime = await bed.runtime({ events: combineSinks([metrics, audit, alerts]), onSendmuxCall: (record) => metrics.onSendmuxCall(record) });
  // Connected before any test can close it: BullMQ reports a connection that was still being set up
  // when it was closed as an 'error' no one listens to any more (seen as "Connection is closed" in
  // the shortest suites on a loaded machine).
  await Promise.all([runtime.worker?.waitUntilReady(), runtime.queue.queue.waitUntilReady()]);
  const rt = runtime;
  const history = options.history ?? new InMemoryHistory();
  const base: HttpServerDeps = {
    logger: bed.logs.logger,
    queue: runtime.queue,
    redis: runtime.redis,
    metrics,
    apiToken: TEST_API_TOKEN,
    // This bed's own counts: failures of one suite never limit another's requests.
    failedAuth: { keyPrefix: `${bed.prefix}:auth-failures` },
    host: '127.0.0.1',
    port: 0,
    history,
    resolveAllMailboxIds: async () => [...bed.mailboxIds],
    ...(audit && alerts
      ? {
          mailboxOverview: {
            collect: () =>
              collectMailboxOverview({ file: bed.settings.file, ledger: rt.ledger, audit, queue: rt.queue.queue, alerts, secrets: rt.secrets }),
          },
        }
      : {}),
    covers: createMailboxCoverage({ file: bed.settings.file, sendmux: runtime.sendmux }),
    incidents: createIncidentCommands({
      file: bed.settings.file, sendmux: runtime.sendmux, secrets: runtime.secrets, queue: runtime.queue, ledger: runtime.ledger,
      covers: createMailboxCoverage({ file: bed.settings.file, sendmux: runtime.sendmux }),
      events: combineSinks([metrics, audit, alerts]),
    }),
  };
  const server = await startHttpServer({ ...base, ...options.server?.(base) });
  return {
    bed,
    runtime,
    metrics,
    server,
    history,
    url: server.url,
    async close() {
      await server.close();
      await alerts?.close();
      await bed.close();
    },
  };
}

export function bearer(token = TEST_API_TOKEN): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = bearer()): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export async function getJson(url: string, headers: Record<string, string> = bearer()): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.json() };
}

/** Polls GET /rotations/:jobId until the job reaches `state`. */
export async function waitForJobState(harness: HttpHarness, jobId: string, state: string, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await getJson(`${harness.url}/rotations/${jobId}`);
    if (body?.state === state) return body;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not reach ${state} within ${timeoutMs}ms; last seen ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
