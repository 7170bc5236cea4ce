// `grasp-relay status [--url http://127.0.0.1:7777] [--json]`: fetch GET /status from a running
// relay and print the same data as the status page as terminal tables (relay summary,
// repositories, the git half and its git sync with the failing remote URLs, peers). Without --url
// the address comes from the config's server.host/port.
import { countList, formatBytes, formatCount, formatDuration, relativeTime, requestSummary } from '../ops/format.js';
import { remoteError, remoteState, type GitSyncReport } from '../ops/git-sync.js';
import { sortPeers, type GitStatus, type StatusReport } from '../ops/status.js';
import { stringOption, type ParsedArgs } from './args.js';
import { configFromArgs } from './config-path.js';

export interface StatusOutput {
  write(text: string): void;
  error(text: string): void;
  /** colour states (TTY without NO_COLOR) */
  color: boolean;
}

const defaultOutput = (): StatusOutput => ({
  write: (t) => process.stdout.write(t),
  error: (t) => process.stderr.write(t),
  color: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
});

/** The /status URL for a base URL given on the command line (http(s) or ws(s), path ignored). */
export function statusUrl(base: string): string {
  const u = new URL(/^[a-z]+:\/\//i.test(base) ? base : `http://${base}`);
  if (u.protocol === 'ws:') u.protocol = 'http:';
  if (u.protocol === 'wss:') u.protocol = 'https:';
  u.pathname = '/status';
  u.search = '';
  u.hash = '';
  return u.toString();
}

/** The relay's HTTP base URL from the config (listen address and port). */
export function defaultBase(args: ParsedArgs): string {
  const cfg = configFromArgs(args);
  const h = cfg.server.host;
  const host = h === '0.0.0.0' || h === '::' || h === '' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
  return `http://${host}:${cfg.server.port}`;
}

const COLORS: Record<string, string> = { connected: '32', connecting: '33', backoff: '33', dead: '31', idle: '2', stopped: '2' };

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** Columns padded to their widest cell; `paint` colours a cell after padding (ANSI). */
export function table(headers: string[], rows: string[][], paint?: (col: number, cell: string, padded: string) => string): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[], body: boolean) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        return body && paint ? paint(i, c, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(headers, false), ...rows.map((r) => line(r, true))].join('\n') + '\n';
}

/** The report as text: a summary, the repositories and the peer table. */
export function formatStatus(r: StatusReport, color = false): string {
  const rel = r.relay;
  const refused = (r.ingest.invalid ?? 0) + (r.ingest['bad-signature'] ?? 0) + (r.ingest.policy ?? 0) + (r.ingest['store-refused'] ?? 0);
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
  let out = `${bold(rel.name)}  ${rel.url}  grasp-relay v${rel.version}\n`;
  const plural = (n: number, word: string) => `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
  out += `  up ${formatDuration(rel.uptimeSeconds)} · ${plural(r.store.events, 'event')} (${formatBytes(r.store.bytes)}) · ${plural(r.connections, 'connection')}\n`;
  out += `  policy ${rel.policyMode} · signatures ${rel.verifyBackend} · transport ${rel.transport} · NIPs ${rel.supportedNips.join(',')}\n`;
  out += `  since start: ${formatCount(r.ingest.stored ?? 0)} accepted · ${formatCount(r.ingest.duplicate ?? 0)} duplicate · ${formatCount(refused)} refused\n`;

  out += `\n${bold(`Repositories (${formatCount(r.repositories.total)})`)}\n`;
  if (r.repositories.items.length === 0) out += '  none\n';
  else {
    out += table(
      ['NAME', 'D', 'OWNER', 'CLONE'],
      r.repositories.items.map((x) => [clip(x.name, 32), clip(x.d, 32), x.owner, x.clone[0] ?? '—']),
    );
    if (r.repositories.total > r.repositories.items.length) out += `  (showing the ${r.repositories.items.length} newest)\n`;
  }

  out += formatGit(r.git, bold);
  if (r.git?.enabled === true) out += formatGitSync(r.git.sync, r.now, bold);

  const sync = r.sync;
  out += `\n${bold(sync.enabled ? `Peer relays (${sync.totals.connected}/${sync.totals.peers} connected)` : 'Peer relays')}\n`;
  if (!sync.enabled) out += '  sync is off (sync.enabled = false)\n';
  else if (sync.peers.length === 0) out += '  none yet\n';
  else {
    const rows = sortPeers(sync.peers).map((p) => [
      p.url,
      p.pausedUntil !== null ? `${p.state} (paused)` : p.state,
      relativeTime(p.lastConnectedAt, r.now),
      relativeTime(p.lastFullSyncAt, r.now),
      formatCount(p.received),
      formatCount(p.accepted),
      formatCount(p.rejected),
      p.nip77,
      String(p.pendingBatches),
      relativeTime(p.nextRetryAt, r.now),
      p.lastError === null ? '—' : clip(p.lastError, 60),
    ]);
    out += table(
      ['RELAY', 'STATE', 'CONNECTED', 'FULL SYNC', 'RECEIVED', 'ACCEPTED', 'REJECTED', 'NIP-77', 'PENDING', 'NEXT RETRY', 'LAST ERROR'],
      rows,
      color ? (col, cell, padded) => (col === 1 && COLORS[cell.split(' ')[0]!] ? `\x1b[${COLORS[cell.split(' ')[0]!]}m${padded}\x1b[0m` : padded) : undefined,
    );
  }
  return out;
}

/** The git section: counters, purgatory, then the repositories on disk. */
function formatGit(g: GitStatus | undefined, bold: (s: string) => string): string {
  // a relay from before the git half has no `git` in its report
  if (g === undefined || !g.enabled) return `\n${bold('Git')}\n  the git half is off${g === undefined ? '' : ' (git.enabled = false)'}\n`;
  const p = g.purgatory;
  const waiting = Object.values(p.byKind).reduce((a, b) => a + b, 0);
  const refused = Object.values(g.refusedPushes).reduce((a, b) => a + b, 0);
  let out = `\n${bold(`Git (${formatCount(g.repositories.total)} ${g.repositories.total === 1 ? 'repository' : 'repositories'}, ${formatBytes(g.repositories.bytes)})`)}\n`;
  out += `  data ${g.root} · processes ${formatCount(g.processes.running)} running, ${formatCount(g.processes.queued)} queued · ${formatBytes(g.bytes.in)} in, ${formatBytes(g.bytes.out)} out\n`;
  out += `  requests: ${requestSummary(g.requests)}\n`;
  out += `  pushes: ${formatCount(g.pushes)} applied · ${formatCount(refused)} refused${refused > 0 ? ` (${countList(g.refusedPushes)})` : ''}\n`;
  out += `  purgatory: ${formatCount(waiting)} waiting${waiting > 0 ? ` (kind ${countList(p.byKind)})` : ''} · ${formatCount(p.dormant)} dormant · ${formatCount(p.expired)} expired · ${formatCount(p.nostrRefs)} refs/nostr placeholders\n`;
  out += `  released: ${countList(g.releases, 'none yet')}\n`;
  if (g.repositories.items.length === 0) return out + '  no repositories yet\n';
  out += table(
    ['REPOSITORY', 'REFS', 'HEAD', 'SIZE', 'STATE'],
    g.repositories.items.map((x) => [
      `${x.npub}/${clip(x.d, 40)}`,
      formatCount(x.refs),
      x.head ?? '—',
      formatBytes(x.bytes),
      x.purgatory ? 'purgatory (waiting for push)' : x.hosting,
    ]),
  );
  if (g.repositories.total > g.repositories.items.length) out += `  (showing the ${g.repositories.items.length} largest)\n`;
  return out;
}

/** Git sync: work, sweeps, outcomes, the last resync, then the failing and dead remote URLs. */
export function formatGitSync(s: GitSyncReport | undefined, now: number, bold: (s: string) => string = (x) => x): string {
  // a relay from before git sync has no `git.sync` in its report
  if (s === undefined || !s.enabled) return `\n${bold('Git sync')}\n  git sync is off${s === undefined ? '' : ' (git.syncEnabled = false)'}\n`;
  const by = s.remotesByState;
  const when = (ms: number | undefined) => (ms === undefined ? '—' : relativeTime(ms, now));
  const f = s.fetches;
  let out = `\n${bold(`Git sync (${formatCount(s.remotesTotal)} remote ${s.remotesTotal === 1 ? 'URL' : 'URLs'}: ${formatCount(by.ok)} ok, ${formatCount(by.failing)} failing, ${formatCount(by.dead)} dead)`)}\n`;
  out += `  work: ${formatCount(s.queued)} queued, ${formatCount(s.running)} running · last sweep ${when(s.lastSweepAt)} · next sweep ${when(s.nextSweepAt)}\n`;
  out += `  fetches: ${formatCount(f.ok)} ok · ${formatCount(f.partial)} partial · ${formatCount(f.failed)} failed · ${formatCount(f.skipped)} skipped\n`;
  out += `  imported: ${formatCount(s.objectsImported)} ${s.objectsImported === 1 ? 'object' : 'objects'} · released: ${formatCount(s.released)} ${s.released === 1 ? 'event' : 'events'}\n`;
  const rs = s.resync;
  if (rs !== undefined) {
    out += `  resync: ${formatCount(rs.done)}/${formatCount(rs.total)} repositories ${rs.finished ? 'finished' : 'running'} (${formatCount(rs.aligned)} aligned, ${formatCount(rs.missing)} missing)\n`;
  }
  const failing = s.remotes.filter((x) => remoteState(x) !== 'ok');
  if (failing.length === 0) return out;
  out += table(
    ['REMOTE URL', 'STATE', 'LAST TRY', 'LAST OK', 'NEXT TRY', 'FAILURES', 'ERROR'],
    failing.map((x) => [
      x.url,
      remoteState(x),
      when(x.lastTryAt),
      when(x.lastOkAt),
      when(x.nextTryAt),
      `${formatCount(x.failures)}/${formatCount(x.fetches)}`,
      clip(remoteError(x) ?? '—', 80),
    ]),
  );
  const unlisted = by.failing + by.dead - failing.length;
  if (unlisted > 0) out += `  (${formatCount(unlisted)} more failing or dead not listed)\n`;
  return out;
}

export async function cmdStatus(args: ParsedArgs, output: StatusOutput = defaultOutput()): Promise<number> {
  const base = stringOption(args, 'url') ?? defaultBase(args);
  let url: string;
  try {
    url = statusUrl(base);
  } catch {
    output.error(`grasp-relay status: not a URL: ${base}\n`);
    return 2;
  }
  let report: StatusReport;
  try {
    const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    if (res.status === 404) {
      output.error(`grasp-relay status: ${url} answered 404: is metrics.statusPage off, or is this not grasp-relay?\n`);
      return 1;
    }
    if (!res.ok) {
      output.error(`grasp-relay status: ${url} answered HTTP ${res.status}\n`);
      return 1;
    }
    report = (await res.json()) as StatusReport;
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    output.error(`grasp-relay status: cannot reach ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}\n`);
    return 1;
  }
  if (args.options.has('json')) output.write(JSON.stringify(report, null, 2) + '\n');
  else output.write(formatStatus(report, output.color));
  return 0;
}
