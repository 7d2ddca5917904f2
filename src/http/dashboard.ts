import type { FastifyInstance } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { AuthHook } from './auth';

export const DASHBOARD_PATH = '/admin/queues';

/**
 * Bull Board for the rotation queue at /admin/queues, in a scope of its own so that its
 * credentials hook, view engine and static files apply to its routes only.
 */
export async function registerDashboard(app: FastifyInstance, opts: { queue: Queue; auth?: AuthHook }): Promise<void> {
  await app.register(async (scope) => {
    if (opts.auth) scope.addHook('onRequest', opts.auth);
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(DASHBOARD_PATH);
    createBullBoard({
      queues: [new BullMQAdapter(opts.queue)],
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Sendmux key rotator' } },
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}
