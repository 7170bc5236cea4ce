// One client connection: NIP-01 EVENT/REQ/CLOSE, NIP-45 COUNT, NIP-77 hand-off, limits and
// backpressure. Owns the connection's subscriptions (live index entries and running stored-event
// queries). Writes go through the shared ingest path; reads through the store's sliced queries.
import type { Config } from '../config/schema.js';
import { eventFrame, eventFramePrefix, type EventBytes } from '../live/frames.js';
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
}

/** Pause a stored-event stream while more than this is queued on the socket. */
const HIGH_WATER = 1 << 20;

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
    this.conn.sendLive(eventFrame(this.framePrefix, bytes.value));
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
      if (wantsStored) {
        for await (const slice of this.ctx.store.query(sub.filters, { maxLimit: this.ctx.config.limits.maxLimit })) {
          if (sub.cancelled || this.gone) return;
          for (const raw of slice) this.socket.send(eventMessage(sub.subIdJson, raw));
          if (this.socket.bufferedAmount() > HIGH_WATER) await this.waitDrain();
          if (sub.cancelled || this.gone) return;
        }
      }
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

  send(text: string): void {
    if (!this.gone) this.socket.send(text);
  }

  /** A live event: a client whose buffer is over the limit is dropped rather than buffered forever. */
  sendLive(text: string | Uint8Array): void {
    if (this.gone) return;
    if (this.socket.bufferedAmount() > this.ctx.config.limits.maxSendBufferBytes) {
      this.log.info({ ip: this.socket.ip }, 'dropping slow consumer: send buffer full');
      this.socket.close(1008, 'slow consumer: send buffer full');
      return;
    }
    this.socket.send(text);
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
