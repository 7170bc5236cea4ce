// A purpose-built misbehaving peer relay on a real `ws` WebSocketServer (127.0.0.1, ephemeral
// port): serves a fixed event list, and can refuse NIP-77 (NOTICE / NEG-ERR / silence), answer
// REQs with CLOSED, never send EOSE, drop the connection, send garbage, or serve everything in a
// chosen order whatever the filter.
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import type { Filter, NostrEvent } from '../../src/nostr/event.js';
import { matchFilters } from '../../src/nostr/filter.js';

export interface FakeBehaviour {
  /** how NEG-OPEN is answered */
  neg: 'notice' | 'silent' | 'neg-err' | 'garbage';
  /** how a historic REQ is answered */
  req: 'ok' | 'closed' | 'no-eose' | 'drop' | 'garbage-then-ok' | 'rate-limited';
  /** serve every event in list order whatever the filter */
  ignoreFilters: boolean;
  /** at most this many events per REQ (newest first) */
  maxPerReq: number;
  /** NIP-42: send a challenge on connect and refuse REQs (CLOSED auth-required:) until AUTH */
  auth?: boolean;
}

export class FakePeer {
  readonly events: NostrEvent[] = [];
  readonly log: unknown[][] = [];
  behaviour: FakeBehaviour = { neg: 'notice', req: 'ok', ignoreFilters: false, maxPerReq: 1000 };
  connections = 0;
  private readonly sockets = new Set<WebSocket>();
  private readonly live = new Map<WebSocket, Map<string, Filter[]>>();
  private readonly authed = new Set<WebSocket>();
  /** pubkeys that authenticated */
  readonly authPubkeys: string[] = [];

  private constructor(
    private readonly wss: WebSocketServer,
    readonly port: number,
  ) {
    wss.on('connection', (ws) => {
      this.connections++;
      this.sockets.add(ws);
      this.live.set(ws, new Map());
      ws.on('close', () => {
        this.sockets.delete(ws);
        this.live.delete(ws);
      });
      ws.on('message', (data) => this.onMessage(ws, data.toString()));
      if (this.behaviour.auth === true) ws.send(JSON.stringify(['AUTH', 'challenge-' + this.connections]));
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  static async start(port = 0): Promise<FakePeer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new FakePeer(wss, (wss.address() as AddressInfo).port);
  }

  /** Messages of one type received from clients. */
  seen(type: string): unknown[][] {
    return this.log.filter((m) => m[0] === type);
  }

  /** Add an event and send it to matching live subscriptions. */
  publish(ev: NostrEvent): void {
    this.events.push(ev);
    for (const [ws, subs] of this.live) for (const [id, f] of subs) if (matchFilters(f, ev)) ws.send(JSON.stringify(['EVENT', id, ev]));
  }

  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  private onMessage(ws: WebSocket, text: string): void {
    let m: unknown[];
    try {
      m = JSON.parse(text) as unknown[];
    } catch {
      return;
    }
    this.log.push(m);
    const b = this.behaviour;
    if (m[0] === 'NEG-OPEN') {
      if (b.neg === 'notice') ws.send(JSON.stringify(['NOTICE', 'ERROR: unknown message type NEG-OPEN']));
      else if (b.neg === 'neg-err') ws.send(JSON.stringify(['NEG-ERR', m[1], 'error: negentropy disabled']));
      else if (b.neg === 'garbage') ws.send(JSON.stringify(['NEG-MSG', m[1], '61zz0102']));
      return;
    }
    if (m[0] === 'AUTH') {
      const ev = m[1] as NostrEvent;
      const ok = ev.kind === 22242 && ev.tags.some((t) => t[0] === 'challenge' && t[1]?.startsWith('challenge-') === true);
      if (ok) {
        this.authed.add(ws);
        this.authPubkeys.push(ev.pubkey);
      }
      ws.send(JSON.stringify(['OK', ev.id, ok, ok ? '' : 'auth-required: bad auth event']));
      return;
    }
    if (m[0] === 'CLOSE') {
      this.live.get(ws)?.delete(String(m[1]));
      return;
    }
    if (m[0] !== 'REQ') return;
    const id = String(m[1]);
    const filters = m.slice(2) as Filter[];
    if (b.auth === true && !this.authed.has(ws)) {
      ws.send(JSON.stringify(['CLOSED', id, 'auth-required: authenticate first']));
      return;
    }
    const isLive = filters.every((f) => f.limit === 0);
    if (isLive) {
      this.live.get(ws)?.set(id, filters);
      ws.send(JSON.stringify(['EOSE', id]));
      return;
    }
    switch (b.req) {
      case 'closed':
        ws.send(JSON.stringify(['CLOSED', id, 'error: this relay is having a bad day']));
        return;
      case 'rate-limited':
        ws.send(JSON.stringify(['CLOSED', id, 'rate-limited: slow down']));
        return;
      case 'drop':
        ws.terminate();
        return;
      case 'garbage-then-ok':
        ws.send('this is not json');
        ws.send(JSON.stringify(['EVENT', id, { garbage: true }]));
        ws.send(JSON.stringify({ not: 'an array' }));
        break;
      default:
        break;
    }
    let out = b.ignoreFilters ? [...this.events] : this.events.filter((e) => matchFilters(filters, e)).sort((x, y) => y.created_at - x.created_at);
    const limits = filters.map((f) => f.limit).filter((x): x is number => typeof x === 'number');
    const cap = Math.min(b.maxPerReq, ...(limits.length === filters.length && limits.length > 0 ? [Math.max(...limits)] : []));
    out = out.slice(0, cap);
    for (const e of out) ws.send(JSON.stringify(['EVENT', id, e]));
    if (b.req !== 'no-eose') ws.send(JSON.stringify(['EOSE', id]));
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
