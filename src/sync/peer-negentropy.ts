// NIP-77 as a client of one peer: reconcile one filter's local set with the peer's (NEG-OPEN,
// NEG-MSG rounds, NEG-CLOSE) and return the ids we need, or 'fallback' when REQ paging should read
// that filter instead; learn whether the peer supports NIP-77 and how many sessions it allows.
// Must not fetch the ids it finds (peer-fetch.ts does) nor persist anything itself (`changed`).
import type { Clock, TimerHandle } from '../clock.js';
import type { SyncConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Filter } from '../nostr/event.js';
import type { Store } from '../store/types.js';
import { negentropySession, type NegSession } from './neg.js';
import type { Batch, Batches } from './peer-batches.js';
import type { PeerSocket } from './peer-socket.js';
import { deferred, Semaphore } from './wire.js';

export type Nip77Support = 'yes' | 'no' | 'unknown';

export interface NegentropyStats {
  negSessions: number;
  negSkippedEmpty: number;
}

export interface PeerNegentropyDeps {
  url: string;
  sync: Pick<SyncConfig, 'negentropyTimeoutSeconds'>;
  clock: Clock;
  log: Logger;
  store: Pick<Store, 'negentropyItems'>;
  socket: PeerSocket;
  batches: Batches;
  /** what was learnt about the peer last time (persisted) */
  support: Nip77Support;
  /** `support` changed: persist it */
  changed: () => void;
  /** NIP-77 frame size limit of our messages (0 = none) */
  frameSizeLimit?: number;
  /** largest local set for a NIP-77 session before falling back to REQ */
  negMaxItems?: number;
}

const NEG_NOTICE = /NEG-|negentropy|unknown|unsupported|not supported/i;
/** concurrent NIP-77 sessions per peer (grasp-relay allows 4 by default); lowered when refused */
const NEG_SESSIONS = 4;
const TOO_MANY_SESSIONS = /too many (concurrent )?(nip-77 |negentropy )?sessions/i;

export class PeerNegentropy {
  readonly stats: NegentropyStats = { negSessions: 0, negSkippedEmpty: 0 };
  private readonly d: PeerNegentropyDeps;
  private nip77: Nip77Support;
  private capacity = NEG_SESSIONS;
  private slots = new Semaphore(NEG_SESSIONS);
  private warnedNoNip77 = false;

  constructor(deps: PeerNegentropyDeps) {
    this.d = deps;
    this.nip77 = deps.support;
  }

  get support(): Nip77Support {
    return this.nip77;
  }

  /** A new connection: as many sessions as the peer was last seen to allow. */
  connected(): void {
    this.slots = new Semaphore(this.capacity);
  }

  /** A full resync: a relay without NIP-77 is asked again (after the daily timer or an operator). */
  askAgain(): void {
    if (this.nip77 === 'no') this.nip77 = 'unknown';
    this.warnedNoNip77 = false;
  }

  /** NIP-77 reconcile of one filter: the ids the peer has and we need, or 'fallback'. */
  async reconcile(filter: Filter, b: Batch): Promise<string[] | 'fallback'> {
    const { socket, batches } = this.d;
    const items = this.d.store.negentropyItems(filter, this.d.negMaxItems ?? 1_000_000);
    if (items === 'too-many') return 'fallback';
    // Nothing held locally for this filter: NIP-77 would report every id as needed and cost two
    // extra round trips (reconcile, then fetch by id) over a plain REQ. Same result, cheaper
    // (events already refused or waiting are dropped on arrival without touching the write path).
    if (items.count === 0) {
      this.stats.negSkippedEmpty++;
      return 'fallback';
    }
    const slots = this.slots;
    await batches.acquire(slots, b);
    const id = socket.subId('n');
    const done = deferred<string[] | 'fallback'>();
    let timer: TimerHandle | undefined;
    try {
      if (b.failed !== undefined) throw b.failed;
      let session: NegSession;
      try {
        session = negentropySession(items, this.d.frameSizeLimit ?? 0);
      } catch (e) {
        this.d.log.error({ err: (e as Error).message }, 'NIP-77 unavailable locally');
        return 'fallback';
      }
      this.stats.negSessions++;
      let answered = false;
      const need: string[] = [];
      const unsupported = (why: string): void => {
        if (done.settled) return;
        this.markNoNip77(why);
        done.resolve('fallback');
      };
      const cancel = (e: Error): void => done.reject(e);
      b.cancels.add(cancel);
      socket.subscribe(
        id,
        batches.bind(b, {
          onNegMsg: (hex) => {
            if (done.settled) return;
            answered = true;
            let r: { output: string | null; need: string[] };
            try {
              r = session.reconcile(hex);
            } catch (e) {
              // a message we cannot reconcile: REQ for this filter rather than failing the batch
              socket.send(['NEG-CLOSE', id]);
              this.d.log.warn({ relay: this.d.url, err: (e as Error).message }, 'unusable NEG-MSG from peer; REQ for this filter');
              done.resolve('fallback');
              return;
            }
            if (this.nip77 !== 'yes') {
              this.nip77 = 'yes';
              this.d.changed();
            }
            for (const n of r.need) need.push(n);
            if (r.output === null) {
              socket.send(['NEG-CLOSE', id]);
              done.resolve(need);
            } else socket.send(['NEG-MSG', id, r.output]);
          },
          onNegErr: (msg) => {
            if (done.settled) return;
            if (!answered && TOO_MANY_SESSIONS.test(msg) && this.capacity > 1) {
              // the peer allows fewer sessions than we use: use one fewer from now on
              this.capacity--;
              slots.setCapacity(-1);
              this.d.log.info({ relay: this.d.url, sessions: this.capacity }, 'sync peer allows fewer NIP-77 sessions; lowering ours');
            }
            if (!answered && !msg.startsWith('blocked:')) unsupported(`NEG-ERR ${msg}`);
            else {
              this.d.log.info({ relay: this.d.url, msg }, 'NIP-77 session refused; REQ for this filter');
              done.resolve('fallback');
            }
          },
          onClosed: (msg) => {
            if (msg.startsWith('error: disconnected') || msg.startsWith('error: stopped')) done.reject(new Error(msg));
            else if (!answered) unsupported(`CLOSED ${msg}`);
            else done.resolve('fallback');
          },
          onNotice: (msg) => {
            if (!answered && NEG_NOTICE.test(msg)) unsupported(`NOTICE ${msg}`);
          },
        }),
      );
      timer = this.d.clock.setTimeout(() => {
        if (!answered) unsupported('no answer to NEG-OPEN');
      }, this.d.sync.negentropyTimeoutSeconds * 1000);
      socket.send(['NEG-OPEN', id, filter, session.initiate()]);
      const r = await done.promise;
      b.cancels.delete(cancel);
      return r;
    } finally {
      timer?.cancel();
      socket.unsubscribe(id);
      slots.release();
    }
  }

  private markNoNip77(why: string): void {
    if (this.nip77 !== 'no') {
      this.nip77 = 'no';
      this.d.changed();
    }
    if (!this.warnedNoNip77) {
      this.warnedNoNip77 = true;
      this.d.log.warn({ relay: this.d.url, why }, 'sync peer does not support NIP-77; using REQ+EOSE until the next daily resync');
    }
  }
}
