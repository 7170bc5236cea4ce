// The load generator's WebSocket client (over `ws`): one connection per client, N events in flight
// per connection with OK latency, REQ→EOSE timing, and live subscriptions. Relay messages are
// classified by prefix; only small ones (OK, EOSE, CLOSED, NOTICE) are JSON-parsed, so the client
// stays cheap next to the relay it measures.
import WebSocket from 'ws';
import { Samples, percentiles, round, type Percentiles } from './stats.js';

/** An event as the load generator sends it: its id and its JSON text. */
export interface RawEvent {
  id: string;
  raw: string;
}

export interface PublishStats {
  events: number;
  ok: number;
  refused: number;
  seconds: number;
  eventsPerSec: number;
  /** EVENT sent → OK received, ms */
  okLatency: Percentiles;
  /** up to 5 refusal messages with counts */
  refusals: Record<string, number>;
}

export interface ReqOutcome {
  events: number;
  /** REQ sent → EOSE received, ms */
  ms: number;
  /** set when the relay answered CLOSED instead of EOSE */
  closed?: string;
}

/** Called for every EVENT on a live subscription: sub id, the whole message text, receive time. */
export type LiveHandler = (subId: string, text: string, now: number) => void;

interface PendingReq {
  t0: number;
  events: number;
  resolve: (r: ReqOutcome) => void;
}

export class LoadClient {
  private okWaiters = new Map<string, (ok: boolean, message: string) => void>();
  private reqs = new Map<string, PendingReq>();
  private notices = new Set<string>();
  private closeWaiters: Array<() => void> = [];
  /** events received for subscriptions that are past EOSE (or never had a REQ pending) */
  onLive: LiveHandler | undefined;
  liveEvents = 0;
  closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => this.onMessage(data.toString()));
    ws.on('close', () => {
      this.closed = true;
      for (const f of this.closeWaiters) f();
      const err = 'connection closed';
      for (const [id, w] of this.okWaiters) {
        this.okWaiters.delete(id);
        w(false, err);
      }
      for (const [sub, r] of this.reqs) {
        this.reqs.delete(sub);
        r.resolve({ events: r.events, ms: performance.now() - r.t0, closed: err });
      }
    });
    ws.on('error', (e) => process.stderr.write(`bench client: ${e.message}\n`));
  }

  static connect(url: string): Promise<LoadClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
      ws.once('open', () => resolve(new LoadClient(ws)));
      ws.once('error', reject);
    });
  }

  private onMessage(text: string): void {
    const c = text.charCodeAt(2);
    if (c === 69 /* E */ && text.startsWith('["EVENT","')) {
      const end = text.indexOf('"', 10);
      const subId = text.slice(10, end);
      const r = this.reqs.get(subId);
      if (r !== undefined) r.events++;
      else {
        this.liveEvents++;
        this.onLive?.(subId, text, performance.now());
      }
      return;
    }
    let m: unknown[];
    try {
      m = JSON.parse(text) as unknown[];
    } catch {
      process.stderr.write(`bench client: unparsable message ${text.slice(0, 80)}\n`);
      return;
    }
    switch (m[0]) {
      case 'OK': {
        const w = this.okWaiters.get(m[1] as string);
        if (w !== undefined) {
          this.okWaiters.delete(m[1] as string);
          w(m[2] === true, String(m[3] ?? ''));
        }
        return;
      }
      case 'EOSE':
      case 'CLOSED': {
        const sub = m[1] as string;
        const r = this.reqs.get(sub);
        if (r === undefined) return;
        this.reqs.delete(sub);
        const out: ReqOutcome = { events: r.events, ms: performance.now() - r.t0 };
        if (m[0] === 'CLOSED') out.closed = String(m[2] ?? '');
        r.resolve(out);
        return;
      }
      case 'NOTICE': {
        const n = String(m[1]);
        if (!this.notices.has(n)) {
          this.notices.add(n);
          process.stderr.write(`bench client: NOTICE ${n.slice(0, 200)}\n`);
        }
        return;
      }
    }
  }

  send(text: string): void {
    this.ws.send(text);
  }

  /**
   * Publish `events` keeping `inFlight` EVENTs unanswered at a time; resolves when every one has
   * its OK. `latency` collects EVENT→OK ms; `onSend` sees each id with its send time.
   */
  publish(
    events: readonly RawEvent[],
    inFlight: number,
    latency?: Samples,
    onSend?: (id: string, t: number) => void,
    onOk?: (id: string, accepted: boolean, message: string) => void,
  ): Promise<{ ok: number; refused: number; refusals: Map<string, number> }> {
    let next = 0;
    let answered = 0;
    let ok = 0;
    let refused = 0;
    const refusals = new Map<string, number>();
    return new Promise((resolve) => {
      if (events.length === 0) return resolve({ ok, refused, refusals });
      const sendOne = (): void => {
        const e = events[next++]!;
        const t0 = performance.now();
        onSend?.(e.id, t0);
        this.okWaiters.set(e.id, (accepted, message) => {
          latency?.push(performance.now() - t0);
          onOk?.(e.id, accepted, message);
          answered++;
          if (accepted) ok++;
          else {
            refused++;
            const key = message.slice(0, 80);
            refusals.set(key, (refusals.get(key) ?? 0) + 1);
          }
          if (next < events.length) sendOne();
          else if (answered === events.length) resolve({ ok, refused, refusals });
        });
        this.ws.send(`["EVENT",${e.raw}]`);
      };
      for (let i = 0; i < Math.min(inFlight, events.length); i++) sendOne();
    });
  }

  /** REQ with these filters (JSON texts); resolves at EOSE (then sends CLOSE) or CLOSED. */
  req(subId: string, filterJson: readonly string[], keepOpen = false): Promise<ReqOutcome> {
    return new Promise((resolve) => {
      const pending: PendingReq = {
        t0: performance.now(),
        events: 0,
        resolve: (r) => {
          if (!keepOpen && r.closed === undefined && !this.closed) this.ws.send(`["CLOSE",${JSON.stringify(subId)}]`);
          resolve(r);
        },
      };
      this.reqs.set(subId, pending);
      this.ws.send(`["REQ",${JSON.stringify(subId)},${filterJson.join(',')}]`);
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.closeWaiters.push(resolve);
      this.ws.close();
    });
  }
}

export function toRawEvents(events: ReadonlyArray<{ id: string }>): RawEvent[] {
  return events.map((e) => ({ id: e.id, raw: JSON.stringify(e) }));
}

/**
 * Open `connections` clients, deal `events` out round-robin (so global order is roughly kept),
 * publish with `inFlight` per connection, close them. Throughput counts every answered EVENT.
 */
export function publishParallel(
  url: string,
  events: readonly RawEvent[],
  connections: number,
  inFlight: number,
  /** runs after the last OK, before the connections close (e.g. read the relay's RSS) */
  beforeClose?: () => Promise<void>,
): Promise<PublishStats> {
  return publishWaves(url, [events], connections, inFlight, beforeClose);
}

/** As publishParallel, one wave after another: a wave starts once every EVENT before it has its OK. */
export async function publishWaves(
  url: string,
  waves: ReadonlyArray<readonly RawEvent[]>,
  connections: number,
  inFlight: number,
  beforeClose?: () => Promise<void>,
): Promise<PublishStats> {
  const clients = await Promise.all(Array.from({ length: connections }, () => LoadClient.connect(url)));
  const total = waves.reduce((a, w) => a + w.length, 0);
  const lat = new Samples(total);
  const refusals = new Map<string, number>();
  let ok = 0;
  let refused = 0;
  const t0 = performance.now();
  for (const wave of waves) {
    const shares: RawEvent[][] = clients.map(() => []);
    wave.forEach((e, i) => shares[i % connections]!.push(e));
    const results = await Promise.all(clients.map((c, i) => c.publish(shares[i]!, inFlight, lat)));
    for (const r of results) {
      ok += r.ok;
      refused += r.refused;
      for (const [k, v] of r.refusals) refusals.set(k, (refusals.get(k) ?? 0) + v);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  await beforeClose?.();
  await Promise.all(clients.map((c) => c.close()));
  return {
    events: total,
    ok,
    refused,
    seconds: round(seconds, 3),
    eventsPerSec: Math.round(total / seconds),
    okLatency: percentiles(lat.values()),
    refusals: Object.fromEntries([...refusals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5)),
  };
}
