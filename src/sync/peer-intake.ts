// Events one peer sends us (historic, catch-up, fetched or live) on their way into the write path:
// counted, dropped early when malformed, already stored, already on their way or known refused,
// submitted otherwise, with backpressure (the socket pauses while too many are outstanding).
// Must not request anything or judge events itself: the write path (submit) decides.
import type { Logger } from '../log.js';
import { isHex64, type NostrEvent } from '../nostr/event.js';

export type SubmitOutcome = 'accepted' | 'duplicate' | 'rejected';

export interface PeerCounters {
  received: number;
  accepted: number;
  rejected: number;
  duplicate: number;
}

/** Whatever waits for its events to pass the write path (a batch). */
export interface Drainable {
  outstanding: number;
  drained?: () => void;
}

export interface IntakeDeps {
  url: string;
  log: Logger;
  has: (id: string) => boolean;
  /** ids already refused or waiting in the retry set: dropped on arrival */
  known: (id: string) => boolean;
  submit: (event: NostrEvent, raw: string) => Promise<SubmitOutcome>;
  /** the socket's backpressure */
  pause: () => void;
  resume: () => void;
}

const PAUSE_AT = 2000;
const RESUME_AT = 500;

export class Intake {
  readonly counters: PeerCounters = { received: 0, accepted: 0, rejected: 0, duplicate: 0 };
  private readonly d: IntakeDeps;
  private readonly inflight = new Set<string>();
  private outstanding = 0;

  constructor(deps: IntakeDeps) {
    this.d = deps;
  }

  /** Received and still in the write path. */
  inWritePath(id: string): boolean {
    return this.inflight.has(id);
  }

  receive(ev: unknown, raw: string, batch: Drainable | undefined): void {
    this.counters.received++;
    const e = ev as Partial<NostrEvent>;
    if (!isHex64(e.id) || typeof e.created_at !== 'number') {
      this.counters.rejected++;
      return;
    }
    const id = e.id;
    if (this.inflight.has(id) || this.d.has(id)) {
      this.counters.duplicate++;
      return;
    }
    if (this.d.known(id)) {
      this.counters.rejected++;
      return;
    }
    this.inflight.add(id);
    this.outstanding++;
    if (batch !== undefined) batch.outstanding++;
    if (this.outstanding >= PAUSE_AT) this.d.pause();
    this.d
      .submit(ev as NostrEvent, raw)
      .then(
        (r) => void this.counters[r]++,
        (err: unknown) => {
          this.counters.rejected++;
          this.d.log.error({ relay: this.d.url, err }, 'sync submit failed');
        },
      )
      .finally(() => {
        this.inflight.delete(id);
        this.outstanding--;
        if (this.outstanding <= RESUME_AT) this.d.resume();
        if (batch !== undefined && --batch.outstanding === 0) batch.drained?.();
      });
  }
}
