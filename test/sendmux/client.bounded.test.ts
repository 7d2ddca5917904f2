import { DEFAULT_SENDMUX_MAX_RESPONSE_BYTES, SendmuxClient, type SendmuxClientOptions } from '../../src/sendmux/client';
import { isSendmuxError, type SendmuxError } from '../../src/sendmux/errors';
import { HostileHttpServer, type HostileAnswer } from '../support/hostile-http-server';

/**
 * The Sendmux client against a hostile upstream: every answer is read to at most
 * maxResponseBytes (1 MiB by default, far above the contract's largest answer, a 100-item
 * mailbox page) within timeoutMs, then the socket is closed.
 */
const MIB = 1024 * 1024;
const servers: HostileHttpServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function upstream(answer: HostileAnswer): Promise<HostileHttpServer> {
  const server = await HostileHttpServer.start(answer);
  servers.push(server);
  return server;
}

function clientFor(server: HostileHttpServer, overrides: Partial<SendmuxClientOptions> = {}): SendmuxClient {
  return new SendmuxClient({ baseUrl: `${server.origin}/api/v1`, managementKey: 'smx_root_BOUNDEDtest0123456789', ...overrides });
}

async function failureOf(call: Promise<unknown>): Promise<SendmuxError> {
  try {
    await call;
  } catch (error) {
    if (isSendmuxError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

it('reads at most 1 MiB of a 200 answer that streams 900 MB, closes the socket, and the process grows little', async () => {
  const total = 900 * MIB;
  const server = await upstream({ kind: 'huge', totalBytes: total });
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const error = await failureOf(clientFor(server).getMailbox('mbx_1'));
  await server.connections[0]!.closed;
  const rssGrowth = process.memoryUsage().rss - rssBefore;

  expect(error.code).toBe('invalid_response');
  expect(error.message).toContain(`exceeds ${DEFAULT_SENDMUX_MAX_RESPONSE_BYTES} bytes`);
  expect(server.connections[0]!.bytesWritten).toBeLessThan(32 * MIB);
  expect(rssGrowth).toBeLessThan(64 * MIB);
});

it('gives up on a 200 whose body trickles in once timeoutMs has passed, and closes the socket', async () => {
  const server = await upstream({ kind: 'trickle-body', everyMs: 20 });
  const error = await failureOf(clientFor(server, { timeoutMs: 300 }).getMailbox('mbx_1'));
  await server.connections[0]!.closed;
  expect(error).toMatchObject({ code: 'timeout', retryable: true });
  expect(error.message).toContain('no complete response within 300 ms');
});

it('gives up on a status line that trickles in byte by byte once timeoutMs has passed', async () => {
  const server = await upstream({ kind: 'trickle-head', everyMs: 20 });
  const error = await failureOf(clientFor(server, { timeoutMs: 300 }).getMailbox('mbx_1'));
  await server.connections[0]!.closed;
  expect(error).toMatchObject({ code: 'timeout', status: null });
});
