// `grasp-relay resync [--relay URL] [--url BASE] [--no-wait] [--timeout S]`: ask a running relay
// to fully resync one sync peer (or all) through POST /admin/resync, then show progress from
// /status until every targeted peer has finished. Needs the admin token in the environment.
import { normalizeRelayUrl, type PeerStatus } from '../sync/index.js';
import type { StatusReport } from '../ops/status.js';
import { stringOption, type ParsedArgs } from './args.js';
import { configFromArgs } from './config-path.js';
import { Progress } from './progress.js';
import { defaultBase, statusUrl } from './status.js';

const POLL_MS = 1000;

export async function cmdResync(args: ParsedArgs): Promise<number> {
  const cfg = configFromArgs(args);
  const tokenEnv = cfg.service.adminTokenEnv;
  const token = process.env[tokenEnv];
  if (!token) {
    console.error(`grasp-relay resync: set ${tokenEnv} to the relay's admin token (the relay must run with it too)`);
    return 2;
  }
  const status = statusUrl(stringOption(args, 'url') ?? defaultBase(args));
  const target = stringOption(args, 'relay');
  const admin = new URL(status);
  admin.pathname = '/admin/resync';
  if (target !== undefined) admin.searchParams.set('relay', target);

  let res: Response;
  try {
    res = await fetch(admin, { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    console.error(`grasp-relay resync: cannot reach ${admin.origin}: ${(e as Error).cause ?? (e as Error).message}`);
    return 1;
  }
  if ((res.status === 404 || res.status === 405) && !res.headers.get('content-type')?.includes('json')) {
    console.error(`grasp-relay resync: admin actions are off on ${admin.origin} (start it with ${tokenEnv} set)`);
    return 1;
  }
  const body = (await res.json()) as { ok: boolean; error?: string; requestedAt?: number };
  if (!body.ok) {
    console.error(`grasp-relay resync: ${body.error ?? `HTTP ${res.status}`}`);
    return 1;
  }
  const requestedAt = body.requestedAt ?? Date.now();
  if (args.options.has('no-wait')) return 0;

  const timeoutMs = Number(stringOption(args, 'timeout') ?? 600) * 1000;
  const deadline = Date.now() + timeoutMs;
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
      console.error('grasp-relay resync: still running at the timeout; see grasp-relay status');
      return 1;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  progress.done();
  return 0;
}
