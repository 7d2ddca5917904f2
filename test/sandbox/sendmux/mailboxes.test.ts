import { startSendmuxSandbox } from '../../../standins/sendmux';
import type { SendmuxSandbox } from '../../../standins/sendmux';
import { call } from './helpers';

function mailboxesCreatedOneMinuteApart(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    id: `mbx_page_${String(i).padStart(3, '0')}`,
    email: `page-${i}@example.test`,
    createdAt: new Date(Date.UTC(2030, 0, 1) + i * 60_000).toISOString(),
  }));
}

describe('Sendmux sandbox mailbox listing and lookup', () => {
  let sandbox: SendmuxSandbox;

  afterEach(() => sandbox.close());

  it('pages through every mailbox newest first with opaque cursors', async () => {
    const seeded = mailboxesCreatedOneMinuteApart(7);
    sandbox = await startSendmuxSandbox({ mailboxes: seeded, rateLimit: null });

    const pages = [];
    let cursor: string | undefined;
    do {
      const response = await call(sandbox, 'GET', `/mailboxes?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(response.status).toBe(200);
      pages.push(response.json);
      cursor = response.json.pagination.next_cursor;
    } while (cursor !== undefined);

    expect(pages.map((p) => p.data.length)).toEqual([3, 3, 1]);
    expect(pages.map((p) => p.pagination.has_more)).toEqual([true, true, false]);
    expect(pages[2].pagination).toEqual({ has_more: false });
    const ids = pages.flatMap((p) => p.data.map((m: { id: string }) => m.id));
    expect(ids).toEqual(seeded.map((m) => m.id).reverse());
  });

  it('orders mailboxes created in the same millisecond newest-added first', async () => {
    sandbox = await startSendmuxSandbox({
      mailboxes: [
        { id: 'mbx_first', email: 'first@example.test', createdAt: '2030-01-01T00:00:00.000Z' },
        { id: 'mbx_second', email: 'second@example.test', createdAt: '2030-01-01T00:00:00.000Z' },
      ],
    });

    const page1 = await call(sandbox, 'GET', '/mailboxes?limit=1');
    const page2 = await call(sandbox, 'GET', `/mailboxes?limit=1&cursor=${page1.json.pagination.next_cursor}`);

    expect([page1.json.data[0].id, page2.json.data[0].id]).toEqual(['mbx_second', 'mbx_first']);
  });

  it('returns 50 mailboxes per page by default and at most 100', async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: mailboxesCreatedOneMinuteApart(120), rateLimit: null });

    const byDefault = await call(sandbox, 'GET', '/mailboxes');
    const largest = await call(sandbox, 'GET', '/mailboxes?limit=100');

    expect(byDefault.json.data).toHaveLength(50);
    expect(largest.json.data).toHaveLength(100);
    expect(largest.json.pagination.has_more).toBe(true);
  });

  it.each(['0', '101', 'abc', '1.5', '-1', ''])('rejects limit=%s with 400 invalid_parameter naming limit', async (limit) => {
    sandbox = await startSendmuxSandbox({ mailboxes: mailboxesCreatedOneMinuteApart(1) });

    const response = await call(sandbox, 'GET', `/mailboxes?limit=${limit}`);

    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'invalid_parameter', param: 'limit', retryable: false });
  });

  it('rejects a cursor it did not issue with 400 invalid_parameter naming cursor', async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: mailboxesCreatedOneMinuteApart(1) });

    const response = await call(sandbox, 'GET', '/mailboxes?cursor=not-a-cursor');

    expect(response.status).toBe(400);
    expect(response.json.error.param).toBe('cursor');
  });

  it('leaves deleted mailboxes out unless include_deleted=true, and keeps suspended ones in', async () => {
    sandbox = await startSendmuxSandbox({
      mailboxes: [
        { id: 'mbx_live', email: 'live@example.test' },
        { id: 'mbx_paused', email: 'paused@example.test', status: 'suspended' },
        { id: 'mbx_gone', email: 'gone@example.test', status: 'deleted' },
      ],
    });

    const normal = await call(sandbox, 'GET', '/mailboxes');
    const withDeleted = await call(sandbox, 'GET', '/mailboxes?include_deleted=true');

    expect(normal.json.data.map((m: { id: string }) => m.id).sort()).toEqual(['mbx_live', 'mbx_paused']);
    expect(withDeleted.json.data.map((m: { id: string }) => m.id).sort()).toEqual(['mbx_gone', 'mbx_live', 'mbx_paused']);
  });

  it('describes a mailbox with every field of the vendor schema, email lowercased', async () => {
    sandbox = await startSendmuxSandbox({
      mailboxes: [{ id: 'mbx_one', email: 'Agent@Acme.Test', displayName: 'Agent', createdAt: '2030-01-02T03:04:05.000Z' }],
    });

    const response = await call(sandbox, 'GET', '/mailboxes/mbx_one');

    expect(response.status).toBe(200);
    expect(response.json.data).toEqual({
      id: 'mbx_one',
      email: 'agent@acme.test',
      display_name: 'Agent',
      quota_bytes: 1_000_000_000,
      send_scope: { type: 'all' },
      status: 'active',
      created_at: '2030-01-02T03:04:05.000Z',
    });
  });

  it('answers 304 to a matching If-None-Match and 200 with a new ETag once the mailbox changed', async () => {
    sandbox = await startSendmuxSandbox({ mailboxes: [{ id: 'mbx_one', email: 'one@example.test' }] });
    const first = await call(sandbox, 'GET', '/mailboxes/mbx_one');
    const etag = first.headers.get('etag') ?? '';

    const unchanged = await call(sandbox, 'GET', '/mailboxes/mbx_one', { headers: { 'if-none-match': etag } });
    sandbox.setMailboxStatus('mbx_one', 'suspended');
    const changed = await call(sandbox, 'GET', '/mailboxes/mbx_one', { headers: { 'if-none-match': etag } });

    expect(unchanged.status).toBe(304);
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(changed.json.data.status).toBe('suspended');
  });

  it('answers 404 not_found for an unknown mailbox', async () => {
    sandbox = await startSendmuxSandbox();

    const response = await call(sandbox, 'GET', '/mailboxes/mbx_missing');

    expect(response.status).toBe(404);
    expect(response.json.error).toMatchObject({ code: 'not_found', retryable: false });
  });

  it('lists mailboxes added at runtime', async () => {
    sandbox = await startSendmuxSandbox();
    sandbox.addMailbox({ id: 'mbx_later', email: 'later@example.test' });

    const response = await call(sandbox, 'GET', '/mailboxes');

    expect(response.json.data.map((m: { id: string }) => m.id)).toEqual(['mbx_later']);
  });
});
