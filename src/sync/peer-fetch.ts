// Reading history from one peer with plain REQs: one REQ until EOSE (with an AUTH retry), REQ+EOSE
// paging backwards through a filter's history, and fetching events by id in chunks. Every REQ
// works for a batch and holds one of the reserved subscription slots. Must not decide which
// filters or ids to read (peer-historic.ts does) nor judge the events (peer-intake.ts passes them on).
import type { SyncConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Filter } from '../nostr/event.js';
import { chunk } from './filters.js';
import type { Batch, Batches } from './peer-batches.js';
import type { Intake } from './peer-intake.js';
import type { PeerSocket } from './peer-socket.js';
import { deferred, mapLimit, Semaphore } from './wire.js';

const FETCH_PARALLEL = 4;

export interface FetchStats {
  reqPages: number;
  fetchReqs: number;
  fetchRetries: number;
}

export interface PeerFetchDeps {
  url: string;
  sync: Pick<SyncConfig, 'fetchChunk'>;
  log: Logger;
  socket: PeerSocket;
  batches: Batches;
  intake: Intake;
  has: (id: string) => boolean;
  /** ids already refused or waiting in the retry set: never fetched again */
  known: (id: string) => boolean;
}

export class PeerFetch {
  readonly stats: FetchStats = { reqPages: 0, fetchReqs: 0, fetchRetries: 0 };
  private readonly d: PeerFetchDeps;
  private slots = new Semaphore(8);
  /** ids in a fetch REQ right now */
  private readonly requested = new Set<string>();
  /** the largest page seen on this connection: the peer's apparent limit when NIP-11 has none */
  private maxPageSeen = 0;

  constructor(deps: PeerFetchDeps) {
    this.d = deps;
  }

  /** A new connection: `reserved` concurrent REQs for history (the rest of the budget is live). */
  connected(reserved: number): void {
    this.slots = new Semaphore(reserved);
    this.maxPageSeen = 0;
  }

  /** Fetch ids in chunks; an id counts as received when its event arrives (any policy outcome). */
  async fetchIds(ids: readonly string[], b: Batch): Promise<void> {
    // Skip ids another filter is already fetching (a comment matches #e and #E; a status #a and
    // #e) or that arrived and are on their way through the write path. If that other fetch
    // fails, its batch fails and is retried, and its filter covers these ids again.
    const { intake } = this.d;
    let missing = ids.filter((id) => !this.requested.has(id) && !intake.inWritePath(id) && !this.d.has(id) && !this.d.known(id));
    while (missing.length > 0) {
      const want = new Set(missing);
      await mapLimit(chunk(missing, this.d.sync.fetchChunk), FETCH_PARALLEL, async (c) => {
        for (const id of c) this.requested.add(id);
        this.stats.fetchReqs++;
        try {
          await this.reqOnce([{ ids: c }], b, (id) => want.delete(id));
        } finally {
          for (const id of c) this.requested.delete(id);
        }
      });
      if (want.size === missing.length) {
        this.d.log.warn({ relay: this.d.url, missing: want.size }, 'sync peer did not send ids it listed; giving up on them this round');
        return;
      }
      missing = [...want];
      this.stats.fetchRetries++;
    }
  }

  /** REQ+EOSE history of one filter, paging backwards with until = oldest seen. */
  async reqPaged(filter: Filter, b: Batch): Promise<void> {
    const seen = new Set<string>();
    let until = filter.until;
    for (;;) {
      const f: Filter = { ...filter };
      if (until !== undefined) f.until = until;
      let page = 0;
      let fresh = 0;
      let oldest = Infinity;
      this.stats.reqPages++;
      const r = await this.reqOnce([f], b, (id, createdAt) => {
        page++;
        if (createdAt < oldest) oldest = createdAt;
        if (!seen.has(id)) {
          seen.add(id);
          fresh++;
        }
      });
      if (r === 'refused') return;
      this.maxPageSeen = Math.max(this.maxPageSeen, page);
      const apparent = this.d.socket.remote.maxLimit ?? this.maxPageSeen;
      if (page === 0 || page < apparent || !Number.isFinite(oldest)) return;
      until = fresh === 0 ? oldest - 1 : oldest;
      if (filter.since !== undefined && until < filter.since) return;
    }
  }

  /** One REQ until EOSE. Resolves 'refused' when the relay requires AUTH we cannot give. */
  private async reqOnce(filters: Filter[], b: Batch, onEvent?: (id: string, createdAt: number) => void): Promise<'eose' | 'refused'> {
    const { socket, batches } = this.d;
    const slots = this.slots;
    await batches.acquire(slots, b);
    const id = socket.subId('r');
    const done = deferred<'eose' | 'refused'>();
    const cancel = (e: Error): void => done.reject(e);
    let closedByRelay = false;
    try {
      if (b.failed !== undefined) throw b.failed;
      b.cancels.add(cancel);
      let authRetried = false;
      socket.subscribe(
        id,
        batches.bind(b, {
          onEvent: (ev, raw) => {
            const e = ev as { id?: unknown; created_at?: unknown };
            if (onEvent !== undefined && typeof e.id === 'string' && typeof e.created_at === 'number') onEvent(e.id, e.created_at);
            this.d.intake.receive(ev, raw, b);
          },
          onEose: () => done.resolve('eose'),
          onClosed: (msg) => {
            closedByRelay = true;
            if (msg.startsWith('auth-required:')) {
              // our AUTH answer (sent only when we have a key) may still be on its way: ask once more
              const auth = socket.auth;
              if (auth !== undefined && !authRetried) {
                authRetried = true;
                void auth.then((ok) => {
                  if (ok && !done.settled) {
                    closedByRelay = false;
                    socket.send(['REQ', id, ...filters]);
                  } else done.resolve('refused');
                });
                return;
              }
              this.d.log.info({ relay: this.d.url, msg }, 'sync peer requires AUTH for a filter; treated as refused');
              done.resolve('refused');
              return;
            }
            done.reject(new Error(`CLOSED ${msg}`));
          },
        }),
      );
      socket.send(['REQ', id, ...filters]);
      return await done.promise;
    } finally {
      b.cancels.delete(cancel);
      socket.unsubscribe(id);
      if (!closedByRelay) socket.send(['CLOSE', id]);
      slots.release();
    }
  }
}
