// Persisted per-peer sync state (confirmed items, lastConnected, disconnectedAt, last full sync,
// NIP-77 support) in the store's meta area, so a restart within the stale window is a quick
// reconnect. Writes are coalesced; flush() writes everything dirty now.
import type { Clock, TimerHandle } from '../clock.js';
import type { Store } from '../store/types.js';

export interface PeerState {
  confirmed: string[];
  lastConnected?: number;
  disconnectedAt?: number;
  lastFullSync?: number;
  nip77?: 'yes' | 'no';
  nip77CheckedAt?: number;
}

const PREFIX = 'sync:peer:';

export class StateStore {
  private readonly dirty = new Map<string, () => PeerState>();
  private timer: TimerHandle | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<Store, 'getMeta' | 'putMeta'>,
    private readonly clock: Clock,
    private readonly delayMs = 1000,
  ) {}

  load(url: string): PeerState {
    const v = this.store.getMeta<PeerState>(PREFIX + url);
    if (v === undefined || typeof v !== 'object' || !Array.isArray(v.confirmed)) return { confirmed: [] };
    return v;
  }

  /** Mark a peer's state dirty; `snapshot` is called when the write happens. */
  save(url: string, snapshot: () => PeerState): void {
    this.dirty.set(url, snapshot);
    this.timer ??= this.clock.setTimeout(() => {
      this.timer = undefined;
      // a failed write (storage full) is logged by the store; the state is saved again next time
      this.flush().catch(() => {});
    }, this.delayMs);
  }

  async flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    const items = [...this.dirty];
    this.dirty.clear();
    const run = async (): Promise<void> => {
      for (const [url, snap] of items) await this.store.putMeta(PREFIX + url, snap());
    };
    this.flushing = this.flushing.then(run, run);
    await this.flushing;
  }
}
