// One peer relay's connection: its NIP-11 limits, the WebSocket (open, send, receive, pause,
// close), NIP-42 AUTH with the relay's own key, and routing each relay message to the handlers
// of the subscription it names. Must not decide what to subscribe to, count or store events, or
// retry: the peer's lifecycle (peer.ts) and its parts do that through the hooks and handlers.
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import WebSocket from 'ws';
import { finalizeEvent } from 'nostr-tools/pure';
import { makeAuthEvent } from 'nostr-tools/nip42';
import type { Logger } from '../log.js';
import { nip11Url } from './urls.js';
import { isRateLimitMessage, parseRelayMessage, type RelayMessage } from './wire.js';

/** What one open subscription (REQ or NEG-OPEN) wants to hear about. */
export interface SubHandlers {
  /** an EVENT, EOSE or NEG-MSG for this subscription arrived (called before its handler) */
  onActivity?(): void;
  onEvent?(event: unknown, raw: string): void;
  onEose?(): void;
  onClosed?(message: string): void;
  onNegMsg?(hex: string): void;
  onNegErr?(message: string): void;
  /** every NOTICE while open; `namesThis` when its text contains this subscription's id */
  onNotice?(message: string, namesThis: boolean): void;
}

/** The peer's NIP-11 `limitation` fields we use (absent: unknown). */
export interface RemoteLimits {
  maxSubs?: number;
  maxFilters?: number;
  maxLimit?: number;
}

/** Connection events for the peer's lifecycle; only ever for the current connection. */
export interface SocketHooks {
  opened(): void;
  closed(why: string): void;
  /** an EVENT for a subscription no handler owns (live subscriptions) */
  otherEvent(sub: string, event: unknown, raw: string): void;
  /** a CLOSED for a subscription no handler owns (live subscriptions) */
  otherClosed(sub: string, message: string): void;
  /** a NOTICE or CLOSED in rate-limit wording */
  rateLimited(): void;
}

export interface PeerSocketDeps {
  url: string;
  log: Logger;
  secretKey?: Uint8Array;
  hooks: SocketHooks;
}

export class PeerSocket {
  /** limits from the peer's NIP-11 document, read before each connect */
  remote: RemoteLimits = {};
  private readonly d: PeerSocketDeps;
  private ws: WebSocket | undefined;
  private gen = 0;
  private stopped = false;
  private seq = 0;
  private readonly subs = new Map<string, SubHandlers>();
  private paused = false;
  private authOk: Promise<boolean> | undefined;
  private authResolve: ((ok: boolean) => void) | undefined;
  private authEventId: string | undefined;
  private closedWaiter: (() => void) | undefined;

  constructor(deps: PeerSocketDeps) {
    this.d = deps;
  }

  private get url(): string {
    return this.d.url;
  }

  /** Changes on every connect: work started on an earlier connection compares it. */
  get generation(): number {
    return this.gen;
  }

  /** The outcome of our answer to the current AUTH challenge (undefined: none sent). */
  get auth(): Promise<boolean> | undefined {
    return this.authOk;
  }

  /** Read NIP-11, then open the WebSocket; `opened` or `closed` follows. */
  connect(): void {
    if (this.stopped) return;
    const gen = ++this.gen;
    void this.fetchNip11().finally(() => {
      if (gen === this.gen && !this.stopped) this.open(gen);
    });
  }

  /** Close for good (no reconnect); resolves when the socket has closed (terminated after 1 s). */
  async close(): Promise<void> {
    this.stopped = true;
    const ws = this.ws;
    if (ws !== undefined && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => (this.closedWaiter = resolve));
      ws.close();
      const t = setTimeout(() => ws.terminate(), 1000);
      await closed;
      clearTimeout(t);
    }
    this.ws = undefined;
  }

  send(msg: unknown[]): void {
    const ws = this.ws;
    if (ws !== undefined && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  /** A subscription id not used before on this peer (`prefix` + a counter). */
  subId(prefix: string): string {
    return `${prefix}${++this.seq}`;
  }

  subscribe(id: string, handlers: SubHandlers): void {
    this.subs.set(id, handlers);
  }

  unsubscribe(id: string): void {
    this.subs.delete(id);
  }

  /** Tell every open subscription it ended with `err` (as a CLOSED `error:`) and forget them. */
  failSubs(err: Error): void {
    for (const sub of [...this.subs.values()]) sub.onClosed?.(`error: ${err.message}`);
    this.subs.clear();
  }

  /** Stop reading from the socket (backpressure); no-op when not connected. */
  pause(): void {
    if (this.paused || this.ws === undefined) return;
    this.paused = true;
    this.ws.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.ws?.resume();
  }

  /** NIP-11 limits of the peer (one short request, no pooled keep-alive connection left open). */
  private async fetchNip11(): Promise<void> {
    try {
      const url = nip11Url(this.url);
      const get = url.startsWith('https:') ? httpsGet : httpGet;
      const body = await new Promise<string>((resolve, reject) => {
        const req = get(url, { headers: { Accept: 'application/nostr+json' }, agent: false, timeout: 3000 }, (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`HTTP ${res.statusCode}`));
            return;
          }
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
            if (text.length > 1_000_000) req.destroy(new Error('NIP-11 document too large'));
          });
          res.on('end', () => resolve(text));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('NIP-11 timeout')));
        req.on('error', reject);
      });
      const doc = JSON.parse(body) as { limitation?: Record<string, unknown> };
      const l = doc.limitation ?? {};
      const num = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);
      this.remote = { maxSubs: num(l.max_subscriptions), maxFilters: num(l.max_filters), maxLimit: num(l.max_limit) };
    } catch {
      // no NIP-11: defaults apply
    }
  }

  private open(gen: number): void {
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, { handshakeTimeout: 10_000, maxPayload: 256 * 1024 * 1024, perMessageDeflate: false });
    } catch (e) {
      this.onClose(gen, (e as Error).message);
      return;
    }
    this.ws = ws;
    let error: string | undefined;
    ws.on('open', () => {
      if (gen === this.gen && !this.stopped) this.d.hooks.opened();
    });
    ws.on('message', (data: WebSocket.RawData) => {
      if (gen !== this.gen) return;
      this.onMessage(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString('utf8'));
    });
    ws.on('error', (e: Error) => (error = e.message));
    ws.on('close', (code: number) => {
      this.closedWaiter?.();
      this.onClose(gen, error ?? `connection closed (${code})`);
    });
  }

  private onClose(gen: number, why: string): void {
    if (gen !== this.gen) return;
    this.ws = undefined;
    this.paused = false;
    this.d.hooks.closed(why);
    // an AUTH answer still waiting for its OK is refused with the connection
    this.authResolve?.(false);
    this.authOk = undefined;
  }

  private onMessage(data: string): void {
    const m = parseRelayMessage(data);
    if (m === undefined) {
      this.d.log.debug({ relay: this.url, data: data.slice(0, 200) }, 'sync peer sent garbage');
      return;
    }
    this.dispatch(m);
  }

  private dispatch(m: RelayMessage): void {
    const hooks = this.d.hooks;
    switch (m.type) {
      case 'EVENT': {
        const sub = this.subs.get(m.sub);
        sub?.onActivity?.();
        if (sub?.onEvent !== undefined) sub.onEvent(m.event, m.raw);
        else hooks.otherEvent(m.sub, m.event, m.raw);
        return;
      }
      case 'EOSE': {
        const sub = this.subs.get(m.sub);
        sub?.onActivity?.();
        sub?.onEose?.();
        return;
      }
      case 'CLOSED': {
        if (isRateLimitMessage(m.message)) hooks.rateLimited();
        const sub = this.subs.get(m.sub);
        if (sub !== undefined) sub.onClosed?.(m.message);
        else hooks.otherClosed(m.sub, m.message);
        return;
      }
      case 'NOTICE': {
        this.d.log.info({ relay: this.url, notice: m.message.slice(0, 300) }, 'sync peer notice');
        if (isRateLimitMessage(m.message)) hooks.rateLimited();
        for (const [id, sub] of [...this.subs]) sub.onNotice?.(m.message, m.message.includes(id));
        return;
      }
      case 'NEG-MSG': {
        const sub = this.subs.get(m.sub);
        sub?.onActivity?.();
        sub?.onNegMsg?.(m.message);
        return;
      }
      case 'NEG-ERR':
        this.subs.get(m.sub)?.onNegErr?.(m.message);
        return;
      case 'AUTH':
        this.answerAuth(m.challenge);
        return;
      case 'OK':
        if (m.id === this.authEventId) {
          this.authResolve?.(m.ok);
          if (!m.ok) this.d.log.warn({ relay: this.url, message: m.message }, 'sync peer refused our AUTH');
        }
        return;
    }
  }

  private answerAuth(challenge: string): void {
    const sk = this.d.secretKey;
    if (sk === undefined) return;
    const ev = finalizeEvent(makeAuthEvent(this.url, challenge), sk);
    this.authEventId = ev.id;
    this.authOk = new Promise<boolean>((resolve) => (this.authResolve = resolve));
    this.send(['AUTH', ev]);
  }
}
