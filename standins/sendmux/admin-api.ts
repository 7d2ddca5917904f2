import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { FaultController } from './faults';
import type { KeyRecord, SandboxClock, SandboxConfigUpdate, SandboxMailboxInput, SandboxMailboxStatus } from './types';

/**
 * Test-control API under /_sandbox/ — NOT part of the vendor contract. Loopback callers only
 * (unless the sandbox was started with allowRemoteAdmin), because GET /_sandbox/state returns every
 * key's plaintext secret (the sandbox is a test double):
 *
 *   GET    /_sandbox/state                  mailboxes, keys with secrets, mint/revoke logs, counters,
 *                                           injected fault counts, pending faults, current config
 *   POST   /_sandbox/faults                 inject one fault rule (the SandboxFaults.inject shape)
 *   DELETE /_sandbox/faults                 clear every pending rule
 *   POST   /_sandbox/clock/advance          {ms}: move the sandbox clock forward
 *   POST   /_sandbox/mailboxes              {id, email, status?, displayName?, createdAt?}: add a mailbox
 *   POST   /_sandbox/mailboxes/:id/status   {status}: suspend, reactivate or delete a mailbox
 *   POST   /_sandbox/keys                   {mailboxId, appName?}: seed a live key without a mint call
 *   POST   /_sandbox/config                 {mintShape?, latencyMs?, rateLimit?, maxActiveKeysPerMailbox?,
 *                                            maxActiveKeysPerTeam?}: change behaviour at runtime
 */
export interface AdminControls {
  clock: SandboxClock;
  faults: FaultController;
  snapshot(): unknown;
  addMailbox(mailbox: SandboxMailboxInput): void;
  setMailboxStatus(id: string, status: SandboxMailboxStatus): void;
  addKey(mailboxId: string, options?: { appName?: string }): KeyRecord;
  configure(update: SandboxConfigUpdate): void;
  currentConfig(): unknown;
}

const mailboxStatusSchema = z.enum(['active', 'suspended', 'deleted']);
const mailboxSchema = z
  .object({
    id: z.string().min(1),
    email: z.string().email(),
    status: mailboxStatusSchema.optional(),
    displayName: z.string().nullable().optional(),
    createdAt: z.string().datetime({ offset: true }).optional(),
  })
  .strict();
const advanceSchema = z.object({ ms: z.number().finite().min(0) }).strict();
const statusSchema = z.object({ status: mailboxStatusSchema }).strict();
const seedKeySchema = z.object({ mailboxId: z.string().min(1), appName: z.string().min(1).max(255).optional() }).strict();
const nonNegativeInt = z.number().int().min(0);
const configSchema = z
  .object({
    mintShape: z.enum(['credential', 'legacy']).optional(),
    latencyMs: z.union([nonNegativeInt, z.object({ min: nonNegativeInt, max: nonNegativeInt }).strict(), z.null()]).optional(),
    rateLimit: z.union([z.object({ max: z.number().int().min(1), windowMs: z.number().int().min(1) }).strict(), z.null()]).optional(),
    maxActiveKeysPerMailbox: z.number().int().min(1).nullable().optional(),
    maxActiveKeysPerTeam: z.number().int().min(1).nullable().optional(),
  })
  .strict();

export async function registerAdminApi(app: FastifyInstance, controls: AdminControls, options: { allowRemote: boolean }): Promise<void> {
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request, reply) => {
        if (!options.allowRemote && !isLoopback(request.socket.remoteAddress)) {
          return adminError(reply, 403, 'The sandbox admin API only answers loopback callers.');
        }
      });
      admin.setErrorHandler((error, _request, reply) => {
        const statusCode = (error as { statusCode?: unknown }).statusCode;
        const status = typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 ? statusCode : 400;
        return adminError(reply, status, error instanceof Error ? error.message : String(error));
      });

      admin.get('/state', async () => ({
        ...(controls.snapshot() as object),
        injected: { ...controls.faults.injected },
        pendingFaults: controls.faults.pending,
        config: controls.currentConfig(),
      }));
      admin.post('/faults', async (request, reply) => {
        controls.faults.inject(request.body as never);
        return reply.code(201).send({ ok: true, pendingFaults: controls.faults.pending });
      });
      admin.delete('/faults', async () => {
        controls.faults.clear();
        return { ok: true };
      });
      admin.post('/clock/advance', async (request) => {
        const { ms } = parse(advanceSchema, request.body);
        controls.clock.advance(ms);
        return { ok: true, now: new Date(controls.clock.now()).toISOString() };
      });
      admin.post('/mailboxes', async (request, reply) => {
        const mailbox = parse(mailboxSchema, request.body);
        controls.addMailbox(mailbox);
        return reply.code(201).send({ ok: true, mailbox });
      });
      admin.post('/mailboxes/:id/status', async (request) => {
        const { id } = request.params as { id: string };
        const { status } = parse(statusSchema, request.body);
        controls.setMailboxStatus(id, status);
        return { ok: true, id, status };
      });
      admin.post('/keys', async (request, reply) => {
        const { mailboxId, appName } = parse(seedKeySchema, request.body);
        const key = controls.addKey(mailboxId, { appName });
        return reply.code(201).send({ ok: true, key });
      });
      admin.post('/config', async (request) => {
        controls.configure(parse(configSchema, request.body));
        return { ok: true, config: controls.currentConfig() };
      });
    },
    { prefix: '/_sandbox' },
  );
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new TypeError(`invalid request body (${issues})`);
  }
  return parsed.data;
}

function adminError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).send({ ok: false, error: { code: status === 403 ? 'insufficient_permissions' : 'invalid_parameter', message } });
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4.startsWith('127.') || address === '::1';
}
