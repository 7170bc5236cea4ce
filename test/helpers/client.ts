// A real WebSocket test client for relays on loopback: send messages, await replies by predicate
// (never by sleeping), and small conveniences for EVENT/OK, REQ→EOSE, COUNT.
import WebSocket from 'ws';
import type { Filter, NostrEvent } from '../../src/nostr/event.js';

export type RelayMessage = unknown[];

export class TestClient {
  readonly received: RelayMessage[] = [];
  private waiters: Array<{ pred: (m: RelayMessage) => boolean; resolve: (m: RelayMessage) => void }> = [];
  /** indexes of received messages already returned by next() */
  private readonly consumed = new Set<number>();
  closed = false;
  closeCode?: number;
  private closeWaiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      let m: RelayMessage;
      try {
        m = JSON.parse(data.toString()) as RelayMessage;
      } catch {
        m = ['__unparsable__', data.toString()];
      }
      this.received.push(m);
      const idx = this.received.length - 1;
      for (const w of [...this.waiters]) {
        if (!this.consumed.has(idx) && w.pred(m)) {
          this.consumed.add(idx);
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      for (const f of this.closeWaiters) f();
    });
    ws.on('error', () => {});
  }

  static connect(url: string, opts: WebSocket.ClientOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts);
      ws.once('open', () => resolve(new TestClient(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  send(msg: unknown[]): void {
    this.ws.send(JSON.stringify(msg));
  }

  sendRaw(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** The oldest message not yet returned by next() that matches pred (waits for one if needed). */
  next(pred: (m: RelayMessage) => boolean = () => true, timeoutMs = 10_000): Promise<RelayMessage> {
    for (let i = 0; i < this.received.length; i++) {
      if (this.consumed.has(i)) continue;
      const m = this.received[i]!;
      if (pred(m)) {
        this.consumed.add(i);
        return Promise.resolve(m);
      }
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out waiting for a relay message; last: ${JSON.stringify(this.received.slice(-3)).slice(0, 500)}`));
      }, timeoutMs);
      const done = (m: RelayMessage) => {
        clearTimeout(t);
        resolve(m);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  /** EVENT → the OK for its id. */
  async publish(event: NostrEvent | Record<string, unknown>): Promise<{ ok: boolean; message: string }> {
    const id = (event as { id?: unknown }).id;
    this.send(['EVENT', event]);
    const m = await this.next((x) => x[0] === 'OK' && x[1] === (typeof id === 'string' ? id.slice(0, 64) : id));
    return { ok: m[2] as boolean, message: m[3] as string };
  }

  /** REQ → stored events until EOSE (or CLOSED). Leaves the subscription open unless closed. */
  async req(subId: string, ...filters: Filter[]): Promise<{ events: NostrEvent[]; closed?: string }> {
    const start = this.received.length;
    this.send(['REQ', subId, ...filters]);
    const end = await this.next((m) => (m[0] === 'EOSE' || m[0] === 'CLOSED') && m[1] === subId);
    const events: NostrEvent[] = [];
    for (let i = start; i < this.received.length; i++) {
      const m = this.received[i]!;
      if (m === end) break;
      if (m[0] === 'EVENT' && m[1] === subId) {
        this.consumed.add(i);
        events.push(m[2] as NostrEvent);
      }
    }
    return end[0] === 'CLOSED' ? { events, closed: end[2] as string } : { events };
  }

  async count(subId: string, ...filters: Filter[]): Promise<number> {
    this.send(['COUNT', subId, ...filters]);
    const m = await this.next((x) => (x[0] === 'COUNT' || x[0] === 'CLOSED') && x[1] === subId);
    if (m[0] === 'CLOSED') throw new Error(String(m[2]));
    return (m[2] as { count: number }).count;
  }

  waitClosed(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const p = this.waitClosed();
    this.ws.close();
    return p;
  }
}
