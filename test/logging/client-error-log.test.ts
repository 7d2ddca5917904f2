import { connect } from 'node:net';
import { createLogger, redactSecrets } from '../../src/logging/logger';
import { scrubSecrets } from '../../src/security/scrub-secrets';
import { startHarness, type HttpHarness } from '../http/support/http-harness';

/** A token no scrubber knows by shape: only its context (or never writing the bytes) keeps it out. */
const TOKEN = 'TraceLeakToken_7f3a9c2e41b8d6f05a1c';

/** Every array of byte values in a parsed log line, decoded as text (how a logged Buffer would read). */
function decodedByteArrays(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((item) => Number.isInteger(item) && item >= 0 && item <= 255)) out.push(Buffer.from(value as number[]).toString('latin1'));
    else for (const item of value) decodedByteArrays(item, out);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) decodedByteArrays(item, out);
  }
  return out;
}

/** Writes raw bytes to the server and resolves with what it answered once it closes the socket. */
function sendRaw(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(answer) : reject(err)));
    socket.on('close', () => resolve(answer));
    socket.write(request, 'latin1');
  });
}

describe('the HTTP server at LOG_LEVEL=trace, for requests the HTTP parser refuses', () => {
  let harness: HttpHarness;
  const chunks: string[] = [];

  beforeAll(async () => {
    const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void chunks.push(line) } });
    harness = await startHarness({ label: 'client-error-log', server: () => ({ logger }) });
  });
  afterAll(async () => harness.close());

  function expectTokenNowhere(): void {
    const text = chunks.join('');
    expect(text).not.toContain(TOKEN);
    const lines = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown);
    for (const decoded of lines.flatMap((line) => decodedByteArrays(line))) expect(decoded).not.toContain(TOKEN);
  }

  it('logs a request with a bad header byte by its error code, without its bytes or the token', async () => {
    chunks.length = 0;
    const answer = await sendRaw(harness.url, `GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nX-Bad: a\u0001b\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const line = chunks.map((c) => JSON.parse(c) as Record<string, unknown>).find((l) => l['msg'] === 'client error');
    expect(line).toBeDefined();
    expectTokenNowhere();
  });

  it('logs a request whose headers exceed 16 KB by its error code, without its bytes or the token', async () => {
    chunks.length = 0;
    const answer = await sendRaw(harness.url, `GET /queue HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nX-Padding: ${'p'.repeat(17 * 1024)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    const line = chunks.map((c) => JSON.parse(c) as Record<string, unknown>).find((l) => l['msg'] === 'client header_overflow');
    expect(line).toBeDefined();
    expectTokenNowhere();
  });
});

describe('the log redactor and binary data', () => {
  it.each([
    ['a Buffer', Buffer.from(`Authorization: Bearer ${TOKEN}`)],
    ['a Uint8Array', new TextEncoder().encode(`Authorization: Bearer ${TOKEN}`)],
    ['an ArrayBuffer', new TextEncoder().encode(`Authorization: Bearer ${TOKEN}`).buffer],
  ])('writes %s as its size, never its bytes', (_name, bytes) => {
    const chunks: string[] = [];
    const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void chunks.push(line) } });
    logger.trace({ packet: bytes, nested: { deeper: [bytes] } }, 'bytes');
    const line = JSON.parse(chunks.join('')) as { packet: unknown; nested: { deeper: unknown[] } };
    expect(line.packet).toMatch(/^\[binary: \d+ bytes, not logged\]$/);
    expect(line.nested.deeper[0]).toBe(line.packet);
    expect(decodedByteArrays(line).join('')).toBe('');
  });

  it('drops the rawPacket of an error logged as err', () => {
    const chunks: string[] = [];
    const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void chunks.push(line) } });
    const err = Object.assign(new Error('Parse Error: Invalid header value char'), { code: 'HPE_INVALID_HEADER_TOKEN', rawPacket: Buffer.from(`Authorization: Bearer ${TOKEN}\r\n`) });
    logger.trace({ err }, 'client error');
    expect(chunks.join('')).not.toContain(TOKEN);
    expect(decodedByteArrays(JSON.parse(chunks.join(''))).join('')).not.toContain(TOKEN);
    expect((JSON.parse(chunks.join('')) as { err: { code: string } }).err.code).toBe('HPE_INVALID_HEADER_TOKEN');
  });

  it('scrubs HTTP credentials quoted in text', () => {
    expect(scrubSecrets(`GET / HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\n`)).not.toContain(TOKEN);
    expect(scrubSecrets(`authorization: Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`)).toBe('authorization: [REDACTED]');
    expect(redactSecrets({ message: `the header was "bearer ${TOKEN}"` })).toEqual({ message: 'the header was "bearer [REDACTED]"' });
  });
});
