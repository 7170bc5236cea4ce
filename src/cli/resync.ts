// `grasp-relay resync [--relay URL] [--url BASE] [--no-wait] [--timeout S]`: ask a running relay
// to fully resync one sync peer (or all) through POST /admin/resync, then show progress from
// /status until every targeted peer has finished. `resync --git` instead hunts the git data of
// every hosted repository now (POST /admin/resync?git=1) and shows git.sync.resync from /status
// until it has finished. Needs the admin token in the environment.
import type { ResyncProgress } from '../git/sync/types.js';
import { normalizeRelayUrl, type PeerStatus } from '../sync/index.js';
import type { StatusReport } from '../ops/status.js';
import { stringOption, type ParsedArgs } from './args.js';
import { configFromArgs } from './config-path.js';
import { Progress } from './progress.js';
import { defaultBase, statusUrl } from './status.js';

const POLL_MS = 1000;

/** Where the command's error lines go (tests capture them; progress lines go to stderr). */
export interface ResyncOutput {
  error(line: string): void;
}

const stderrOutput: ResyncOutput = { error: (line) => console.error(line) };

export async function cmdResync(args: ParsedArgs, out: ResyncOutput = stderrOutput): Promise<number> {
  const cfg = configFromArgs(args);
  const tokenEnv = cfg.service.adminTokenEnv;
  const token = process.env[tokenEnv];
  if (!token) {
    out.error(`grasp-relay resync: set ${tokenEnv} to the relay's admin token (the relay must run with it too)`);
    return 2;
  }
  const gitOnly = args.options.has('git');
  const target = stringOption(args, 'relay');
  if (gitOnly && args.options.has('relay')) {
    out.error('grasp-relay resync: --git hunts the git data of every repository; it does not combine with --relay');
    return 2;
  }
  if (gitOnly && args.options.get('git') !== true) {
    out.error('grasp-relay resync: --git takes no value');
    return 2;
  }
  const timeoutText = stringOption(args, 'timeout') ?? '600';
  const timeoutMs = Number(timeoutText) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    out.error(`grasp-relay resync: --timeout takes seconds (a positive number), not ${timeoutText}`);
    return 2;
  }
  const status = statusUrl(stringOption(args, 'url') ?? defaultBase(args));
  const admin = new URL(status);
  admin.pathname = '/admin/resync';
  if (target !== undefined) admin.searchParams.set('relay', target);
  if (gitOnly) admin.searchParams.set('git', '1');

  let res: Response;
  try {
    res = await fetch(admin, { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    out.error(`grasp-relay resync: cannot reach ${admin.origin}: ${(e as Error).cause ?? (e as Error).message}`);
    return 1;
  }
  if ((res.status === 404 || res.status === 405) && !res.headers.get('content-type')?.includes('json')) {
    out.error(`grasp-relay resync: admin actions are off on ${admin.origin} (start it with ${tokenEnv} set)`);
    return 1;
  }
  const body = (await res.json()) as { ok: boolean; error?: string; requestedAt?: number; git?: boolean };
  if (!body.ok) {
    out.error(`grasp-relay resync: ${body.error ?? `HTTP ${res.status}`}`);
    return 1;
  }
  if (gitOnly && body.git !== true) {
    out.error(`grasp-relay resync: ${admin.origin} does not know resync --git (a grasp-relay from before git sync): it started a Nostr resync instead`);
    return 1;
  }
  const requestedAt = body.requestedAt ?? Date.now();
  if (args.options.has('no-wait')) return 0;

  const deadline = Date.now() + timeoutMs;
  if (gitOnly) return waitForGit(status, deadline, out);
  let peers: PeerStatus[] = [];
  const finished = (p: PeerStatus) => (p.lastFullSyncAt ?? 0) >= requestedAt && p.pendingBatches === 0 && p.pendingItems === 0;
  const progress = new Progress('resync', () => {
    const done = peers.filter(finished).length;
    const received = peers.reduce((a, p) => a + p.received, 0);
    const pending = peers.reduce((a, p) => a + p.pendingItems, 0);
    return `${done}/${peers.length} peers done, ${pending} items pending, ${received} events received`;
  });
  for (;;) {
    try {
      const report = (await (await fetch(status, { signal: AbortSignal.timeout(10_000) })).json()) as StatusReport;
      const all = report.sync.peers;
      const wanted = target === undefined ? undefined : normalizeRelayUrl(target);
      peers = wanted === undefined ? all : all.filter((p) => p.url === wanted);
    } catch {
      // a transient failure: keep polling until the deadline
    }
    progress.tick();
    if (peers.length > 0 && peers.every(finished)) break;
    if (Date.now() > deadline) {
      progress.done();
      out.error('grasp-relay resync: still running at the timeout; see grasp-relay status');
      return 1;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  progress.done();
  return 0;
}

const gitProgressText = (p: ResyncProgress | undefined): string =>
  p === undefined
    ? 'waiting for the relay'
    : `${p.done}/${p.total} repositories done, ${p.aligned} aligned, ${p.missing} still missing data${p.finished ? '' : ' (running)'}`;

/** Poll /status until git.sync.resync has finished (or the deadline). */
async function waitForGit(status: string, deadline: number, out: ResyncOutput): Promise<number> {
  let progress: ResyncProgress | undefined;
  const line = new Progress('resync --git', () => gitProgressText(progress));
  for (;;) {
    try {
      const report = (await (await fetch(status, { signal: AbortSignal.timeout(10_000) })).json()) as StatusReport;
      const sync = report.git?.enabled === true ? report.git.sync : undefined;
      if (sync?.enabled === true) progress = sync.resync;
    } catch {
      // a transient failure: keep polling until the deadline
    }
    line.tick();
    if (progress?.finished === true) break;
    if (Date.now() > deadline) {
      line.done();
      out.error('grasp-relay resync: git resync still running at the timeout; see grasp-relay status');
      return 1;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  line.done();
  return 0;
}
