// Shared setup for sync scenario tests: peers (grasp-relay instances in open or grasp mode), the
// relay under test (grasp mode, sync on, optional manual clock), publishing straight into a
// relay's write path, and waiting for id sets.
import type { Clock } from '../../../src/clock.js';
import type { Config } from '../../../src/config/schema.js';
import type { Filter, NostrEvent } from '../../../src/nostr/event.js';
import type { SyncEngine } from '../../../src/sync/index.js';
import type { Peer } from '../../../src/sync/peer.js';
import { startTestRelay, type ConfigOverrides, type TestRelay } from '../../helpers/relay.js';
import { waitFor } from '../../helpers/wait.js';

export type { TestRelay };

/** A general-purpose peer relay (open mode, sync off) unless overridden. */
export function startPeer(overrides: ConfigOverrides = {}, opts: { dataDir?: string } = {}): Promise<TestRelay> {
  return startTestRelay({ ...overrides, policy: { mode: 'open', ...overrides.policy } }, opts);
}

/** The relay under test: grasp mode, sync on. */
export function startGrasp(
  opts: { clock?: Clock; dataDir?: string; sync?: Partial<Config['sync']>; overrides?: ConfigOverrides } = {},
): Promise<TestRelay> {
  const o = opts.overrides ?? {};
  return startTestRelay(
    { ...o, policy: { mode: 'grasp', ...o.policy }, sync: { enabled: true, ...opts.sync } },
    { ...(opts.clock !== undefined ? { clock: opts.clock } : {}), ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}) },
  );
}

/** Submit events through a relay's write path as a client would; every one must be accepted. */
export async function put(relay: TestRelay, events: NostrEvent[]): Promise<void> {
  for (const e of events) {
    const r = await relay.ingest.submit(e, JSON.stringify(e), 'client');
    if (!r.ok) throw new Error(`${relay.url} refused kind ${e.kind}: ${r.message}`);
  }
}

export function ids(relay: TestRelay, filter: Filter = {}): Set<string> {
  return new Set(relay.store.querySync(filter, 1_000_000).map((s) => s.event.id));
}

export function has(relay: TestRelay, events: Array<NostrEvent | string>): boolean {
  return events.every((e) => relay.store.has(typeof e === 'string' ? e : e.id));
}

export async function waitHas(relay: TestRelay, events: Array<NostrEvent | string>, timeoutMs = 10_000, what = 'events'): Promise<void> {
  await waitFor(() => has(relay, events), timeoutMs, `${what} on ${relay.url} (${events.filter((e) => !relay.store.has(typeof e === 'string' ? e : e.id)).length} missing)`);
}

export function engine(relay: TestRelay): SyncEngine {
  if (relay.sync === undefined) throw new Error('sync is not enabled on this relay');
  return relay.sync;
}

export function peerOf(relay: TestRelay, url: string): Peer {
  const p = engine(relay).peer(url);
  if (p === undefined) throw new Error(`no sync peer ${url}; peers: ${engine(relay).status().peers.map((x) => x.url).join(', ')}`);
  return p;
}

/** Wait until the engine has a peer for `url` that is connected with nothing pending. */
export async function waitIdle(relay: TestRelay, url: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    () => {
      const p = engine(relay).peer(url);
      return p !== undefined && p.idle;
    },
    timeoutMs,
    `peer ${url} idle`,
  );
}
