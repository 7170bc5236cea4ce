// The live subscriptions (limit:0) of one connected peer: the LivePlan (live.ts) sized to this
// connection's share of the subscription budget, brought up to the wanted set incrementally, and
// re-planned when the peer closes one. Must not read history or handle the events that arrive
// (peer-intake.ts does); it only sends REQ and CLOSE.
import type { Logger } from '../log.js';
import { LivePlan } from './live.js';

export interface PeerLiveDeps {
  url: string;
  log: Logger;
  send: (msg: unknown[]) => void;
  wanted: () => ReadonlySet<string>;
  wantedVersion: () => number;
  /** connected and not stopped */
  active: () => boolean;
}

export class PeerLive {
  private readonly d: PeerLiveDeps;
  private plan = new LivePlan({ budget: 60, chunk: 100, maxValues: 1000 });
  /** wanted version the plan was last brought up to (-1: replan) */
  private plannedVersion = -1;
  private replanQueued = false;

  constructor(deps: PeerLiveDeps) {
    this.d = deps;
  }

  /** Live subscriptions open now. */
  get count(): number {
    return this.plan.open.size;
  }

  /** A new connection: `budget` REQs for live subscriptions, `chunk` values per filter to start. */
  connected(budget: number, chunk: number): void {
    this.plan = new LivePlan({ budget, chunk, maxValues: 1000 });
    this.plannedVersion = -1;
  }

  /** The connection closed: nothing is open any more. */
  reset(): void {
    this.plan.reset();
  }

  /** Whether `sub` is one of ours (its events are live events). */
  owns(sub: string): boolean {
    return this.plan.open.has(sub);
  }

  /** The peer sent CLOSED for a subscription (ignored when it is not ours). */
  closedByPeer(sub: string, message: string): void {
    if (!this.plan.open.has(sub)) return;
    this.plan.dropped(sub);
    this.plannedVersion = -1;
    this.d.log.warn({ relay: this.d.url, sub, message }, 'sync peer closed a live subscription');
  }

  /** The wanted set changed: re-plan once the current turn of the event loop is over. */
  replanSoon(): void {
    if (this.replanQueued) return;
    this.replanQueued = true;
    setImmediate(() => {
      this.replanQueued = false;
      this.replan();
    });
  }

  /** Bring live subscriptions up to the wanted set (incremental: usually one REQ or none). */
  replan(): void {
    if (!this.d.active()) return;
    const v = this.d.wantedVersion();
    if (v === this.plannedVersion) return;
    this.plannedVersion = v;
    const { send, close } = this.plan.update(this.d.wanted());
    for (const [id, filters] of send) this.d.send(['REQ', id, ...filters]);
    for (const id of close) this.d.send(['CLOSE', id]);
  }
}
