// In-memory stand-ins for engine-level sync tests that need no relay process: a Store subset
// (matching by the shared filter matcher, NIP-77 items via buildItems) and an Ingest with a
// pluggable policy. Real sockets and real peers are still used around them.
import type { Ingest, IngestResult } from '../../src/relay/ingest.js';
import type { Filter, NostrEvent } from '../../src/nostr/event.js';
import { matchFilter } from '../../src/nostr/filter.js';
import { buildItems } from '../../src/negentropy/index.js';
import type { PolicyDecision } from '../../src/policy/index.js';
import type { InsertResult, NegentropyItems, Store, StoredEvent } from '../../src/store/types.js';

export class MemStore {
  readonly events = new Map<string, StoredEvent>();
  readonly meta = new Map<string, unknown>();
  /** ids the sync engine must treat as held (as if in purgatory) */
  readonly held = new Set<string>();
  /** announcements held in purgatory (the engine syncs the relays they name) */
  readonly heldAnnouncements: NostrEvent[] = [];
  readonly purgatory = {
    has: (id: string): boolean => this.held.has(id),
    expiredAt: (): number | undefined => undefined,
    all: () => this.heldAnnouncements.map((event) => ({ id: event.id, event, dormant: false })),
  };
  has(id: string): boolean {
    return this.events.has(id);
  }
  get(id: string): StoredEvent | undefined {
    return this.events.get(id);
  }
  querySync(filter: Filter, max: number): StoredEvent[] {
    return [...this.events.values()]
      .filter((s) => matchFilter(filter, s.event))
      .sort((a, b) => b.event.created_at - a.event.created_at)
      .slice(0, max);
  }
  negentropyItems(filter: Filter, max: number): NegentropyItems | 'too-many' {
    const m = [...this.events.values()].filter((s) => matchFilter(filter, s.event));
    if (m.length > max) return 'too-many';
    return buildItems(m.map((s) => [s.event.created_at, s.event.id]));
  }
  getMeta<T>(key: string): T | undefined {
    return this.meta.get(key) as T | undefined;
  }
  async putMeta(key: string, value: unknown): Promise<void> {
    this.meta.set(key, JSON.parse(JSON.stringify(value)));
  }
  async insert(event: NostrEvent, raw: string): Promise<InsertResult> {
    if (this.events.has(event.id)) return { status: 'duplicate' };
    this.events.set(event.id, { event, raw });
    return { status: 'stored', replaced: [], deleted: [] };
  }
  asStore(): Store {
    return this as unknown as Store;
  }
}

export type MemPolicy = (event: NostrEvent, store: MemStore) => PolicyDecision;

export function memIngest(store: MemStore, policy: MemPolicy = () => ({ action: 'accept' })): Ingest & { submitted: number } {
  const heldListeners = new Set<(e: NostrEvent, origin: 'client' | 'sync') => void>();
  const listeners = new Set<(e: NostrEvent, origin: 'client' | 'sync') => void>();
  const ingest = {
    submitted: 0,
    counts: {} as Ingest['counts'],
    refusals: {},
    async drain() {},
    onAccepted(l: (e: NostrEvent, origin: 'client' | 'sync') => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    onHeld(l: (e: NostrEvent, origin: 'client' | 'sync') => void) {
      heldListeners.add(l);
      return () => heldListeners.delete(l);
    },
    async submit(event: NostrEvent, raw: string, origin: 'client' | 'sync'): Promise<IngestResult> {
      ingest.submitted++;
      await Promise.resolve();
      if (store.has(event.id)) return { ok: true, duplicate: true, message: 'duplicate:' };
      const d = policy(event, store);
      if (d.action === 'reject') return { ok: false, duplicate: false, message: d.message, decision: d };
      await store.insert(event, raw);
      for (const l of listeners) l(event, origin);
      return { ok: true, duplicate: false, message: '' };
    },
    async release(event: NostrEvent, raw: string, origin: 'client' | 'sync'): Promise<InsertResult> {
      const r = await store.insert(event, raw);
      if (r.status === 'stored') for (const l of listeners) l(event, origin);
      return r;
    },
  };
  return ingest;
}
