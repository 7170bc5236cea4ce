// One client connection: NIP-01 EVENT/REQ/CLOSE, NIP-45 COUNT, NIP-77 hand-off, limits and
// backpressure. Owns the connection's subscriptions (live index entries and running stored-event
// queries). Writes go through the shared ingest path; reads through the store's sliced queries.
// Memory bound: the subscriptions' stored-event streams take turns, one byte-bounded slice at a
// time, and fetch a slice only when the socket has room for it, so what the relay holds for one
// connection (socket buffer + the slice in hand) stays within limits.maxSendBufferBytes plus one
// event. A client over that bound is dropped (logged at info, counted in /metrics).
import type { Config } from '../config/schema.js';
import { eventFramePrefix, type EventBytes } from '../live/frames.js';
import type { LiveSubscription, SubscriptionIndex } from '../live/subscription-index.js';
import type { Logger } from '../log.js';
import type { Filter, NostrEvent } from '../nostr/event.js';
import type { Store } from '../store/types.js';
import type { Ingest } from './ingest.js';
import type { IpLimiter } from './ip-limits.js';
import {
  closedMessage,
  countMessage,
  eoseMessage,
  eventMessage,
  MessageError,
  noticeMessage,
  okMessage,
  parseClientMessage,
} from './messages.js';
import type { Socket, SocketHandler } from './transport.js';
import { checkFilters } from './validate.js';

/** Relay-wide things a connection needs. */
export interface ConnectionContext {
  config: Config;
  store: Store;
  ingest: Ingest;
  live: SubscriptionIndex;
  ipLimiter: IpLimiter;
  log: Logger;
  /** NIP-77 per-connection handler factory; undefined when NIP-77 is disabled */
  negentropy?: (send: (json: string) => void) => { handle(msg: unknown[]): void; close(): void };
  /** relay-wide NIP-77 counters (metrics): sessions opened, message bytes in and out */
  nip77Stats?: Nip77Stats;
  /** observability hooks (metrics) */
  observe?: ConnectionObserver;
}

export interface Nip77Stats {
  sessions: number;
  bytesIn: number;
  bytesOut: number;
}

export interface ConnectionObserver {
  message(type: string): void;
  reqDone(seconds: number): void;
  connectionClosed(): void;
  /** the relay closed a connection that did not read fast enough (reason: a short machine label) */
  dropped?(reason: DropReason): void;
}

/** Why the relay dropped a client: its send buffer was full when a live event or a reply came. */
export type DropReason = 'slow-consumer-live' | 'send-buffer-full';

/** A stored-event stream fetches its next slice only while at most this is queued on the socket. */
const HIGH_WATER = 1 << 20;
/** Largest stored-event slice in characters of JSON (a slice ends with the event that crosses it). */
const SLICE_BYTES = 256 * 1024;

class Subscription implements LiveSubscription {
  readonly subIdJson: string;
  /** `["EVENT",<subId>,` as bytes, for live frames */
  private readonly framePrefix: Buffer;
  /** live events that arrived while stored events were still streaming */
  private backlog: string[] | null = [];
  cancelled = false;
  constructor(
    readonly conn: Connection,
    readonly subId: string,
    readonly filters: Filter[],
  ) {
    this.subIdJson = JSON.stringify(subId);
    this.framePrefix = eventFramePrefix(this.subIdJson);
  }
  deliver(_event: NostrEvent, raw: string, bytes: EventBytes): void {
    if (this.backlog !== null) {
      if (this.backlog.length < 1000) this.backlog.push(eventMessage(this.subIdJson, raw));
      return;
    }
    this.conn.sendLiveFrame(this.framePrefix, bytes.value);
  }
  /** end of stored events: flush what arrived meanwhile and go live */
  goLive(): void {
    const b = this.backlog ?? [];
    this.backlog = null;
    for (const m of b) this.conn.sendLive(m);
  }
}

export class Connection implements SocketHandler {
  private readonly subs = new Map<string, Subscription>();
  private readonly neg: { handle(msg: unknown[]): void; close(): void } | undefined;
  private drainWaiters: Array<() => void> = [];
  /** stored-event streams waiting for their turn (see streamStored) */
  private turnWaiters: Array<() => void> = [];
  private turnTaken = false;
  /** characters of stored events fetched from the store and not yet handed to the socket */
  private inHand = 0;
  private dropped = false;
  private gone = false;
  private readonly log: Logger;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    private readonly onGone: () => void = () => {},
  ) {
    this.log = ctx.log;
    const stats = ctx.nip77Stats;
    this.neg = ctx.negentropy?.((json) => {
      if (stats) stats.bytesOut += json.length;
      this.send(json);
    });
    this.log.debug({ ip: socket.ip }, 'connection open');
  }

  // ---- transport callbacks ------------------------------------------------------------------

  message(text: string, bytes: number): void {
    if (this.gone) return;
    try {
      this.dispatch(text, bytes);
    } catch (e) {
      // a bug must cost this message, not the process and every other client's connection
      this.log.error({ err: e, ip: this.socket.ip }, 'message handler failed');
      this.send(noticeMessage('error: internal error while handling your message'));
    }
  }

  private dispatch(text: string, bytes: number): void {
    const limits = this.ctx.config.limits;
    if (bytes > limits.maxMessageBytes) {
      this.ctx.observe?.message('oversized');
      this.send(noticeMessage(`invalid: message is larger than ${limits.maxMessageBytes} bytes`));
      return;
    }
    let msg;
    try {
      msg = parseClientMessage(text);
    } catch (e) {
      this.ctx.observe?.message('invalid');
      this.send(noticeMessage(e instanceof MessageError ? e.message : 'invalid: cannot parse message'));
      return;
    }
    this.ctx.observe?.message(msg.type === 'NEG' ? String(msg.msg[0]) : msg.type);
    switch (msg.type) {
      case 'EVENT':
        return this.onEvent(msg.event, msg.raw);
      case 'REQ':
        return this.onReq(msg.subId, msg.filters);
      case 'COUNT':
        return this.onCount(msg.subId, msg.filters);
      case 'CLOSE':
        return this.onClose(msg.subId);
      case 'NEG':
        if (this.neg === undefined) {
          this.send(noticeMessage(`invalid: unknown message type ${JSON.stringify(msg.msg[0])}`));
          return;
        }
        if (this.ctx.nip77Stats) {
          this.ctx.nip77Stats.bytesIn += bytes;
          if (msg.msg[0] === 'NEG-OPEN') this.ctx.nip77Stats.sessions++;
        }
        return this.neg.handle(msg.msg);
      case 'AUTH': {
        const id = idOf(msg.event);
        if (id !== undefined) this.send(okMessage(id, false, 'restricted: this relay does not use AUTH'));
        else this.send(noticeMessage('invalid: this relay does not use AUTH'));
        return;
      }
    }
  }

  drain(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  // ---- messages -----------------------------------------------------------------------------

  private onEvent(event: unknown, raw: string): void {
    const id = idOf(event);
    if (id === undefined) {
      this.send(noticeMessage('invalid: event must have a string id'));
      return;
    }
    if (!this.ctx.ipLimiter.takeEvent(this.socket.ip)) {
      this.send(okMessage(id, false, 'rate-limited: slow down, too many events from your address'));
      return;
    }
    this.ctx.ingest.submit(event as NostrEvent, raw, 'client').then(
      (r) => this.send(okMessage(id, r.ok, r.message)),
      () => this.send(okMessage(id, false, 'error: internal error')),
    );
  }

  private checkSubId(subId: unknown): string | undefined {
    if (typeof subId !== 'string' || subId.length === 0 || subId.length > this.ctx.config.limits.maxSubidLength) {
      this.send(noticeMessage(`invalid: subscription id must be a string of 1 to ${this.ctx.config.limits.maxSubidLength} characters`));
      return undefined;
    }
    return subId;
  }

  private onReq(rawSubId: unknown, rawFilters: unknown[]): void {
    const subId = this.checkSubId(rawSubId);
    if (subId === undefined) return;
    const limits = this.ctx.config.limits;
    const checked = checkFilters(rawFilters, limits);
    if ('error' in checked) {
      this.send(closedMessage(subId, checked.error));
      return;
    }
    this.removeSub(subId);
    if (this.subs.size >= limits.maxSubscriptions) {
      this.send(closedMessage(subId, `blocked: too many open subscriptions (max ${limits.maxSubscriptions})`));
      return;
    }
    const sub = new Subscription(this, subId, checked.filters);
    this.subs.set(subId, sub);
    this.ctx.live.add(sub);
    void this.streamStored(sub);
  }

  private async streamStored(sub: Subscription): Promise<void> {
    const started = performance.now();
    const wantsStored = sub.filters.some((f) => f.limit !== 0);
    try {
      if (wantsStored && !(await this.sendStored(sub))) return;
      this.socket.send(eoseMessage(sub.subIdJson));
      sub.goLive();
      this.ctx.observe?.reqDone((performance.now() - started) / 1000);
    } catch (e) {
      this.log.error({ err: e }, 'query failed');
      if (!sub.cancelled && !this.gone) {
        this.send(closedMessage(sub.subId, 'error: query failed'));
        this.removeSub(sub.subId);
      }
    }
  }

  /**
   * Stream a subscription's stored events; false when it was cancelled or the socket went away.
   * Subscriptions take turns (FIFO), one slice per turn, and a slice is fetched only when the
   * socket holds at most `room` bytes: socket buffer + slice in hand ≤ maxSendBufferBytes + one
   * event, however many subscriptions the client opens and whether it reads or not.
   */
  private async sendStored(sub: Subscription): Promise<boolean> {
    const limits = this.ctx.config.limits;
    const sliceBytes = Math.max(1, Math.min(SLICE_BYTES, Math.floor(limits.maxSendBufferBytes / 4)));
    const room = Math.min(HIGH_WATER, limits.maxSendBufferBytes - sliceBytes);
    const it = this.ctx.store.query(sub.filters, { maxLimit: limits.maxLimit, sliceBytes })[Symbol.asyncIterator]();
    try {
      for (;;) {
        await this.takeTurn();
        try {
          while (!sub.cancelled && !this.gone && this.socket.bufferedAmount() > room) await this.waitDrain();
          if (sub.cancelled || this.gone) return false;
          const next = await it.next();
          if (next.done === true) return true;
          if (sub.cancelled || this.gone) return false;
          for (const raw of next.value) this.inHand += raw.length;
          for (const raw of next.value) {
            this.inHand -= raw.length;
            this.socket.send(eventMessage(sub.subIdJson, raw));
          }
        } finally {
          this.inHand = 0;
          this.giveTurn();
        }
      }
    } finally {
      await it.return?.();
    }
  }

  private takeTurn(): Promise<void> {
    if (!this.turnTaken) {
      this.turnTaken = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.turnWaiters.push(resolve));
  }

  private giveTurn(): void {
    const next = this.turnWaiters.shift();
    if (next !== undefined) next();
    else this.turnTaken = false;
  }

  /** What the relay holds for this connection: bytes queued on the socket + stored events in hand. */
  heldBytes(): number {
    return this.gone ? 0 : this.socket.bufferedAmount() + this.inHand;
  }

  private onCount(rawSubId: unknown, rawFilters: unknown[]): void {
    const subId = this.checkSubId(rawSubId);
    if (subId === undefined) return;
    const checked = checkFilters(rawFilters, this.ctx.config.limits);
    if ('error' in checked) {
      this.send(closedMessage(subId, checked.error));
      return;
    }
    try {
      this.send(countMessage(subId, this.ctx.store.count(checked.filters)));
    } catch (e) {
      this.log.error({ err: e }, 'count failed');
      this.send(closedMessage(subId, 'error: count failed'));
    }
  }

  private onClose(rawSubId: unknown): void {
    if (typeof rawSubId !== 'string') {
      this.send(noticeMessage('invalid: CLOSE needs a subscription id string'));
      return;
    }
    this.removeSub(rawSubId);
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private removeSub(subId: string): void {
    const s = this.subs.get(subId);
    if (s === undefined) return;
    s.cancelled = true;
    this.subs.delete(subId);
    this.ctx.live.remove(s);
  }

  private waitDrain(): Promise<void> {
    if (this.gone) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** A reply (OK, NOTICE, CLOSED, NIP-77…): a client whose buffer is over the limit is dropped. */
  send(text: string): void {
    if (this.gone) return;
    if (this.socket.bufferedAmount() > this.ctx.config.limits.maxSendBufferBytes) return this.drop('send-buffer-full');
    this.socket.send(text);
  }

  /** A live event: a client whose buffer is over the limit is dropped rather than buffered forever. */
  sendLive(text: string | Uint8Array): void {
    if (this.gone) return;
    if (this.socket.bufferedAmount() > this.ctx.config.limits.maxSendBufferBytes) return this.drop('slow-consumer-live');
    this.socket.send(text);
  }
  /** A live event as its frame's parts (frames.ts), built the way this transport wants them. */
  sendLiveFrame(prefix: Uint8Array, body: Uint8Array): void {
    if (this.gone) return;
    if (this.socket.bufferedAmount() > this.ctx.config.limits.maxSendBufferBytes) return this.drop('slow-consumer-live');
    this.socket.sendEventFrame(prefix, body);
  }


  /** Close a client that does not read: one info line with its address, bytes held and why. */
  private drop(reason: DropReason): void {
    if (this.dropped) return;
    this.dropped = true;
    this.log.info({ ip: this.socket.ip, bytes: this.heldBytes(), reason }, 'dropping slow consumer: send buffer full');
    this.ctx.observe?.dropped?.(reason);
    this.socket.close(1008, 'slow consumer: send buffer full');
  }

  /** transport: the socket is gone */
  closed(): void {
    if (this.gone) return;
    this.gone = true;
    for (const s of this.subs.values()) {
      s.cancelled = true;
      this.ctx.live.remove(s);
    }
    this.subs.clear();
    this.neg?.close();
    this.drain();
    // streams waiting for their turn see `gone` and end
    const turns = this.turnWaiters;
    this.turnWaiters = [];
    for (const f of turns) f();
    this.ctx.ipLimiter.release(this.socket.ip);
    this.ctx.observe?.connectionClosed();
    this.onGone();
    this.log.debug({ ip: this.socket.ip }, 'connection closed');
  }
}

function idOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const id = (event as { id?: unknown }).id;
  return typeof id === 'string' ? id.slice(0, 64) : undefined;
}
