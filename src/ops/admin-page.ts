import type { Overview, RenderRow } from './admin-overview.js';
import { BOARD_PATH } from './queue-board.js';
import { RENDER_QUEUE_NAME } from '../render/render-queue.js';

/** Every text that reaches the page goes through this: chat ids, errors and codes come from outside. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const UNAVAILABLE = '<span class="na">unavailable</span>';
const QUEUE_LINK = `${BOARD_PATH}/queue/${RENDER_QUEUE_NAME}`;

function jobLink(id: string): string {
  return `${QUEUE_LINK}/${encodeURIComponent(id)}`;
}

function figure(value: number | undefined): string {
  return value === undefined ? UNAVAILABLE : escapeHtml(value.toLocaleString('en'));
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

function renderTable(rows: RenderRow[] | undefined, now: number, empty: string): string {
  if (rows === undefined) return `<p>${UNAVAILABLE}</p>`;
  if (rows.length === 0) return `<p class="none">${escapeHtml(empty)}</p>`;
  const body = rows
    .map((row) => {
      const progress = row.percent === undefined ? '' : `<progress max="100" value="${row.percent}"></progress> <b>${escapeHtml(String(row.percent))} %</b>`;
      return `<tr data-render="${escapeHtml(row.id)}">
<td><a href="${escapeHtml(jobLink(row.id))}">${escapeHtml(row.id)}</a><div class="sub">${escapeHtml(row.chat)} · ${escapeHtml(row.user)}</div></td>
<td>${escapeHtml(row.state)}${row.phase ? ` · ${escapeHtml(row.phase)}` : ''}<div class="sub">${progress}</div></td>
<td>${row.attempts}</td>
<td>${escapeHtml(ago(now - row.queuedAt))}</td>
<td class="err">${row.error === undefined ? '' : escapeHtml(row.error)}</td>
</tr>`;
    })
    .join('\n');
  return `<div class="scroll"><table><thead><tr><th>render · chat · person</th><th>state · progress</th><th>tries</th><th>age</th><th>error</th></tr></thead><tbody>
${body}
</tbody></table></div>`;
}

function countsLine(queue: Record<string, number> | undefined): string {
  if (queue === undefined) return UNAVAILABLE;
  const inFlight = (queue.active ?? 0) + (queue.delayed ?? 0);
  const queued = (queue.waiting ?? 0) + (queue.prioritized ?? 0);
  const link = (state: string, label: string, n: number): string =>
    `<a class="card" href="${escapeHtml(`${QUEUE_LINK}?status=${state}`)}"><b>${n.toLocaleString('en')}</b>${escapeHtml(label)}</a>`;
  return [
    link('active', 'rendering now', queue.active ?? 0),
    link('delayed', 'between polls', queue.delayed ?? 0),
    link('waiting', 'queued', queued),
    link('failed', 'failed', queue.failed ?? 0),
    link('completed', 'done (24 h)', queue.completed ?? 0),
  ].join('\n') + `<p class="sub">in flight: ${inFlight.toLocaleString('en')}, queued: ${queued.toLocaleString('en')}</p>`;
}

function creditsLine(credits: Overview['credits']): string {
  if (credits === undefined) return UNAVAILABLE;
  if (credits === 'no-operator-token') return '<span class="na">no operator token (NEMO_TOKEN unset)</span>';
  return `<b>${figure(credits.available)}</b> available of ${figure(credits.total)}${credits.frozen > 0 ? ` (${figure(credits.frozen)} held)` : ''}`;
}

function errorsTable(errors: Overview['nemoErrors']): string {
  if (errors === undefined) return `<p>${UNAVAILABLE}</p>`;
  if (errors.length === 0) return '<p class="none">none</p>';
  return `<table class="narrow"><thead><tr><th>code</th><th>errors</th></tr></thead><tbody>${errors
    .map((e) => `<tr><td>${escapeHtml(e.code)}</td><td>${e.count.toLocaleString('en')}</td></tr>`)
    .join('')}</tbody></table>`;
}

const STYLE = `
body{font:16px/1.4 system-ui,sans-serif;margin:0;padding:12px;color:#1b1b1b;background:#fafafa;max-width:1100px}
h1{font-size:1.3em;margin:0 0 8px}h2{font-size:1.05em;margin:20px 0 6px}
a{color:#0b5cad}.sub{color:#555;font-size:.85em}.na{color:#a33}.none{color:#555}
.cards{display:flex;flex-wrap:wrap;gap:8px}.card{display:block;background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px;text-decoration:none;color:inherit;min-width:7em}
.card b{display:block;font-size:1.4em}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid #e3e3e3;padding:6px;text-align:left;vertical-align:top}
th{font-size:.85em;color:#555}table.narrow{width:auto}td.err{color:#a33;max-width:24em;overflow-wrap:anywhere}
progress{width:6em}form{display:flex;gap:6px;margin:8px 0}input[type=search]{flex:1;font:inherit;padding:6px;min-width:0}button{font:inherit;padding:6px 12px}
`;

/** The overview page: server-rendered, no script, readable on a phone. */
export function overviewPage(overview: Overview): string {
  const now = overview.at;
  const day = new Date(now).toISOString().slice(0, 10);
  const search = overview.search;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>nemo-video-bot · operator</title>
<style>${STYLE}</style></head>
<body>
<h1>nemo-video-bot</h1>
<p class="sub">${escapeHtml(new Date(now).toISOString().replace('T', ' ').slice(0, 19))} UTC · <a href="${BOARD_PATH}">render queue (board)</a></p>
<form method="get" action="/admin"><input type="search" name="q" placeholder="render id, chat id or person id" value="${escapeHtml(search?.query ?? '')}" aria-label="find a render"><button>Find</button></form>
${search === undefined ? '' : `<section id="search"><h2>Found for “${escapeHtml(search.query)}”</h2>${renderTable(search.rows, now, 'no render found (renders finished over a day ago are gone)')}</section>`}
<h2>Today (${escapeHtml(day)}, UTC)</h2>
<div class="cards">
<div class="card" id="people"><b>${figure(overview.people)}</b>people</div>
<div class="card" id="turns"><b>${figure(overview.turns)}</b>chat turns</div>
<div class="card" id="exports"><b>${figure(overview.exports)}</b>exports</div>
<div class="card" id="credits">${creditsLine(overview.credits)}<br>credits (operator token)</div>
</div>
<h2>Render queue</h2>
<div class="cards" id="queue">${countsLine(overview.queue)}</div>
<h2>Renders in flight and queued</h2>
<section id="renders">${renderTable(overview.renders, now, 'no render in flight')}</section>
<h2>Failed renders</h2>
<section id="failed">${renderTable(overview.failed, now, 'no failed render')}</section>
<h2>NemoVideo errors, last hour</h2>
<section id="nemo-errors">${errorsTable(overview.nemoErrors)}</section>
</body></html>
`;
}
