// The HTML status page: one server-rendered document from a StatusReport, no build step, no
// external assets. A tiny inline script re-fetches the page every few seconds and swaps <main>,
// so there is one renderer. Everything from events or peers is escaped; CSP pins the inline code.
import { createHash } from 'node:crypto';
import type { PeerStatus } from '../sync/index.js';
import { remoteError, remoteState, type GitSyncReport, type RemoteStatus } from './git-sync.js';
import { countList, formatBytes, formatCount, formatDuration, relativeTime, requestSummary } from './format.js';
import { sortPeers, type GitRepositoryInfo, type GitStatus, type RepositoryInfo, type StatusReport } from './status.js';

/** Seconds between refreshes of the page in the browser. */
export const REFRESH_SECONDS = 5;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

const e = escapeHtml;

function isoOf(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString();
}

function timeCell(ms: number | null, now: number): string {
  return ms === null ? '<td class="muted">—</td>' : `<td><time datetime="${isoOf(ms)}" title="${isoOf(ms)}">${e(relativeTime(ms, now))}</time></td>`;
}

function shortNpub(npub: string): string {
  return npub.length > 24 ? `${npub.slice(0, 12)}…${npub.slice(-6)}` : npub;
}

function urlList(urls: string[], link: boolean): string {
  if (urls.length === 0) return '<span class="muted">—</span>';
  return urls
    .map((u) => (link && /^https?:\/\//i.test(u) ? `<a href="${e(u)}" rel="nofollow noopener noreferrer">${e(u)}</a>` : `<code>${e(u)}</code>`))
    .join('<br>');
}

function repoRow(r: RepositoryInfo): string {
  const desc = r.description ? `<div class="desc">${e(r.description.length > 200 ? r.description.slice(0, 200) + '…' : r.description)}</div>` : '';
  return (
    `<tr class="repo"><td><strong class="repo-name">${e(r.name)}</strong>${r.name !== r.d ? ` <span class="muted">(${e(r.d)})</span>` : ''}${desc}</td>` +
    `<td class="owner"><code title="${e(r.owner)}">${e(shortNpub(r.owner))}</code></td>` +
    `<td class="urls">${urlList(r.clone, true)}</td><td class="relays">${urlList(r.relays, false)}</td></tr>`
  );
}

const STATE_CLASS: Record<string, string> = {
  connected: 'ok',
  connecting: 'warn',
  idle: 'muted',
  backoff: 'warn',
  dead: 'bad',
  stopped: 'muted',
};

function peerRow(p: PeerStatus, now: number): string {
  const paused = p.pausedUntil !== null ? ` <span class="warn" title="the relay said rate-limited">paused ${e(relativeTime(p.pausedUntil, now).replace(/^in /, ''))}</span>` : '';
  const state = `<span class="state ${STATE_CLASS[p.state] ?? 'muted'}">${e(p.state)}</span>${paused}${p.bootstrap ? ' <span class="muted">bootstrap</span>' : ''}`;
  const err = p.lastError === null ? '<td class="muted">—</td>' : `<td class="err" title="${e(p.lastError)}">${e(p.lastError.length > 80 ? p.lastError.slice(0, 80) + '…' : p.lastError)}</td>`;
  return (
    `<tr class="peer"><td><code class="peer-url">${e(p.url)}</code></td><td>${state}</td>` +
    timeCell(p.lastConnectedAt, now) +
    timeCell(p.lastFullSyncAt, now) +
    err +
    `<td class="num">${formatCount(p.received)}</td><td class="num">${formatCount(p.accepted)}</td><td class="num">${formatCount(p.rejected)}</td>` +
    `<td>${e(p.nip77)}</td><td class="num">${formatCount(p.pendingBatches)}</td>` +
    timeCell(p.nextRetryAt, now) +
    '</tr>'
  );
}

function gitRepoRow(r: GitRepositoryInfo): string {
  const state = r.purgatory
    ? '<span class="state warn" title="the announcement waits in purgatory for its first push">waiting for push</span>'
    : `<span class="state ${r.hosting === 'hosted' ? 'ok' : 'muted'}">${e(r.hosting)}</span>`;
  return (
    `<tr class="git-repo"><td><code title="${e(r.npub)}">${e(shortNpub(r.npub))}</code>/<strong>${e(r.d)}</strong></td>` +
    `<td class="num">${formatCount(r.refs)}</td><td>${r.head === undefined ? '<span class="muted">—</span>' : `<code>${e(r.head)}</code>`}</td>` +
    `<td class="num">${e(formatBytes(r.bytes))}</td><td>${state}</td></tr>`
  );
}

/** The git half: counters and gauges as facts, then the repositories on disk. */
export function renderGit(g: GitStatus): string {
  if (!g.enabled) return '<p class="muted empty">The git half is off (<code>git.enabled = false</code>): this relay hosts no git data.</p>';
  const p = g.purgatory;
  const waiting = Object.values(p.byKind).reduce((a, b) => a + b, 0);
  const refused = Object.values(g.refusedPushes).reduce((a, b) => a + b, 0);
  const facts: Array<[string, string]> = [
    ['Git processes', `${formatCount(g.processes.running)} running · ${formatCount(g.processes.queued)} queued`],
    ['Requests', requestSummary(g.requests)],
    ['Traffic', `${formatBytes(g.bytes.in)} in · ${formatBytes(g.bytes.out)} out`],
    ['Pushes', `${formatCount(g.pushes)} applied · ${formatCount(refused)} refused${refused > 0 ? ` (${countList(g.refusedPushes)})` : ''}`],
    ['Purgatory', `${formatCount(waiting)} waiting${waiting > 0 ? ` (kind ${countList(p.byKind)})` : ''} · ${formatCount(p.dormant)} dormant · ${formatCount(p.expired)} expired · ${formatCount(p.nostrRefs)} refs/nostr placeholders`],
    ['Released', countList(g.releases, 'none yet')],
    ['Data', g.root],
  ];
  const factList = facts.map(([k, v]) => `<div><dt>${e(k)}</dt><dd>${e(v)}</dd></div>`).join('');
  const repos = g.repositories;
  const table =
    repos.items.length === 0
      ? '<p class="muted empty">No git repositories yet: an accepted announcement creates an empty one.</p>'
      : '<table class="git-repos"><thead><tr><th scope="col">Repository</th><th scope="col" class="num">Refs</th><th scope="col">HEAD</th>' +
        `<th scope="col" class="num">Size</th><th scope="col">State</th></tr></thead><tbody>${repos.items.map(gitRepoRow).join('')}</tbody></table>` +
        (repos.total > repos.items.length ? `<p class="muted">Showing the ${repos.items.length} largest of ${formatCount(repos.total)}.</p>` : '');
  return `<dl class="facts">${factList}</dl><div class="scroll">${table}</div>`;
}

const REMOTE_CLASS: Record<string, string> = { ok: 'ok', failing: 'warn', dead: 'bad' };

function clipped(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

function remoteRow(x: RemoteStatus, now: number): string {
  const state = remoteState(x);
  const text = remoteError(x);
  const err = text === undefined ? '<td class="muted">—</td>' : `<td class="err" title="${e(text)}">${e(clipped(text, 100))}</td>`;
  return (
    `<tr class="remote"><td><code class="remote-url">${e(x.url)}</code></td><td><code>${e(x.host)}</code></td>` +
    `<td><span class="state ${REMOTE_CLASS[state]}">${state}</span></td>` +
    timeCell(x.lastTryAt ?? null, now) +
    timeCell(x.lastOkAt ?? null, now) +
    err +
    timeCell(x.nextTryAt ?? null, now) +
    `<td class="num">${formatCount(x.fetches)}</td><td class="num">${formatCount(x.failures)}</td></tr>`
  );
}

/** Git sync (GRASP-02 git data): work, sweeps, outcomes, resync progress, then the remote URLs. */
export function renderGitSync(s: GitSyncReport, now: number): string {
  if (!s.enabled) return '<p class="muted empty">Git sync (GRASP-02) is off (<code>git.syncEnabled = false</code>): missing git data is not fetched from other servers.</p>';
  const when = (ms: number | undefined) => (ms === undefined ? '—' : relativeTime(ms, now));
  const f = s.fetches;
  const rs = s.resync;
  const by = s.remotesByState;
  const facts: Array<[string, string]> = [
    ['Work', `${formatCount(s.queued)} queued · ${formatCount(s.running)} running`],
    ['Sweeps', `last ${when(s.lastSweepAt)} · next ${when(s.nextSweepAt)}`],
    ['Fetches', `${formatCount(f.ok)} ok · ${formatCount(f.partial)} partial · ${formatCount(f.failed)} failed · ${formatCount(f.skipped)} skipped`],
    ['Objects imported', formatCount(s.objectsImported)],
    ['Released', `${formatCount(s.released)} ${s.released === 1 ? 'event' : 'events'}`],
    [
      'Resync',
      rs === undefined
        ? 'none since start'
        : `${formatCount(rs.done)} / ${formatCount(rs.total)} repositories${rs.finished ? ' · finished' : ' · running'} · ${formatCount(rs.aligned)} aligned · ${formatCount(rs.missing)} missing`,
    ],
    ['Remote URLs', `${formatCount(s.remotesTotal)} · ${formatCount(by.ok)} ok · ${formatCount(by.failing)} failing · ${formatCount(by.dead)} dead`],
  ];
  const factList = facts.map(([k, v]) => `<div><dt>${e(k)}</dt><dd>${e(v)}</dd></div>`).join('');
  const table =
    s.remotes.length === 0
      ? '<p class="muted empty">No remote URLs tried yet: they come from the <code>clone</code> tags of the announcements and PRs of hosted repositories.</p>'
      : '<table class="git-remotes"><thead><tr><th scope="col">Remote URL</th><th scope="col">Host</th><th scope="col">State</th><th scope="col">Last try</th>' +
        '<th scope="col">Last OK</th><th scope="col">Last error</th><th scope="col">Next try</th><th scope="col" class="num">Fetches</th><th scope="col" class="num">Failures</th></tr></thead>' +
        `<tbody>${s.remotes.map((x) => remoteRow(x, now)).join('')}</tbody></table>` +
        (s.remotesTotal > s.remotes.length ? `<p class="muted">Showing ${s.remotes.length} of ${formatCount(s.remotesTotal)} (failing first).</p>` : '');
  return `<dl class="facts">${factList}</dl><div class="scroll">${table}</div>`;
}

function card(label: string, value: string, id: string): string {
  return `<div class="card" id="${id}"><div class="label">${e(label)}</div><div class="value">${value}</div></div>`;
}

/** The <main> element: everything that refreshes. */
/** Anonymous memory as the figure (what the relay holds), file-backed pages (LMDB's map) beside it. */
function memoryCard(m: StatusReport['memory']): string {
  if (m.anon === undefined || m.file === undefined) return `${e(formatBytes(m.rss))} <span class="sub">resident</span>`;
  return `${e(formatBytes(m.anon))} <span class="sub">anonymous · ${e(formatBytes(m.file))} file-backed (LMDB map)</span>`;
}

export function renderMain(r: StatusReport): string {
  const rel = r.relay;
  const sync = r.sync;
  const stored = r.ingest.stored ?? 0;
  const refused = (r.ingest.invalid ?? 0) + (r.ingest['bad-signature'] ?? 0) + (r.ingest.policy ?? 0) + (r.ingest['store-refused'] ?? 0);
  const cards = [
    card('Uptime', e(formatDuration(rel.uptimeSeconds)), 'card-uptime'),
    card('Events stored', e(formatCount(r.store.events)), 'card-events'),
    card('Store size', e(formatBytes(r.store.bytes)), 'card-bytes'),
    card('Connections', e(formatCount(r.connections)), 'card-connections'),
    card('Memory', memoryCard(r.memory), 'card-memory'),
    card('Repositories', e(formatCount(r.repositories.total)), 'card-repositories'),
    card(
      'Git data',
      r.git.enabled ? `${e(formatBytes(r.git.repositories.bytes))} <span class="sub">${e(formatCount(r.git.repositories.total))} ${r.git.repositories.total === 1 ? 'repo' : 'repos'}</span>` : '<span class="muted">git off</span>',
      'card-git',
    ),
    card('Sync peers', sync.enabled ? `${sync.totals.connected} / ${sync.totals.peers} <span class="sub">connected</span>` : '<span class="muted">sync off</span>', 'card-peers'),
  ].join('');
  const facts: Array<[string, string]> = [
    ['Version', `${rel.version}`],
    ['Signature backend', rel.verifyBackend],
    ['Write policy', rel.policyMode],
    ['Transport', rel.transport],
    ['NIPs', rel.supportedNips.join(', ')],
    ['GRASPs', rel.supportedGrasps.join(', ') || '—'],
    ['Since start', `${formatCount(stored)} accepted · ${formatCount(r.ingest.duplicate ?? 0)} duplicate · ${formatCount(refused)} refused`],
  ];
  const factList = facts.map(([k, v]) => `<div><dt>${e(k)}</dt><dd>${e(v)}</dd></div>`).join('');

  const repos = r.repositories;
  const repoTable =
    repos.items.length === 0
      ? '<p class="muted empty">No repositories yet. An announcement (kind 30617) that lists this service in its clone and relays tags makes one.</p>'
      : `<table class="repos"><thead><tr><th scope="col">Repository</th><th scope="col">Owner</th><th scope="col">Clone</th><th scope="col">Relays</th></tr></thead><tbody>${repos.items.map(repoRow).join('')}</tbody></table>` +
        (repos.total > repos.items.length ? `<p class="muted">Showing the ${repos.items.length} newest of ${formatCount(repos.total)}.</p>` : '');

  const peers = sortPeers(sync.peers);
  const peerTable = !sync.enabled
    ? '<p class="muted empty">Proactive sync (GRASP-02) is off (<code>sync.enabled = false</code>).</p>'
    : peers.length === 0
      ? '<p class="muted empty">No peer relays yet: they come from the <code>relays</code> tags of hosted announcements and <code>sync.bootstrapRelays</code>.</p>'
      : '<table><thead><tr><th scope="col">Relay</th><th scope="col">State</th><th scope="col">Last connect</th><th scope="col">Last full sync</th>' +
        '<th scope="col">Last error</th><th scope="col" class="num">Received</th><th scope="col" class="num">Accepted</th><th scope="col" class="num">Rejected</th>' +
        `<th scope="col">NIP-77</th><th scope="col" class="num">Pending</th><th scope="col">Next retry</th></tr></thead><tbody>${peers.map((p) => peerRow(p, r.now)).join('')}</tbody></table>`;

  return (
    '<main id="status">' +
    `<header><h1>${e(rel.name)}</h1><p class="desc">${e(rel.description)}</p>` +
    `<p class="url"><code>${e(rel.url)}</code> <span class="muted">· ${e(rel.hosts.join(', '))}</span></p></header>` +
    `<section class="cards">${cards}</section>` +
    `<section><dl class="facts">${factList}</dl></section>` +
    `<section id="repositories"><h2>Repositories hosted</h2><div class="scroll">${repoTable}</div></section>` +
    `<section id="git"><h2>Git</h2>${renderGit(r.git)}</section>` +
    (r.git.enabled ? `<section id="git-sync"><h2>Git sync</h2>${renderGitSync(r.git.sync, r.now)}</section>` : '') +
    `<section id="sync"><h2>Peer relays</h2><div class="scroll">${peerTable}</div></section>` +
    `<footer class="muted">Updated <time datetime="${new Date(r.now * 1000).toISOString()}">${new Date(r.now * 1000).toISOString().replace('T', ' ').slice(0, 19)} UTC</time>` +
    ` · refreshes every ${REFRESH_SECONDS}s · <a href="/status">/status</a> (JSON) · <a href="/metrics">/metrics</a></footer>` +
    '</main>'
  );
}

const STYLE = `
:root{color-scheme:light dark;--bg:#fafafa;--fg:#1d1d1f;--muted:#6b6b73;--card:#fff;--line:#e3e3e8;--ok:#137333;--warn:#a15c00;--bad:#b3261e}
@media (prefers-color-scheme:dark){:root{--bg:#141416;--fg:#e8e8ea;--muted:#9a9aa3;--card:#1d1d21;--line:#2e2e34;--ok:#5bd27a;--warn:#f0b34a;--bad:#ff7b72}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px}h1{margin:0 0 4px;font-size:26px}h2{font-size:17px;margin:28px 0 10px}
header .desc{margin:0 0 6px;color:var(--muted)}code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin-top:18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:22px;font-weight:600;margin-top:2px}.card .sub{font-size:13px;font-weight:400;color:var(--muted)}
.facts{display:flex;flex-wrap:wrap;gap:6px 28px;margin:16px 0 0}.facts div{display:flex;gap:8px}.facts dt{color:var(--muted)}.facts dd{margin:0}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}th{font-size:12px;color:var(--muted);font-weight:600}
tr:last-child td{border-bottom:0}.num{text-align:right;font-variant-numeric:tabular-nums}.desc{color:var(--muted);font-size:13px}
.muted{color:var(--muted)}.state{font-weight:600}.ok{color:var(--ok)}.warn{color:var(--warn)}.bad,.err{color:var(--bad)}
.err{max-width:260px;overflow-wrap:anywhere}.urls{overflow-wrap:anywhere;word-break:break-all}.owner code,.relays code{white-space:nowrap}
#git .facts,#git-sync .facts{margin:0 0 12px}.git-remotes time{white-space:nowrap}.remote-url{overflow-wrap:anywhere;word-break:break-all}.repos td:first-child{min-width:200px;width:28%}.scroll{overflow-x:auto}a{color:inherit}footer{margin-top:28px;font-size:12px}.empty{padding:8px 0}
`;

// Re-fetch the page and swap <main>; stop while the tab is hidden; show when the relay is unreachable.
const SCRIPT = `
(function(){var ms=${REFRESH_SECONDS * 1000};function tick(){if(document.hidden){return setTimeout(tick,ms)}
fetch(location.pathname,{headers:{accept:'text/html'},cache:'no-store'}).then(function(r){if(!r.ok)throw new Error(r.status);return r.text()})
.then(function(t){var m=new DOMParser().parseFromString(t,'text/html').getElementById('status');var cur=document.getElementById('status');if(m&&cur){cur.replaceWith(m);var h=document.documentElement;h.dataset.refreshed=String(Number(h.dataset.refreshed||0)+1)}})
.catch(function(){var f=document.querySelector('footer');if(f&&!document.getElementById('offline')){var s=document.createElement('strong');s.id='offline';s.className='bad';s.textContent=' · relay unreachable, retrying';f.appendChild(s)}})
.finally(function(){setTimeout(tick,ms)})}setTimeout(tick,ms)})();
`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** Headers of the status page: no caching, a CSP that allows only this page's own inline code. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': `default-src 'none'; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
};

export function renderPage(r: StatusReport): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<title>${e(r.relay.name)} · grasp-relay status</title><style>${STYLE}</style></head><body>` +
    renderMain(r) +
    `<script>${SCRIPT}</script></body></html>`
  );
}
