// The two sides of a negentropy v1 reconciliation as callers use them: options checked, the
// initiator's first message and its have/need bookkeeping (each id reported once), the
// responder's reply per message. The loop itself is reconciler.ts's Engine.
import { hexToBytes } from './codec.js';
import { NegentropyError } from './errors.js';
import { Engine } from './reconciler.js';
import type { NegentropyStorage } from './storage.js';

export interface NegentropyOptions {
  /** Largest message in bytes that this side sends; 0 (default) = unlimited, otherwise ≥ 4096. */
  frameSizeLimit?: number;
  /**
   * Largest message accepted; 0 (default) = any size. A frame limit bounds what a side sends, not
   * what it accepts: the peer may use a larger limit than ours (nostr-tools defaults to 60000,
   * strfry more, others none), so the size of incoming messages is left to the caller's own
   * message-size limit (the relay's limits.maxMessageBytes) unless this is set.
   */
  maxIncomingFrame?: number;
}

function checkLimit(limit: number | undefined): number {
  const l = limit ?? 0;
  if (!Number.isSafeInteger(l) || l < 0 || (l !== 0 && l < 4096)) {
    throw new NegentropyError(`frameSizeLimit must be 0 (unlimited) or an integer >= 4096, got ${String(limit)}`);
  }
  return l;
}

function makeEngine(storage: NegentropyStorage, opts: NegentropyOptions | undefined): Engine {
  const limit = checkLimit(opts?.frameSizeLimit);
  const maxIn = opts?.maxIncomingFrame ?? 0;
  if (!Number.isSafeInteger(maxIn) || maxIn < 0) throw new NegentropyError(`maxIncomingFrame must be a non-negative integer, got ${String(maxIn)}`);
  return new Engine(storage, limit, maxIn);
}

/** The side that starts a reconciliation and learns the differences. */
export class NegentropyInitiator {
  private readonly engine: Engine;
  private initiated = false;
  private readonly reported = new Set<string>();

  constructor(storage: NegentropyStorage, opts?: NegentropyOptions) {
    this.engine = makeEngine(storage, opts);
  }

  /** Hex of the first message. */
  initiate(): string {
    if (this.initiated) throw new NegentropyError('already initiated');
    this.initiated = true;
    this.engine.initiate();
    return this.engine.out.hex();
  }

  /**
   * Process the responder's message. `output` is the next message, or null when reconciliation
   * is complete; `have` (we have, they lack) and `need` (they have, we lack) are this round's new ids.
   */
  reconcile(msgHex: string): { output: string | null; have: string[]; need: string[] } {
    if (!this.initiated) throw new NegentropyError('reconcile before initiate');
    const q = hexToBytes(msgHex);
    const have: string[] = [];
    const need: string[] = [];
    const reported = this.reported;
    this.engine.run(q, true, (id, isHave) => {
      if (reported.has(id)) return;
      reported.add(id);
      (isHave ? have : need).push(id);
    });
    const out = this.engine.out;
    return { output: out.len === 1 ? null : out.hex(), have, need };
  }
}

/** The side that answers (the relay in NIP-77). */
export class NegentropyResponder {
  private readonly engine: Engine;

  constructor(storage: NegentropyStorage, opts?: NegentropyOptions) {
    this.engine = makeEngine(storage, opts);
  }

  /** Hex of the reply to one message. */
  reconcile(msgHex: string): string {
    this.engine.run(hexToBytes(msgHex), false, null);
    return this.engine.out.hex();
  }
}
