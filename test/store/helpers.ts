// Store test helpers: a real store in a temp dir, a manual clock, cheap unsigned events with
// random 64-hex ids, and a brute-force reference (matchFilter over everything) to compare with.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/clock.js';
import type { Filter, NostrEvent } from '../../src/nostr/event.js';
import { matchFilter } from '../../src/nostr/filter.js';
import { openStore } from '../../src/store/lmdb-store.js';
import type { Store } from '../../src/store/types.js';

export class ManualClock implements Clock {
  constructor(public ms: number = Date.now()) {}
  now(): number {
    return this.ms;
  }
  setTimeout(): { cancel(): void } {
    return { cancel() {} };
  }
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
}

export interface TempStore {
  store: Store;
  dir: string;
  clock: ManualClock;
  reopen(): Promise<Store>;
  destroy(): Promise<void>;
}

export async function tempStore(clock = new ManualClock()): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'grasp-store-test-'));
  const t: TempStore = {
    store: await openStore({ dataDir: dir, mapSizeGiB: 1, clock }),
    dir,
    clock,
    async reopen() {
      await t.store.close();
      t.store = await openStore({ dataDir: dir, mapSizeGiB: 1, clock });
      return t.store;
    },
    async destroy() {
      await t.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

export const hex32 = (): string => randomBytes(32).toString('hex');

/** An unsigned event with a random id (the store does not verify signatures). */
export function fake(t: Partial<NostrEvent> & { kind: number }): NostrEvent {
  return {
    id: t.id ?? hex32(),
    pubkey: t.pubkey ?? hex32(),
    created_at: t.created_at ?? 1_700_000_000,
    kind: t.kind,
    tags: t.tags ?? [],
    content: t.content ?? '',
    sig: '0'.repeat(128),
  };
}

export async function insertAll(store: Store, events: NostrEvent[]): Promise<void> {
  const rs = await Promise.all(events.map((e) => store.insert(e, JSON.stringify(e))));
  rs.forEach((r, i) => {
    if (r.status !== 'stored') throw new Error(`insert ${events[i]!.id}: ${JSON.stringify(r)}`);
  });
}

export async function collect(store: Store, filters: Filter[], opts?: { maxLimit?: number; sliceSize?: number }): Promise<string[]> {
  const out: string[] = [];
  for await (const slice of store.query(filters, opts)) out.push(...slice);
  return out;
}

export const ids = (raws: string[]): string[] => raws.map((r) => (JSON.parse(r) as NostrEvent).id);

/** NIP-01 order: newest first, ties by id ascending. */
export const nip01Order = (a: NostrEvent, b: NostrEvent): number =>
  b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** What a correct store returns: per filter the first `limit` matches, merged, deduped, ordered. */
export function reference(all: NostrEvent[], filters: Filter[], maxLimit = 5000): string[] {
  const picked = new Map<string, NostrEvent>();
  for (const f of filters) {
    const limit = f.limit === undefined ? maxLimit : Math.min(f.limit, maxLimit);
    const m = all.filter((e) => matchFilter(f, e)).sort(nip01Order).slice(0, limit);
    for (const e of m) picked.set(e.id, e);
  }
  return [...picked.values()].sort(nip01Order).map((e) => e.id);
}
