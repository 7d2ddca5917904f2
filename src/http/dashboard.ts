import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { AuthHook } from './auth';
import { sendError } from './errors';

export const DASHBOARD_PATH = '/admin/queues';

const BASE_HREF = `<base href="${DASHBOARD_PATH}/"`;

/** The only methods a read-only dashboard answers. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Bull Board for the rotation queue at /admin/queues, in a scope of its own so that its
 * credentials hook, view engine and static files apply to its routes only.
 *
 * Read-only by default: the board is a window, not a control panel (a click could add a
 * revocation job, promote one past its grace period, or edit job data). Bull Board's own
 * readOnlyMode hides the actions and refuses them with 405; the hook below refuses every
 * non-read method as well, so a route Bull Board adds later cannot slip through.
 */
export async function registerDashboard(
  app: FastifyInstance,
  opts: { queue: Queue; auth?: AuthHook; readOnly: boolean; publicPrefix?: (request: FastifyRequest) => string },
): Promise<void> {
  await app.register(async (scope) => {
    // Bull Board's page loads its assets and calls its API relative to `<base href>`: behind a
    // proxy serving the rotator under a prefix, the base must carry it (the routes here do not).
    const publicPrefix = opts.publicPrefix;
    if (publicPrefix) {
      scope.addHook('onSend', async (request, reply, payload) => {
        const type = String(reply.getHeader('content-type') ?? '');
        if (typeof payload !== 'string' || !type.startsWith('text/html')) return payload;
        const prefix = publicPrefix(request);
        return prefix === '' ? payload : payload.replace(BASE_HREF, `<base href="${prefix}${DASHBOARD_PATH}/"`);
      });
    }
    if (opts.auth) scope.addHook('onRequest', opts.auth);
    if (opts.readOnly) {
      scope.addHook('onRequest', async (request, reply) => {
        if (READ_METHODS.has(request.method)) return;
        reply.header('Allow', 'GET, HEAD');
        await sendError(reply, 405, 'read_only', 'the dashboard is read-only; set dashboard.readOnly: false in the configuration to enable job actions (dangerous)');
      });
    }
    // Bull Board's page asks Google Fonts for its typefaces: offline that request hangs the page's
    // styles, and it tells a third party who opens the dashboard. The page works with the
    // browser's own fonts, so the link is taken out of every HTML answer.
    scope.addHook('onSend', async (_request, reply, payload) =>
      typeof payload === 'string' && String(reply.getHeader('content-type') ?? '').includes('text/html') ? withoutExternalStylesheets(payload) : payload,
    );
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(DASHBOARD_PATH);
    createBullBoard({
      queues: [new BullMQAdapter(opts.queue, { readOnlyMode: opts.readOnly })],
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Sendmux key rotator' } },
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}

/** `html` without `<link>` elements that load from another origin (http(s):// or protocol-relative). */
export function withoutExternalStylesheets(html: string): string {
  return html.replace(/<link\b[^>]*\bhref=["'](?:https?:)?\/\/[^"']*["'][^>]*>\s*/gi, '');
}
