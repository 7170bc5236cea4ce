// NIP-77 on the relay side: one Nip77Sessions per connection keeps that connection's negentropy
// sessions (NEG-OPEN / NEG-MSG / NEG-CLOSE), each a responder over the store's items for its
// filter, with per-connection limits and an idle timeout. Every problem is answered with NEG-ERR.
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { limitsSchema, type LimitsConfig, type NegentropyConfig } from '../config/schema.js';
import type { Filter } from '../nostr/event.js';
import { NegentropyError, NegentropyResponder, NegentropyStorage } from '../negentropy/index.js';
import type { StoreReader } from '../store/types.js';
import { checkFilter } from './validate.js';

const DEFAULT_LIMITS: LimitsConfig = limitsSchema.parse({});

interface Session {
  responder: NegentropyResponder;
  timer: TimerHandle;
}

export class Nip77Sessions {
  private readonly sessions = new Map<string, Session>();
  private closed = false;

  /**
   * `limits` (optional) supplies the subscription id length, filter value count and message size
   * bounds; the schema defaults apply when it is not given.
   */
  constructor(
    private readonly store: StoreReader,
    private readonly cfg: NegentropyConfig,
    private readonly send: (json: string) => void,
    private readonly clock: Clock = systemClock,
    private readonly limits: LimitsConfig = DEFAULT_LIMITS,
  ) {}

  /** Number of open sessions (for tests and metrics). */
  get size(): number {
    return this.sessions.size;
  }

  /** One parsed client message whose [0] is NEG-OPEN, NEG-MSG or NEG-CLOSE. */
  handle(msg: unknown[]): void {
    if (this.closed) return;
    const subId = msg[1];
    if (msg[0] === 'NEG-CLOSE') {
      // never answered, whatever it carries
      if (typeof subId === 'string') this.drop(subId);
      return;
    }
    if (typeof subId !== 'string' || subId.length === 0) {
      this.error(typeof subId === 'string' ? subId : '', 'closed: invalid: subscription id must be a non-empty string');
      return;
    }
    if (subId.length > this.limits.maxSubidLength) {
      this.drop(subId);
      this.error(subId, `closed: invalid: subscription id longer than ${this.limits.maxSubidLength} characters`);
      return;
    }
    switch (msg[0]) {
      case 'NEG-OPEN':
        return this.open(subId, msg);
      case 'NEG-MSG':
        return this.message(subId, msg);
      default:
        this.error(subId, `closed: invalid: unknown message type ${JSON.stringify(String(msg[0]).slice(0, 32))}`);
    }
  }

  /** The connection is gone: free every session. */
  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.timer.cancel();
    this.sessions.clear();
  }

  private open(subId: string, msg: unknown[]): void {
    // a NEG-OPEN on an open subId replaces that session
    this.drop(subId);
    if (msg.length !== 4) {
      this.error(subId, 'closed: invalid: NEG-OPEN must be ["NEG-OPEN", <subscription id>, <filter>, <hex message>]');
      return;
    }
    let f = msg[2];
    if (Array.isArray(f)) {
      if (f.length !== 1) {
        this.error(subId, 'closed: invalid: NEG-OPEN takes exactly one filter');
        return;
      }
      f = f[0];
    }
    const checked = checkFilter(f, this.limits);
    if ('error' in checked) {
      this.error(subId, `closed: ${checked.error}`);
      return;
    }
    const hex = this.checkHex(subId, msg[3]);
    if (hex === undefined) return;
    if (this.sessions.size >= this.cfg.maxSessionsPerConnection) {
      this.error(subId, `blocked: too many concurrent NIP-77 sessions (at most ${this.cfg.maxSessionsPerConnection} per connection)`);
      return;
    }
    const filter: Filter = checked.filter;
    let items;
    try {
      items = this.store.negentropyItems(filter, this.cfg.maxItems);
    } catch {
      this.error(subId, 'closed: error: could not read the matching events');
      return;
    }
    if (items === 'too-many') {
      this.error(subId, `blocked: filter matches more than ${this.cfg.maxItems} events; narrow it (e.g. with since/until)`);
      return;
    }
    let responder: NegentropyResponder;
    let reply: string;
    try {
      // the transport bounds incoming message size; cfg.frameSizeLimit bounds our replies
      responder = new NegentropyResponder(new NegentropyStorage(items), { frameSizeLimit: this.cfg.frameSizeLimit, maxIncomingFrame: 0 });
      reply = responder.reconcile(hex);
    } catch (e) {
      this.error(subId, this.reason(e));
      return;
    }
    this.sessions.set(subId, { responder, timer: this.arm(subId) });
    this.send(JSON.stringify(['NEG-MSG', subId, reply]));
  }

  private message(subId: string, msg: unknown[]): void {
    const s = this.sessions.get(subId);
    if (s === undefined) {
      this.error(subId, 'closed: unknown session: send NEG-OPEN first');
      return;
    }
    if (msg.length !== 3) {
      this.drop(subId);
      this.error(subId, 'closed: invalid: NEG-MSG must be ["NEG-MSG", <subscription id>, <hex message>]');
      return;
    }
    const hex = this.checkHex(subId, msg[2]);
    if (hex === undefined) {
      this.drop(subId);
      return;
    }
    let reply: string;
    try {
      reply = s.responder.reconcile(hex);
    } catch (e) {
      this.drop(subId);
      this.error(subId, this.reason(e));
      return;
    }
    s.timer.cancel();
    s.timer = this.arm(subId);
    this.send(JSON.stringify(['NEG-MSG', subId, reply]));
  }

  private checkHex(subId: string, hex: unknown): string | undefined {
    if (typeof hex !== 'string') {
      this.error(subId, 'closed: invalid: negentropy message must be a hex string');
      return undefined;
    }
    if (hex.length / 2 > this.limits.maxMessageBytes) {
      this.error(subId, `closed: invalid: negentropy message larger than ${this.limits.maxMessageBytes} bytes`);
      return undefined;
    }
    return hex;
  }

  private arm(subId: string): TimerHandle {
    return this.clock.setTimeout(() => {
      if (this.closed || !this.sessions.has(subId)) return;
      this.sessions.delete(subId);
      this.error(subId, `closed: session idle for ${this.cfg.idleTimeoutSeconds} seconds`);
    }, this.cfg.idleTimeoutSeconds * 1000);
  }

  private drop(subId: string): void {
    const s = this.sessions.get(subId);
    if (s === undefined) return;
    s.timer.cancel();
    this.sessions.delete(subId);
  }

  private reason(e: unknown): string {
    if (e instanceof NegentropyError) return `closed: invalid: ${e.message}`;
    return 'closed: error: negentropy failure';
  }

  private error(subId: string, message: string): void {
    this.send(JSON.stringify(['NEG-ERR', subId, message]));
  }
}
