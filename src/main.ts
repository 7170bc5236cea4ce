// Assembles a running relay from a Config: store, verifier, policy, ingest, live index,
// transport, NIP-77, sync, timers. startRelay() is the one entry point for the CLI, tests and
// benches; RelayHandle.close() shuts everything down in order without losing acknowledged writes.
import { systemClock, type Clock, type TimerHandle, unixNow } from './clock.js';
import { startHeapTrim } from './ops/heap-trim.js';
import type { Config } from './config/schema.js';
import { createVerifier, type Verifier } from './crypto/verify.js';
import { SubscriptionIndex } from './live/subscription-index.js';
import { createLogger, type Logger } from './log.js';
import { installOps } from './ops/index.js';
import { createPolicy } from './policy/index.js';
import { Connection, type ConnectionContext } from './relay/connection.js';
import { HttpRoutes } from './relay/http.js';
import type { EventGate } from './relay/gate.js';
import { GitUnavailableError, openGit, type GitService, type GitSyncOptions } from './git/index.js';
import { createIngest, type Ingest } from './relay/ingest.js';
import { IpLimiter } from './relay/ip-limits.js';
import { buildNip11 } from './relay/nip11.js';
import { Nip77Sessions } from './relay/nip77.js';
import type { HttpResponse, Transport, TransportCallbacks, TransportOptions } from './relay/transport.js';
import { createUwsTransport } from './relay/transport-uws.js';
import { createWsTransport } from './relay/transport-ws.js';
import { chooseTransport, type UwsLoad } from './relay/uws-loader.js';
import { openStore } from './store/lmdb-store.js';
import type { Store } from './store/types.js';
import { SyncEngine } from './sync/index.js';

export interface RelayHandle {
  url: string;
  port: number;
  /** the configuration in force; service.hosts resolved to the listen address when it was [] */
  config: Config;
  store: Store;
  ingest: Ingest;
  live: SubscriptionIndex;
  routes: HttpRoutes;
  verifier: Verifier;
  /** the WebSocket transport running (server.transport = "auto" resolves to one of these) */
  transport: 'uws' | 'ws';
  sync?: SyncEngine;
  /** the git half (git.enabled) */
  git?: GitService;
  startedAt: number;
  /** open WebSocket connections */
  connections(): number;
  /** bytes the relay holds for its connections (send buffers + stored events in hand): sum and largest */
  sendBuffered(): { total: number; max: number };
  close(): Promise<void>;
}

export interface RelayDeps {
  log?: Logger;
  clock?: Clock;
  /** the git half's store | purgatory | refuse decision (git.md §2.4); none = store everything */
  gate?: EventGate;
  /** which uWebSockets.js build loads (tests inject a result; default: the real loader) */
  loadUws?: () => UwsLoad;
  /** git sync's fetcher and sweep jitter (tests inject them; default: the real ones) */
  gitSync?: GitSyncOptions;
}

const SUMMARY_INTERVAL_MS = 60_000;

/** Every HTTP answer while the relay is starting (the port is bound before the store is open). */
export const STARTING_UP: HttpResponse = Object.freeze({
  status: 503,
  headers: Object.freeze({ 'content-type': 'text/plain', 'retry-after': '1' }) as Record<string, string>,
  body: 'starting up\n',
});

/** A reason the relay cannot start that the operator must fix (printed without a stack trace). */
export class StartupError extends Error {}

/** The parts every event goes through, without any socket: used by the relay and `import`. */
export interface Core {
  store: Store;
  verifier: Verifier;
  ingest: Ingest;
  live: SubscriptionIndex;
  /** the git half (git.enabled) */
  git?: GitService;
  close(): Promise<void>;
}

export async function createCore(config: Config, log: Logger, clock: Clock, opts: { gate?: EventGate; gitSync?: GitSyncOptions } = {}): Promise<Core> {
  const store = await openStore({ dataDir: config.store.dataDir, mapSizeGiB: config.store.mapSizeGiB, clock, log: log.child({ mod: 'store' }) });
  let git: GitService | undefined;
  if (config.git.enabled && opts.gate === undefined) {
    try {
      git = await openGit(config, { store, log: log.child({ mod: 'git' }), clock, ...(opts.gitSync !== undefined ? { sync: opts.gitSync } : {}) });
    } catch (e) {
      await store.close();
      throw e instanceof GitUnavailableError ? new StartupError(e.message) : e;
    }
  }
  const gate = opts.gate ?? git?.gate;
  let verifier: Verifier;
  try {
    verifier = await createVerifier({ backend: config.verify.backend, workers: config.verify.workers });
    if (verifier.degraded !== undefined) log.warn({ reason: verifier.degraded }, 'signature verification degraded');
  } catch (e) {
    await store.close();
    throw e;
  }
  const live = new SubscriptionIndex();
  const policy = createPolicy(config);
  const ingest = createIngest({
    store,
    verifier,
    policy,
    live,
    limits: config.limits,
    clock,
    log: log.child({ mod: 'ingest' }),
    ...(gate !== undefined ? { gate, expiredRetryMs: config.git.expiredRetryHours * 3600_000 } : {}),
  });
  git?.bindRelease((ev, raw, origin) => ingest.release(ev, raw, origin));
  return {
    store,
    verifier,
    ingest,
    live,
    ...(git !== undefined ? { git } : {}),
    async close() {
      await git?.close();
      await ingest.drain();
      await store.close();
      await verifier.close();
    },
  };
}

export async function startRelay(config: Config, deps: RelayDeps = {}): Promise<RelayHandle> {
  const log = deps.log ?? createLogger(config.log.level);
  const clock = deps.clock ?? systemClock;
  const ipLimiter = new IpLimiter(config.limits, clock);

  // Filled in once the port is known (service.hosts may depend on it, and with it the policy, so
  // the port is bound first). Until `serving` (store, verifier, NIP-11 and every route in place)
  // HTTP answers 503 with Retry-After and WebSocket upgrades are refused: nothing is answered
  // with partial data.
  const ready: { ctx?: ConnectionContext; git?: GitService; serving?: boolean } = {};
  const connections = new Set<Connection>();
  let nip11Doc: Record<string, unknown> = {};
  const routes = new HttpRoutes(() => nip11Doc);

  const callbacks: TransportCallbacks = {
    admit: (ip) => (ready.serving !== true ? 'rate-limited: starting up' : ipLimiter.admit(ip)),
    open(socket) {
      const conn: Connection = new Connection(socket, ready.ctx!, () => connections.delete(conn));
      connections.add(conn);
      return conn;
    },
    http: (req) => (ready.serving === true ? routes.handle(req) : STARTING_UP),
    stream: (req) => (ready.serving === true ? ready.git?.route(req) : undefined),
  };
  const topts: TransportOptions = {
    maxPayloadBytes: config.limits.maxMessageBytes * 2,
    // a backstop only: connections drop slow readers themselves at maxSendBufferBytes (logged)
    maxBackpressureBytes: 2 * (config.limits.maxSendBufferBytes + config.limits.maxMessageBytes),
    idleTimeoutSeconds: 120,
    trustProxy: config.server.trustProxy,
  };
  // auto: uWS when a build loads for this Node and libc, else ws; one line says which and why
  const choice = chooseTransport(config.server.transport, deps.loadUws);
  if ('error' in choice) throw new StartupError(choice.error);
  log.info({ transport: choice.transport, setting: config.server.transport, why: choice.why }, `transport: ${choice.transport}`);
  const transport: Transport = choice.transport === 'uws' ? createUwsTransport(topts, callbacks, choice.uws) : createWsTransport(topts, callbacks);

  let port: number;
  try {
    port = await transport.listen(config.server.host, config.server.port);
  } catch (e) {
    throw new StartupError(`cannot listen on ${config.server.host}:${config.server.port} (${(e as Error).message}); is another process using the port?`);
  }
  const hostForUrl = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  if (config.service.hosts.length === 0) {
    config = { ...config, service: { ...config.service, hosts: [`${hostForUrl}:${port}`, `localhost:${port}`] } };
  }
  let core: Core;
  try {
    core = await createCore(config, log, clock, { gate: deps.gate, ...(deps.gitSync !== undefined ? { gitSync: deps.gitSync } : {}) });
  } catch (e) {
    await transport.close();
    throw e;
  }
  const { store, verifier, ingest, live, git } = core;
  if (git !== undefined) {
    try {
      await git.start();
    } catch (e) {
      await core.close();
      await transport.close();
      throw e;
    }
    ready.git = git;
  }
  nip11Doc = buildNip11(config, { verifyBackend: verifier.backend, transport: transport.name });
  const negCfg = config.negentropy;
  const ctx: ConnectionContext = {
    config,
    store,
    ingest,
    live,
    ipLimiter,
    log: log.child({ mod: 'conn' }),
    negentropy: negCfg.enabled ? (send) => new Nip77Sessions(store, negCfg, send, clock, config.limits) : undefined,
    nip77Stats: { sessions: 0, bytesIn: 0, bytesOut: 0 },
  };
  ready.ctx = ctx;

  let purgeTimer: TimerHandle | undefined;
  const schedulePurge = () => {
    purgeTimer = clock.setTimeout(() => {
      store
        .purgeExpired(unixNow(clock))
        .then((n: number) => n > 0 && log.info({ purged: n }, 'expired events purged'))
        .catch((e: unknown) => log.error({ err: e }, 'purge failed'))
        .finally(schedulePurge);
    }, config.store.purgeIntervalSeconds * 1000);
  };
  schedulePurge();

  // One info line a minute when anything happened: connections, write outcomes, store size.
  let lastCounts = { ...ingest.counts };
  let summaryTimer: TimerHandle | undefined;
  const scheduleSummary = () => {
    summaryTimer = clock.setTimeout(() => {
      const now = { ...ingest.counts };
      const delta: Record<string, number> = {};
      let any = false;
      for (const [k, v] of Object.entries(now)) {
        const d = v - lastCounts[k as keyof typeof lastCounts];
        if (d > 0) {
          delta[k] = d;
          any = true;
        }
      }
      lastCounts = now;
      if (any || connections.size > 0) log.info({ connections: connections.size, events: delta, stored: store.stats().events }, 'summary (last minute)');
      scheduleSummary();
    }, SUMMARY_INTERVAL_MS);
  };
  scheduleSummary();
  // after a burst, the young generation V8 grew goes back once the relay is quiet (ops/heap-trim.ts)
  const heapTrim = startHeapTrim(clock);

  let sync: SyncEngine | undefined;
  if (config.sync.enabled) {
    sync = new SyncEngine({ store, ingest, config, clock, log: log.child({ mod: 'sync' }) });
    await sync.start();
  }

  const url = `ws://${hostForUrl}:${port}`;
  let closing: Promise<void> | undefined;
  const handle: RelayHandle = {
    url,
    port,
    config,
    store,
    ingest,
    live,
    routes,
    verifier,
    transport: transport.name,
    sync,
    ...(git !== undefined ? { git } : {}),
    startedAt: clock.now(),
    connections: () => connections.size,
    sendBuffered() {
      let total = 0;
      let max = 0;
      for (const c of connections) {
        const b = c.heldBytes();
        total += b;
        max = Math.max(max, b);
      }
      return { total, max };
    },
    close() {
      closing ??= (async () => {
        purgeTimer?.cancel();
        summaryTimer?.cancel();
        heapTrim.stop();
        await sync?.stop();
        await transport.close();
        await core.close();
        log.info('grasp-relay stopped');
      })();
      return closing;
    },
  };
  const nip77Stats = ctx.nip77Stats!;
  ctx.observe = installOps(handle, clock, negCfg.enabled ? { nip77: { nip77Stats: () => nip77Stats } } : {}).observer;
  ready.serving = true;
  log.info(
    { url, transport: transport.name, verify: verifier.backend, verifyWorkers: verifier.workers, policy: config.policy.mode, dataDir: config.store.dataDir, sync: config.sync.enabled, git: git?.root ?? false },
    'grasp-relay listening',
  );
  return handle;
}
