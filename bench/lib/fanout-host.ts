// Relay-process side of the fan-out bench's "transport limit" comparison (driven by relay-host.ts
// over IPC). With the clients' subscriptions open, the same events are pushed through either
//  - the relay's live path: `live.fanOut(event, raw)` (index match, framing, backpressure check,
//    transport send), exactly what ingest calls after a durable write, or
//  - the raw loop: the transport's own limit: every (socket, frame) pair precomputed (the frames
//    UTF-8 buffers, or flat strings; the sockets those of the subscriptions the index matched),
//    sent with the transport's send and nothing else,
// in chunks of `chunk` events per macrotask (as a write batch resolves many inserts at once).
// Trigger times are wall-clock ms (timeOrigin + now), comparable with the parent's receive times.
import type { LiveSubscription, SubscriptionIndex } from '../../src/live/subscription-index.js';
import type { NostrEvent } from '../../src/nostr/event.js';

export interface FanoutRunResult {
  /** wall-clock ms at which each event entered the fan-out */
  triggers: Float64Array;
  /** deliveries the run made (sends) */
  sends: number;
  /** ms spent inside the synchronous fan-out / send loops, summed over chunks */
  loopMs: number;
}

/** What the raw loop sends to: a subscription's connection, reached through its public send. */
interface SendTarget {
  send(text: string | Uint8Array): void;
}

function targetOf(sub: LiveSubscription): SendTarget {
  // the relay's Subscription keeps its Connection in `conn`; Connection.send(text) is the bare
  // transport send behind a closed-socket check
  const conn = (sub as unknown as { conn?: SendTarget }).conn;
  if (conn === undefined || typeof conn.send !== 'function') throw new Error('fanout bench: live subscription has no connection');
  return conn;
}

/** A flat (sequential) copy of a string, as a precomputed frame would be. */
const flat = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

export class FanoutDriver {
  private events: NostrEvent[] = [];
  private raws: string[] = [];
  private targets: SendTarget[][] = [];
  private frames: Array<Array<string | Uint8Array>> = [];

  constructor(private readonly live: SubscriptionIndex) {}

  /** Parse the events and precompute the raw loop's (target, frame) pairs; returns deliveries per round. */
  prepare(raws: readonly string[], bytes: boolean): number {
    this.raws = raws.map(flat);
    this.events = this.raws.map((r) => JSON.parse(r) as NostrEvent);
    this.targets = [];
    this.frames = [];
    let total = 0;
    for (let i = 0; i < this.events.length; i++) {
      const subs = this.live.match(this.events[i]!);
      this.targets.push(subs.map(targetOf));
      this.frames.push(
        subs.map((s) => {
          const frame = `["EVENT",${JSON.stringify((s as unknown as { subId: string }).subId)},${this.raws[i]}]`;
          return bytes ? Buffer.from(frame, 'utf8') : flat(frame);
        }),
      );
      total += subs.length;
    }
    return total;
  }

  run(mode: 'relay' | 'raw', chunk: number): Promise<FanoutRunResult> {
    const n = this.events.length;
    const triggers = new Float64Array(n);
    const origin = performance.timeOrigin;
    let sends = 0;
    let loopMs = 0;
    let i = 0;
    return new Promise((resolve) => {
      const step = (): void => {
        const t0 = performance.now();
        const end = Math.min(n, i + chunk);
        if (mode === 'relay') {
          for (; i < end; i++) {
            triggers[i] = origin + performance.now();
            sends += this.live.fanOut(this.events[i]!, this.raws[i]!);
          }
        } else {
          for (; i < end; i++) {
            triggers[i] = origin + performance.now();
            const ts = this.targets[i]!;
            const fs = this.frames[i]!;
            for (let k = 0; k < ts.length; k++) ts[k]!.send(fs[k]!);
            sends += ts.length;
          }
        }
        loopMs += performance.now() - t0;
        if (i < n) setImmediate(step);
        else resolve({ triggers, sends, loopMs });
      };
      setImmediate(step);
    });
  }
}
