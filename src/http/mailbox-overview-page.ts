import { noWorkerMessage } from '../queue/worker-presence';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ROTATION_QUEUE_NAME } from '../queue/rotation-queue';
import { OVERVIEW_SORTS, sortOverviewRows, type MailboxOverview, type MailboxOverviewRow, type OverviewSort } from '../overview/mailbox-overview';
import { formatDuration } from '../scheduler/format-duration';
import type { AuthHook } from './auth';
import { DASHBOARD_PATH } from './dashboard';
import { sendError } from './errors';

export const MAILBOX_OVERVIEW_PATH = '/admin/mailboxes';
const STYLESHEET_PATH = `${MAILBOX_OVERVIEW_PATH}/overview.css`;

export interface MailboxOverviewSource {
  /** The shared model `rotator status` prints (src/overview/mailbox-overview.ts). */
  collect(): Promise<MailboxOverview>;
}

const querySchema = z
  .object({ sort: z.enum(OVERVIEW_SORTS).default('mailbox') })
  .strict();

/**
 * /admin/mailboxes: one read-only, server-rendered HTML page with a row per configured mailbox
 * (current key, key age, last outcome, next run, pending revocation, failure streak, links into
 * Bull Board), sortable with ?sort=mailbox|age|failures. Behind the dashboard's credentials; no
 * script at all, and its stylesheet is a file of its own (no inline style), so a strict CSP fits.
 */
export async function registerMailboxOverviewPage(
  app: FastifyInstance,
  opts: { source: MailboxOverviewSource; auth?: AuthHook; publicPrefix?: (request: FastifyRequest) => string },
): Promise<void> {
  await app.register(async (scope) => {
    if (opts.auth) scope.addHook('onRequest', opts.auth);
    scope.get(STYLESHEET_PATH, async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(STYLESHEET));
    scope.get<{ Querystring: Record<string, string> }>(MAILBOX_OVERVIEW_PATH, async (request, reply) => {
      const query = querySchema.safeParse(request.query);
      if (!query.success) {
        return sendError(reply, 400, 'invalid_query', `sort must be one of ${OVERVIEW_SORTS.join(', ')}; no other query parameter is accepted`);
      }
      const overview = await opts.source.collect();
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(renderMailboxOverviewPage(overview, query.data.sort, opts.publicPrefix?.(request) ?? ''));
    });
  });
}

/** Escapes text for an HTML text node or a double-quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** `direction` is the order sortOverviewRows gives that column, for aria-sort: mailbox A→Z, age oldest (largest) first, failures most first. */
const COLUMN_TITLES: Array<{ title: string; sort?: OverviewSort; direction?: 'ascending' | 'descending' }> = [
  { title: 'Mailbox', sort: 'mailbox', direction: 'ascending' },
  { title: 'Current key' },
  { title: 'Key age', sort: 'age', direction: 'descending' },
  { title: 'Last outcome' },
  { title: 'Next run' },
  { title: 'Pending revocation' },
  { title: 'Failures in a row', sort: 'failures', direction: 'descending' },
  { title: 'Jobs' },
];

/**
 * The whole page for `overview`, rows in `sort` order. Every value from the model is escaped.
 * `prefix` is the public base path the client reaches the rotator under ('' at the root, e.g.
 * `/rotator` behind a proxy; see src/http/public-path.ts): every link carries it.
 */
export function renderMailboxOverviewPage(overview: MailboxOverview, sort: OverviewSort, prefix = ''): string {
  const now = Date.parse(overview.generatedAt);
  const rows = sortOverviewRows(overview.mailboxes, sort);
  const header = COLUMN_TITLES.map(({ title, sort: key, direction }) => {
    if (!key) return `<th scope="col">${escapeHtml(title)}</th>`;
    const current = key === sort;
    return `<th scope="col"${current ? ` aria-sort="${direction}"` : ''}><a href="${prefix}${MAILBOX_OVERVIEW_PATH}?sort=${key}"${current ? ' class="current"' : ''}>${escapeHtml(title)}</a></th>`;
  }).join('');
  const body =
    rows.length === 0
      ? `<tr><td colspan="${COLUMN_TITLES.length}" class="empty">No mailboxes yet: none is configured by id and none has been rotated.</td></tr>`
      : rows.map((row) => renderRow(row, now, prefix)).join('\n');
  const schedules = overview.schedules
    .map((s) => `<li><code>${escapeHtml(s.name)}</code> “${escapeHtml(s.cron)}” (${escapeHtml(s.timezone)}), next ${timeCell(s.nextRun, now)}</li>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mailboxes — Sendmux key rotator</title>
<link rel="stylesheet" href="${prefix}${STYLESHEET_PATH}">
</head>
<body>
<header>
<h1>Mailboxes</h1>
<p>${rows.length} mailbox${rows.length === 1 ? '' : 'es'} · generated ${escapeHtml(overview.generatedAt)} · sorted by ${escapeHtml(sort)} · <a href="${prefix}${DASHBOARD_PATH}">Queue dashboard</a></p>
</header>
<main>
${noWorkerBanner(overview)}<table>
<thead><tr>${header}</tr></thead>
<tbody>
${body}
</tbody>
</table>
<h2>Schedules</h2>
<ul>${schedules}</ul>
</main>
</body>
</html>
`;
}

function renderRow(row: MailboxOverviewRow, now: number, prefix: string): string {
  const age = row.keyAgeSeconds === null ? `<span class="muted">${escapeHtml(row.keyState)}</span>` : escapeHtml(formatDuration(row.keyAgeSeconds * 1000));
  const outcome = row.lastOutcome
    ? `<span class="outcome ${outcomeClass(row.lastOutcome.outcome)}">${escapeHtml(row.lastOutcome.outcome)}</span> ${timeCell(row.lastOutcome.at, now)}` +
      // The message names the step already ("step mint: …").
      (row.lastOutcome.message ? `<div class="message">${escapeHtml(row.lastOutcome.message)}</div>` : '')
    : '<span class="muted">none</span>';
  const overdue = row.pendingRevocation?.failedAttempts
    ? `<div class="message">overdue: still live after ${row.pendingRevocation.failedAttempts} failed attempt${row.pendingRevocation.failedAttempts === 1 ? '' : 's'}` +
      `${row.pendingRevocation.lastFailure ? ` — ${escapeHtml(row.pendingRevocation.lastFailure)}` : ''}; retrying</div>`
    : '';
  const revocation = row.pendingRevocation
    ? `<code>${escapeHtml(row.pendingRevocation.keyId)}</code> ${timeCell(row.pendingRevocation.at, now)}${overdue}`
    : '<span class="muted">none</span>';
  const links = [
    row.lastOutcome ? `<a href="${prefix}${jobLink(row.lastOutcome.jobId)}">last rotation</a>` : '',
    row.pendingRevocation ? `<a href="${prefix}${jobLink(row.pendingRevocation.jobId)}">revocation</a>` : '',
  ].filter(Boolean);
  return (
    `<tr${row.consecutiveFailures > 0 ? ' class="failing"' : ''}>` +
    `<th scope="row"><code>${escapeHtml(row.mailboxId)}</code></th>` +
    `<td>${row.currentKeyId ? `<code>${escapeHtml(row.currentKeyId)}</code>` : '<span class="muted">none yet</span>'}</td>` +
    `<td>${age}</td>` +
    `<td>${outcome}</td>` +
    `<td>${timeCell(row.nextRun, now)}</td>` +
    `<td>${revocation}</td>` +
    `<td class="number">${row.consecutiveFailures}</td>` +
    `<td>${links.length > 0 ? links.join(' · ') : '<span class="muted">none</span>'}</td>` +
    '</tr>'
  );
}

/** A job's page in Bull Board. */
function jobLink(jobId: string): string {
  return escapeHtml(`${DASHBOARD_PATH}/queue/${encodeURIComponent(ROTATION_QUEUE_NAME)}/${encodeURIComponent(jobId)}`);
}

/** `<time>` with the ISO value and how far it is from now ("in 5m", "2h ago"). */
function timeCell(iso: string | null, now: number): string {
  if (!iso) return '<span class="muted">never</span>';
  const at = Date.parse(iso);
  const distance = formatDuration(Math.abs(at - now));
  const relative = at >= now ? `in ${distance}` : `${distance} ago`;
  return `<time datetime="${escapeHtml(iso)}" title="${escapeHtml(iso)}">${escapeHtml(relative)}</time>`;
}

function outcomeClass(outcome: string): string {
  if (outcome === 'failed') return 'bad';
  if (outcome === 'retrying' || outcome === 'rate-limited') return 'warn';
  return 'good';
}

const STYLESHEET = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2430; background: #fafbfc; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; }
header p { color: #5a6472; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #e6e9ee; vertical-align: top; }
thead th { background: #f0f2f5; font-weight: 600; white-space: nowrap; }
thead a { color: inherit; }
thead a.current::after { content: " ▼"; }
tbody th { font-weight: normal; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.failing { background: #fff3f2; }
code { font: 12px ui-monospace, monospace; }
.muted { color: #8a94a3; }
.outcome { font-weight: 600; }
.outcome.good { color: #1a7f37; }
.outcome.warn { color: #9a6700; }
.outcome.bad { color: #cf222e; }
.message { color: #5a6472; font-size: 12px; margin-top: .2rem; max-width: 40rem; }
.empty { text-align: center; color: #5a6472; padding: 1.5rem; }
.alert { background: #fdecea; border: 1px solid #d93025; color: #7a1c14; padding: 0.6rem 0.8rem; border-radius: 4px; }
`;

/** A queue nobody consumes is the first thing the page says: every "next run" below waits on it. */
function noWorkerBanner(overview: MailboxOverview): string {
  if (overview.workers?.count !== 0) return '';
  return `<p class="alert" role="alert"><strong>No worker is running:</strong> ${escapeHtml(noWorkerMessage(overview.workers.queuePrefix))}.</p>\n`;
}
