// Prometheus metrics for one relay: its own prom-client Registry (several relays in one process
// never clash), counters fed by the connection observer, and values read at scrape time from the
// ingest counts, the store, the sync engine, the git half (git-metrics.ts) and optional timing
// hooks. Never touches the hot path beyond a counter increment.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConnectionObserver } from '../relay/connection.js';
import type { SyncStatus } from '../sync/index.js';
import { memorySplit } from './memory.js';
import { registerGitMetrics, type GitMetricsSource } from './git-metrics.js';

export type { GitMetricsSource } from './git-metrics.js';

/** What the metrics read; a RelayHandle provides all of it (see index.ts). */
export interface MetricsSources {
  /** open WebSocket connections */
  connections(): number;
  /** bytes held for connections (send buffers + stored events in hand): sum and largest */
  sendBuffered?(): { total: number; max: number };
  ingest: { readonly counts: Readonly<Record<string, number>>; readonly refusals?: Readonly<Record<string, number>> };
  store: { stats(): { events: number; bytes: number }; storageFull?(): boolean };
  sync?: {
    status(): SyncStatus;
    /** the Peer for a relay: its cumulative stats (failed batches) are read when present */
    peer(url: string): { readonly stats?: { readonly failedBatches: number } } | undefined;
  };
  /** store write-batch timing, when the store exposes it (see WriteBatchSource) */
  writeBatches?: WriteBatchSource;
  /** NIP-77 relay-side counters, when the NIP-77 handler exposes them (see Nip77Source) */
  nip77?: Nip77Source;
  /** the git half (git.enabled): its series exist only then */
  git?: GitMetricsSource;
  info: { version: string; transport: string; verifyBackend: string; policyMode: string };
  /** unix seconds */
  startedAt: number;
}

/** Optional store hook: called after each committed write transaction. */
export interface WriteBatchSource {
  onWriteBatch(listener: (events: number, seconds: number) => void): () => void;
}

/** Optional NIP-77 hook: cumulative relay-side session and byte counts. */
export interface Nip77Source {
  nip77Stats(): { sessions: number; bytesIn: number; bytesOut: number };
}

/** Message types counted under their own label; anything else is "other" (bounded cardinality). */
const MESSAGE_TYPES = new Set(['EVENT', 'REQ', 'COUNT', 'CLOSE', 'AUTH', 'NEG-OPEN', 'NEG-MSG', 'NEG-CLOSE', 'invalid', 'oversized']);
const PEER_STATES = ['idle', 'connecting', 'connected', 'backoff', 'dead', 'stopped'] as const;

export interface RelayMetrics {
  /** this relay's own metrics (process metrics are shared, see processMetrics) */
  readonly registry: Registry;
  /** give this to ConnectionContext.observe */
  readonly observer: ConnectionObserver;
  /** the exposition text (collects the scrape-time values first) */
  render(): Promise<string>;
  readonly contentType: string;
  /** stop listening to hooks */
  close(): void;
}

/**
 * prom-client's process metrics (memory, CPU, event-loop lag, GC) belong to the process, not to a
 * relay: collected once into a shared registry and appended to every relay's exposition, so
 * several relays in one process (tests, benches) do not each start their own monitors.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createMetrics(src: MetricsSources): RelayMetrics {
  const registry = new Registry();
  const registers = [registry];
  const proc = processMetrics();

  new Gauge({
    name: 'grasp_relay_info',
    help: 'Relay build and runtime information (always 1).',
    labelNames: ['version', 'transport', 'verify_backend', 'policy_mode'],
    registers,
    collect() {
      const i = src.info;
      this.set({ version: i.version, transport: i.transport, verify_backend: i.verifyBackend, policy_mode: i.policyMode }, 1);
    },
  });
  new Gauge({
    name: 'grasp_relay_start_time_seconds',
    help: 'Start time of the relay since the unix epoch in seconds.',
    registers,
    collect() {
      this.set(src.startedAt);
    },
  });

  new Gauge({
    name: 'grasp_relay_memory_bytes',
    help: 'Resident memory by kind (Linux): anonymous = heaps, worker threads, buffers (what the relay holds); file = file-backed pages, mostly LMDB\'s memory map (reclaimable).',
    labelNames: ['kind'],
    registers,
    collect() {
      const m = memorySplit();
      if (m.anon !== undefined) this.set({ kind: 'anonymous' }, m.anon);
      if (m.file !== undefined) this.set({ kind: 'file' }, m.file);
    },
  });

  // ---- connections and messages ---------------------------------------------------------------
  new Gauge({
    name: 'grasp_relay_connections',
    help: 'Open WebSocket connections.',
    registers,
    collect() {
      this.set(src.connections());
    },
  });
  let closed = 0;
  new Counter({
    name: 'grasp_relay_connections_closed_total',
    help: 'WebSocket connections closed since start.',
    registers,
    collect() {
      this.reset();
      this.inc(closed);
    },
  });
  const drops = new Counter({
    name: 'grasp_relay_connections_dropped_total',
    help: 'Connections the relay closed because the client did not read (send buffer over limits.maxSendBufferBytes), by reason: slow-consumer-live (a live event), send-buffer-full (a reply).',
    labelNames: ['reason'],
    registers,
  });
  if (src.sendBuffered !== undefined) {
    const held = src.sendBuffered.bind(src);
    new Gauge({
      name: 'grasp_relay_send_buffered_bytes',
      help: 'Bytes the relay holds for its connections (socket send buffers + stored events being sent): total, and the largest single connection (max).',
      labelNames: ['scope'],
      registers,
      collect() {
        const h = held();
        this.set({ scope: 'total' }, h.total);
        this.set({ scope: 'max' }, h.max);
      },
    });
  }
  const messages = new Counter({
    name: 'grasp_relay_messages_total',
    help: 'Client messages received, by type (invalid: unparsable, oversized: over limits.maxMessageBytes).',
    labelNames: ['type'],
    registers,
  });
  const reqDuration = new Histogram({
    name: 'grasp_relay_req_duration_seconds',
    help: 'Time from a REQ to its EOSE (stored events streamed), in seconds.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  // ---- events and store -----------------------------------------------------------------------
  new Counter({
    name: 'grasp_relay_events_total',
    help: 'Events through the write path (clients, sync, import), by outcome: stored, ephemeral, duplicate, invalid, bad-signature, policy, store-refused, error.',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      for (const [outcome, n] of Object.entries(src.ingest.counts)) this.inc({ outcome }, n);
    },
  });
  new Counter({
    name: 'grasp_relay_events_refused_total',
    help: 'Events refused, by reason: the write policy’s code (e.g. unrelated, service-not-listed, not-maintainer), the store’s (replaced, deleted, expired), or the outcome (invalid, bad-signature).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(src.ingest.refusals ?? {})) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'grasp_relay_store_events',
    help: 'Events in the store.',
    registers,
    collect() {
      this.set(src.store.stats().events);
    },
  });
  new Gauge({
    name: 'grasp_relay_store_bytes',
    help: 'Size of the store on disk in bytes.',
    registers,
    collect() {
      this.set(src.store.stats().bytes);
    },
  });
  new Gauge({
    name: 'grasp_relay_store_full',
    help: 'Whether writes currently fail because storage is full (no space on the data directory’s filesystem, or the LMDB map is full): 1 yes, 0 no. Reads keep working; writes resume by themselves.',
    registers,
    collect() {
      this.set(src.store.storageFull?.() === true ? 1 : 0);
    },
  });
  let unhookBatches: (() => void) | undefined;
  if (src.writeBatches !== undefined) {
    const batchSeconds = new Histogram({
      name: 'grasp_relay_write_batch_seconds',
      help: 'Duration of one store write transaction (a batch of inserts), in seconds.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    const batchEvents = new Histogram({
      name: 'grasp_relay_write_batch_events',
      help: 'Events per store write transaction.',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    });
    unhookBatches = src.writeBatches.onWriteBatch((events, seconds) => {
      batchSeconds.observe(seconds);
      batchEvents.observe(events);
    });
  }
  if (src.nip77 !== undefined) {
    const nip77 = src.nip77;
    new Counter({
      name: 'grasp_relay_nip77_sessions_total',
      help: 'NIP-77 sessions opened by clients (NEG-OPEN accepted).',
      registers,
      collect() {
        this.reset();
        this.inc(nip77.nip77Stats().sessions);
      },
    });
    new Counter({
      name: 'grasp_relay_nip77_bytes_total',
      help: 'NIP-77 messages (NEG-OPEN/NEG-MSG/NEG-CLOSE/NEG-ERR) in bytes on the wire, by direction (in: from clients, out: to clients).',
      labelNames: ['direction'],
      registers,
      collect() {
        const s = nip77.nip77Stats();
        this.reset();
        this.inc({ direction: 'in' }, s.bytesIn);
        this.inc({ direction: 'out' }, s.bytesOut);
      },
    });
  }

  // ---- sync peers -----------------------------------------------------------------------------
  if (src.sync !== undefined) registerPeerMetrics(src.sync, registers);

  // ---- the git half ---------------------------------------------------------------------------
  let unhookGit = src.git !== undefined ? registerGitMetrics(src.git, registers) : undefined;

  const observer: ConnectionObserver = {
    message(type) {
      messages.inc({ type: MESSAGE_TYPES.has(type) ? type : 'other' });
    },
    reqDone(seconds) {
      reqDuration.observe(seconds);
    },
    connectionClosed() {
      closed++;
    },
    dropped(reason) {
      drops.inc({ reason });
    },
  };

  return {
    registry,
    observer,
    contentType: registry.contentType,
    async render() {
      const own = await registry.metrics();
      return (own.endsWith('\n') ? own : own + '\n') + (await proc.metrics());
    },
    close() {
      unhookBatches?.();
      unhookBatches = undefined;
      unhookGit?.();
      unhookGit = undefined;
    },
  };
}

function registerPeerMetrics(sync: NonNullable<MetricsSources['sync']>, registers: Registry[]): void {
  // One status() per scrape, shared by every peer metric of that scrape.
  let cached: { at: number; status: SyncStatus } | undefined;
  const status = (): SyncStatus => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > 250) cached = { at: now, status: sync.status() };
    return cached.status;
  };
  const perPeer = (
    type: 'counter' | 'gauge',
    name: string,
    help: string,
    value: (p: SyncStatus['peers'][number]) => number | null,
  ): void => {
    const cfg = { name, help, labelNames: ['relay'] as const, registers };
    if (type === 'counter') {
      new Counter({
        ...cfg,
        collect() {
          this.reset();
          for (const p of status().peers) {
            const v = value(p);
            if (v !== null) this.inc({ relay: p.url }, v);
          }
        },
      });
    } else {
      new Gauge({
        ...cfg,
        collect() {
          this.reset();
          for (const p of status().peers) {
            const v = value(p);
            if (v !== null) this.set({ relay: p.url }, v);
          }
        },
      });
    }
  };
  new Gauge({
    name: 'grasp_relay_sync_peers',
    help: 'Relays the sync engine keeps a connection to (wanted by a repository or bootstrap).',
    registers,
    collect() {
      this.set(status().peers.length);
    },
  });
  perPeer('gauge', 'grasp_relay_peer_up', 'Whether the sync connection to a peer relay is open (1) or not (0).', (p) =>
    p.state === 'connected' ? 1 : 0,
  );
  new Gauge({
    name: 'grasp_relay_peer_state',
    help: 'Sync state of a peer relay: 1 for its current state, 0 for the others.',
    labelNames: ['relay', 'state'],
    registers,
    collect() {
      this.reset();
      for (const p of status().peers) for (const s of PEER_STATES) this.set({ relay: p.url, state: s }, p.state === s ? 1 : 0);
    },
  });
  perPeer('counter', 'grasp_relay_peer_events_received_total', 'Events received from a peer relay by sync (whatever the policy then decided).', (p) => p.received);
  perPeer('counter', 'grasp_relay_peer_events_accepted_total', 'Events from a peer relay that were stored.', (p) => p.accepted);
  perPeer('counter', 'grasp_relay_peer_events_rejected_total', 'Events from a peer relay that the write policy refused.', (p) => p.rejected);
  perPeer('counter', 'grasp_relay_peer_events_duplicate_total', 'Events from a peer relay that were already stored.', (p) => p.duplicate);
  perPeer(
    'counter',
    'grasp_relay_peer_errors_total',
    'Failed historic sync batches with a peer relay (CLOSED, NOTICE, timeout or disconnect during the batch).',
    (p) => sync.peer(p.url)?.stats?.failedBatches ?? null,
  );
  perPeer('gauge', 'grasp_relay_peer_last_sync_timestamp_seconds', 'When the last full historic sync with a peer relay completed (unix seconds).', (p) =>
    p.lastFullSyncAt === null ? null : p.lastFullSyncAt / 1000,
  );
  perPeer('gauge', 'grasp_relay_peer_last_connected_timestamp_seconds', 'When the sync connection to a peer relay last opened (unix seconds).', (p) =>
    p.lastConnectedAt === null ? null : p.lastConnectedAt / 1000,
  );
  perPeer('gauge', 'grasp_relay_peer_pending_batches', 'Historic sync batches in flight with a peer relay.', (p) => p.pendingBatches);
  perPeer('gauge', 'grasp_relay_peer_nip77_supported', 'Whether a peer relay answers NIP-77: 1 yes, 0 no, -1 not known yet.', (p) =>
    p.nip77 === 'yes' ? 1 : p.nip77 === 'no' ? 0 : -1,
  );
}
