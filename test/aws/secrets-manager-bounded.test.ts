import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient } from '../../src/aws/secrets-manager-client';
import { HostileHttpServer, type HostileAnswer } from '../support/hostile-http-server';
import { failureOf, useFakeAwsCredentials } from './support/aws-test-env';

/**
 * The Secrets Manager client against a hostile endpoint: an answer is read to at most 1 MiB
 * (SECRETS_MANAGER_MAX_RESPONSE_BYTES) and within requestTimeoutMs, body included, then the
 * socket is closed. The SDK alone reads any body whole and without a time limit once headers came.
 */
useFakeAwsCredentials();

const MIB = 1024 * 1024;
const servers: HostileHttpServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function endpoint(answer: HostileAnswer): Promise<HostileHttpServer> {
  const server = await HostileHttpServer.start(answer);
  servers.push(server);
  return server;
}

it('reads at most 1 MiB of a 200 answer that streams 900 MB, closes the socket, and the process grows little', async () => {
  const server = await endpoint({ kind: 'huge', totalBytes: 900 * MIB, contentType: 'application/x-amz-json-1.1' });
  const client = createSecretsManagerClient({ region: 'us-east-1', endpoint: server.origin, maxAttempts: 1 });
  try {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const error = await failureOf(client.send(new ListSecretsCommand({})));
    await server.connections[0]!.closed;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expect(`${error.name}: ${error.message}`).toMatch(/over 1048576 bytes/);
    expect(server.connections[0]!.bytesWritten).toBeLessThan(32 * MIB);
    expect(rssGrowth).toBeLessThan(64 * MIB);
  } finally {
    client.destroy();
  }
});

it('fails with TimeoutError when the body trickles in past requestTimeoutMs, and closes the socket', async () => {
  const server = await endpoint({ kind: 'trickle-body', everyMs: 20 });
  const client = createSecretsManagerClient({ region: 'us-east-1', endpoint: server.origin, maxAttempts: 1, requestTimeoutMs: 300 });
  try {
    const error = await failureOf(client.send(new ListSecretsCommand({})));
    await server.connections[0]!.closed;
    expect(error.name).toBe('TimeoutError');
  } finally {
    client.destroy();
  }
});
