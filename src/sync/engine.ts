// The sync engine: wires targets (derived from the store and accepted events), one Peer per
// relay something wants (plus bootstrap relays), the retry set and persisted state. Owns no
// sockets itself; decisions on historic work are made by computeActions inside each Peer.
import { hexToBytes } from '@noble/hashes/utils.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { NostrEvent } from '../nostr/event.js';
import type { Ingest } from '../relay/ingest.js';
import type { Store } from '../store/types.js';
import { heldForSync } from '../store/purgatory.js';
import { computeConnections } from './actions.js';
import { Peer, type PeerStatus, type SubmitOutcome } from './peer.js';
import { RetrySet, type RetryOptions } from './retry.js';
import { StateStore } from './state.js';
import { Targets } from './targets.js';
import { normalizeRelayUrl } from './urls.js';

const NEG_FRAME_LIMIT = 60_000;

export interface SyncEngineDeps {
  store: Store;
  ingest: Ingest;
  config: Config;
  clock: Clock;
  log: Logger;
  /** override the relay key used for NIP-42 AUTH (else read from service.secretKeyEnv) */
  secretKey?: Uint8Array;
  /** jitter source for the daily timer (tests) */
  random?: () => number;
  /** retry-set bounds and lifetimes (tests; defaults suit production) */
  retry?: Partial<RetryOptions>;
}

export interface SyncTotals {
  peers: number;
  connected: number;
  received: number;
  accepted: number;
  rejected: number;
  duplicate: number;
  pendingBatches: number;
  retryWaiting: number;
  retryRefused: number;
}

/** Totals with every count at zero (also what status reports when sync is off). */
export function emptySyncTotals(): SyncTotals {
  return { peers: 0, connected: 0, received: 0, accepted: 0, rejected: 0, duplicate: 0, pendingBatches: 0, retryWaiting: 0, retryRefused: 0 };
}

export interface SyncStatus {
  enabled: boolean;
  peers: PeerStatus[];
  totals: SyncTotals;
}

function readSecretKey(config: Config, log: Logger): Uint8Array | undefined {
  const name = config.service.secretKeyEnv;
  const v = name ? process.env[name] : undefined;
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(v)) {
    log.warn({ env: name }, 'relay secret key is not 64 hex characters; NIP-42 AUTH to peers disabled');
    return undefined;
  }
  return hexToBytes(v.toLowerCase());
}

export class SyncEngine {
  private readonly d: SyncEngineDeps;
  private readonly targets: Targets;
  private readonly retry: RetrySet;
  private readonly states: StateStore;
  private readonly peers = new Map<string, Peer>();
  private readonly secretKey: Uint8Array | undefined;
  private unsubscribe: (() => void) | undefined;
  private started = false;

  constructor(deps: SyncEngineDeps) {
    this.d = deps;
    this.targets = new Targets(deps.config.service.hosts, deps.config.sync.bootstrapRelays);
    this.states = new StateStore(deps.store, deps.clock);
    this.retry = new RetrySet(deps.retry);
    this.secretKey = deps.secretKey ?? readSecretKey(deps.config, deps.log);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.targets.loadFromStore(this.d.store);
    // an announcement waiting in purgatory names relays too: its state must be able to arrive (git.md §2.4)
    for (const e of this.d.store.purgatory.all()) if (e.event.kind === 30617 && !e.dormant) this.targets.onEvent(e.event);
    const offAccepted = this.d.ingest.onAccepted((ev) => this.onAccepted(ev));
    const offHeld = this.d.ingest.onHeld((ev) => ev.kind === 30617 && this.onAccepted(ev));
    this.unsubscribe = () => {
      offAccepted();
      offHeld();
    };
    this.reconcilePeers();
    this.d.log.info({ peers: this.peers.size }, 'sync started');
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await Promise.all([...this.peers.values()].map((p) => p.stop()));
    await this.states.flush();
    this.started = false;
  }

  /** Force a full resync of one relay (normalised URL) or of all. */
  resync(url?: string): void {
    if (url === undefined) {
      for (const p of this.peers.values()) p.resync();
      return;
    }
    const n = normalizeRelayUrl(url);
    const p = n === undefined ? undefined : this.peers.get(n);
    if (p === undefined) throw new Error(`not a sync peer: ${url}`);
    p.resync();
  }

  /** The Peer for a relay (tests and status). */
  peer(url: string): Peer | undefined {
    const n = normalizeRelayUrl(url);
    return n === undefined ? undefined : this.peers.get(n);
  }

  status(): SyncStatus {
    const peers = [...this.peers.values()].map((p) => p.status());
    const totals: SyncTotals = {
      ...emptySyncTotals(),
      peers: peers.length,
      retryWaiting: this.retry.waitingSize,
      retryRefused: this.retry.refusedSize,
    };
    for (const p of peers) {
      if (p.state === 'connected') totals.connected++;
      totals.received += p.received;
      totals.accepted += p.accepted;
      totals.rejected += p.rejected;
      totals.duplicate += p.duplicate;
      totals.pendingBatches += p.pendingBatches;
    }
    return { enabled: true, peers, totals };
  }

  private onAccepted(event: NostrEvent): void {
    const changed = this.targets.onEvent(event);
    if (changed.length > 0) {
      this.reconcilePeers();
      for (const r of changed) this.peers.get(r)?.wantedChanged();
    }
    const deps = this.retry.dependents(event, this.d.clock.now());
    for (const dep of deps) {
      if (dep.event !== undefined && dep.raw !== undefined) void this.resubmit(dep.event, dep.raw, dep.relay);
      else if (dep.relay !== undefined) this.peers.get(dep.relay)?.refetch([dep.id]);
    }
  }

  private async resubmit(event: NostrEvent, raw: string, relay: string | undefined): Promise<void> {
    try {
      await this.submit(event, raw, relay);
    } catch (err) {
      this.d.log.error({ err }, 'sync retry submit failed');
    }
  }

  /** Open peers something wants, close those nothing wants (bootstrap relays stay). */
  private reconcilePeers(): void {
    if (!this.started) return;
    const { open, close } = computeConnections(this.targets.relays(), this.targets.bootstrapRelays, this.peers.keys());
    for (const url of close) {
      const p = this.peers.get(url)!;
      this.peers.delete(url);
      this.d.log.info({ relay: url }, 'sync peer no longer wanted; disconnecting');
      void p.stop();
    }
    for (const url of open) {
      const p = new Peer({
        url,
        sync: this.d.config.sync,
        clock: this.d.clock,
        log: this.d.log,
        store: this.d.store,
        states: this.states,
        bootstrap: this.targets.bootstrapRelays.includes(url),
        wanted: () => this.targets.wantedFor(url),
        wantedVersion: () => this.targets.versionOf(url),
        repoCount: () => this.targets.repoCount(url),
        submit: (ev, raw, peer) => this.submit(ev, raw, peer.url),
        // purgatory events and recently expired ones count as held (git.md §2.4)
        known: (id) =>
          this.retry.known(id, this.d.clock.now()) ||
          heldForSync(this.d.store.purgatory, id, this.d.clock.now(), this.d.config.git.expiredRetryHours * 3600_000),
        negMaxItems: this.d.config.negentropy.maxItems,
        // our NIP-77 messages stay under common peer frame limits (strfry: 128 KiB of hex)
        frameSizeLimit: NEG_FRAME_LIMIT,
        ...(this.secretKey !== undefined ? { secretKey: this.secretKey } : {}),
        ...(this.d.random !== undefined ? { random: this.d.random } : {}),
      });
      this.peers.set(url, p);
      p.start();
    }
  }

  /** The write path for an event from sync, with retry-set bookkeeping of refusals. */
  private async submit(event: NostrEvent, raw: string, relay: string | undefined): Promise<SubmitOutcome> {
    const r = await this.d.ingest.submit(event, raw, 'sync');
    if (r.ok) return r.duplicate ? 'duplicate' : 'accepted';
    const now = this.d.clock.now();
    const dec = r.decision;
    if (dec !== undefined && dec.action === 'reject' && dec.waitingFor !== undefined && dec.waitingFor.length > 0) {
      this.retry.addWaiting(event, raw, dec.waitingFor, relay, now);
    } else if (!r.message.startsWith('error:') && typeof event.id === 'string') {
      this.retry.addRefused(event.id, now);
    }
    return 'rejected';
  }
}
