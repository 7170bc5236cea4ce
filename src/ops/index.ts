// Operator surface of a running relay: installOps() registers GET /metrics (metrics.enabled),
// GET /status (JSON) and the HTML status page on GET / (metrics.statusPage), and returns the
// connection observer main.ts puts into the ConnectionContext. Read-only: it changes no state.
import { systemClock, type Clock } from '../clock.js';
import type { RelayHandle } from '../main.js';
import type { NostrEvent } from '../nostr/event.js';
import type { ConnectionObserver } from '../relay/connection.js';
import type { HttpRequest, HttpResponse } from '../relay/transport.js';
import { installAdmin } from './admin.js';
import { createMetrics, type Nip77Source, type RelayMetrics, type WriteBatchSource } from './metrics.js';
import { PAGE_HEADERS, renderPage } from './page.js';
import { memorySplit } from './memory.js';
import { disabledSync, gitStatus, listRepositories, relayInfoFromNip11, type StatusReport } from './status.js';
import type { RepoStatus } from '../git/index.js';

export type { StatusReport, RepositoryInfo, RelayInfo, GitStatus, GitRepositoryInfo } from './status.js';
export type { RelayMetrics } from './metrics.js';

export interface Ops {
  /** give this to ConnectionContext.observe (a no-op when metrics are off) */
  readonly observer: ConnectionObserver;
  /** present when metrics.enabled */
  readonly metrics?: RelayMetrics;
  /** the report behind /status and the page; `req` only picks ws:// or wss:// for the URL */
  report(req?: HttpRequest): Promise<StatusReport>;
}

const NOOP_OBSERVER: ConnectionObserver = {
  message() {},
  reqDone() {},
  connectionClosed() {},
};

/** Repository listings are cached until an announcement or deletion is accepted, at most this long. */
const REPOSITORY_CACHE_MS = 30_000;

function hasFn<K extends string>(o: unknown, key: K): o is Record<K, (...a: never[]) => unknown> {
  return typeof o === 'object' && o !== null && typeof (o as Record<string, unknown>)[key] === 'function';
}

/** The NIP-11 document exactly as the relay serves it. */
async function nip11Of(relay: RelayHandle): Promise<Record<string, unknown>> {
  const res = await relay.routes.handle({
    method: 'GET',
    path: '/',
    query: '',
    ip: '',
    header: (n) => (n === 'accept' ? 'application/nostr+json' : ''),
  });
  return JSON.parse(String(res.body)) as Record<string, unknown>;
}

/**
 * Register the operator routes on a started relay. `extra.nip77` feeds NIP-77 session/byte
 * counters once the relay's NIP-77 handler exposes them (src/relay/nip77.ts has none yet).
 */
export function installOps(relay: RelayHandle, clock: Clock = systemClock, extra: { nip77?: Nip77Source } = {}): Ops {
  const cfg = relay.config;
  // NIP-11 is built before the handle exists and does not change while the relay runs.
  let nip11: Record<string, unknown> = {};
  const nip11Ready = nip11Of(relay).then((d) => (nip11 = d));
  void nip11Ready.catch(() => {});
  const gr = (): Record<string, unknown> => (nip11.grasp_relay ?? {}) as Record<string, unknown>;

  let repos: { at: number; value: StatusReport['repositories'] } | undefined;
  relay.ingest.onAccepted((ev: NostrEvent) => {
    if (ev.kind === 30617 || ev.kind === 5) repos = undefined;
  });
  const repositories = (): StatusReport['repositories'] => {
    const now = clock.now();
    if (repos === undefined || now - repos.at > REPOSITORY_CACHE_MS) repos = { at: now, value: listRepositories(relay.store) };
    return repos.value;
  };

  // The git half's repositories on disk (refs, HEAD, size: git processes and a directory walk):
  // cached like the announcement list, and dropped when an announcement, state or deletion is
  // stored or held in purgatory, or a push or release happened since (refs, size, purgatory change).
  const git = relay.git;
  const gitMark = (): string => {
    if (git === undefined) return '';
    const released = Object.values(git.counters.releases).reduce((a, b) => a + b, 0);
    return `${git.counters.pushes}/${released}/${relay.ingest.counts.purgatory ?? 0}`;
  };
  let gitRepos: { at: number; mark: string; value: Promise<RepoStatus[]> } | undefined;
  relay.ingest.onAccepted((ev: NostrEvent) => {
    if (ev.kind === 30617 || ev.kind === 30618 || ev.kind === 5) gitRepos = undefined;
  });
  const gitRepositories = (): Promise<RepoStatus[]> => {
    if (git === undefined) return Promise.resolve([]);
    const now = clock.now();
    const mark = gitMark();
    if (gitRepos === undefined || gitRepos.mark !== mark || now - gitRepos.at > REPOSITORY_CACHE_MS) {
      const value = git.repositories();
      const entry = { at: now, mark, value };
      gitRepos = entry;
      // a failed listing is not kept
      value.catch(() => {
        if (gitRepos === entry) gitRepos = undefined;
      });
    }
    return gitRepos.value;
  };

  const report = async (req?: HttpRequest): Promise<StatusReport> => {
    const gitRepoList = await gitRepositories();
    const now = Math.floor(clock.now() / 1000);
    const startedAt = Math.floor(relay.startedAt / 1000);
    const tls = req !== undefined && cfg.server.trustProxy && req.header('x-forwarded-proto').toLowerCase() === 'https';
    const host = cfg.service.hosts[0] ?? `127.0.0.1:${relay.port}`;
    return {
      now,
      relay: relayInfoFromNip11(nip11, {
        url: `${tls ? 'wss' : 'ws'}://${host}`,
        hosts: [...cfg.service.hosts],
        policyMode: cfg.policy.mode,
        startedAt,
        now,
      }),
      connections: relay.connections(),
      store: relay.store.stats(),
      memory: memorySplit(),
      ingest: { ...relay.ingest.counts },
      repositories: repositories(),
      git: gitStatus(git, relay.store.purgatory, gitRepoList),
      sync: relay.sync?.status() ?? disabledSync(),
    };
  };

  let metrics: RelayMetrics | undefined;
  if (cfg.metrics.enabled) {
    const store: unknown = relay.store;
    metrics = createMetrics({
      connections: () => relay.connections(),
      sendBuffered: () => relay.sendBuffered(),
      ingest: relay.ingest,
      store: relay.store,
      ...(relay.sync !== undefined ? { sync: relay.sync } : {}),
      // the store does not report write batches yet; when it grows onWriteBatch() (see
      // WriteBatchSource) the write-batch histograms appear without a change here
      ...(hasFn(store, 'onWriteBatch') ? { writeBatches: store as unknown as WriteBatchSource } : {}),
      ...(extra.nip77 !== undefined ? { nip77: extra.nip77 } : {}),
      ...(git !== undefined
        ? {
            git: {
              stats: () => git.backend.stats(),
              counters: git.counters,
              purgatory: () => relay.store.purgatory.counts(),
              repositories: async () => {
                const list = await gitRepositories();
                return { count: list.length, bytes: list.reduce((t, r) => t + r.bytes, 0) };
              },
              onRequestDone: (l) => git.backend.onRequestDone(l),
              ...(git.sync !== undefined ? { syncStatus: git.sync.status.bind(git.sync) } : {}),
            },
          }
        : {}),
      info: {
        get version() {
          return String(nip11.version ?? '');
        },
        get transport() {
          return String(gr().transport ?? 'unknown');
        },
        verifyBackend: relay.verifier.backend,
        policyMode: cfg.policy.mode,
      },
      startedAt: Math.floor(relay.startedAt / 1000),
    });
    const m = metrics;
    relay.routes.get('/metrics', async (): Promise<HttpResponse> => {
      try {
        return { status: 200, headers: { 'content-type': m.contentType, 'cache-control': 'no-store' }, body: await m.render() };
      } catch (err) {
        return { status: 500, headers: { 'content-type': 'text/plain' }, body: `metrics collection failed: ${(err as Error).message}\n` };
      }
    });
  }

  if (cfg.metrics.statusPage) {
    relay.routes.get('/status', async (req) => {
      await nip11Ready;
      return {
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
        body: JSON.stringify(await report(req)),
      };
    });
    relay.routes.home = async (req) => {
      await nip11Ready;
      return { status: 200, headers: { ...PAGE_HEADERS }, body: renderPage(await report(req)) };
    };
  }

  installAdmin(relay);
  return { observer: metrics?.observer ?? NOOP_OBSERVER, ...(metrics !== undefined ? { metrics } : {}), report };
}
