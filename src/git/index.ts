// The git half assembled (git.md §2): repositories on disk, the smart-HTTP backend, the router,
// the event gate the write path consults, release after pushes, and the minute sweep (purgatory
// expiry, unclaimed refs/nostr refs, trash), and GRASP-02 git sync (src/git/sync) when enabled.
// openGit() is the one entry point main.ts calls; it refuses to start without a usable git.
import { join } from 'node:path';
import { npubEncode } from 'nostr-tools/nip19';
import type { Clock, TimerHandle } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { NostrEvent } from '../nostr/event.js';
import { createHostingRules, parseHostSpec, tagValues, urlIsService, type HostSpec, type Origin } from '../policy/index.js';
import type { HttpRequest, StreamHandler, StreamResponse } from '../relay/transport.js';
import { sweepPurgatory } from '../store/purgatory.js';
import type { InsertResult, Store } from '../store/types.js';
import { authorize, type RefusalCode } from './authorize.js';
import { GitBackend, type PushDecision, type PushHooks } from './backend.js';
import { bounded, GitGate } from './gate.js';
import { gitVersion } from './gitproc.js';
import { HostingView, type HostedRepo } from './hosting.js';
import { renderNotFound, renderRepoPage, webClientLinks } from './landing.js';
import { Releaser } from './release.js';
import { Repos } from './repos.js';
import { createRouter } from './router.js';
import { GitSyncEngine } from './sync/engine.js';
import { createFetcher } from './sync/fetch.js';
import type { GitSync, RemoteFetcher } from './sync/types.js';
import { KIND_PR, KIND_PR_UPDATE, prTip } from './state.js';
import { repoKey, type Oid, type RepoId } from './types.js';

export { GitGate } from './gate.js';

/** git is missing or too old while git.enabled = true. */
export class GitUnavailableError extends Error {}

const SWEEP_MS = 60_000;
const MIN_GIT: [number, number] = [2, 39];

export interface GitCounters {
  releases: Record<string, number>;
  refusedPushes: Partial<Record<RefusalCode, number>>;
  pushes: number;
}

export interface RepoStatus {
  npub: string;
  d: string;
  refs: number;
  head?: string;
  bytes: number;
  purgatory: boolean;
  hosting: 'hosted' | 'archived' | 'retired';
}

export interface GitService {
  readonly gate: GitGate;
  readonly repos: Repos;
  readonly backend: GitBackend;
  readonly counters: GitCounters;
  readonly root: string;
  /** GRASP-02 git sync (git.syncEnabled), else undefined */
  readonly sync: GitSync | undefined;
  /** the streaming route for /<npub>/<d>.git/… (undefined: not a git path) */
  route(req: HttpRequest): StreamHandler | undefined;
  /** the write path's release entry point (bound once the ingest exists) */
  bindRelease(release: (event: NostrEvent, raw: string, origin: Origin) => Promise<InsertResult>): void;
  /** scan disk against the store, then start the minute sweep and git sync's hourly sweep */
  start(): Promise<void>;
  /** one sweep now (tests drive it with the injected clock) */
  sweep(): Promise<void>;
  repositories(): Promise<RepoStatus[]>;
  close(): Promise<void>;
}

export interface GitDeps {
  store: Store;
  log: Logger;
  clock: Clock;
  /** git sync's fetcher and sweep jitter (tests inject them) */
  sync?: GitSyncOptions;
}

export interface GitSyncOptions {
  fetcher?: RemoteFetcher;
  /** jitter source in [0, 1) for the hourly sweep (default Math.random) */
  random?: () => number;
}

export async function openGit(config: Config, deps: GitDeps): Promise<GitService> {
  const cfg = config.git;
  const { store, log, clock } = deps;
  const v = await gitVersion(cfg.binary);
  if ('error' in v || v.major < MIN_GIT[0] || (v.major === MIN_GIT[0] && v.minor < MIN_GIT[1])) {
    const why = 'error' in v ? v.error : `${v.text} is older than 2.39`;
    throw new GitUnavailableError(
      `the git half needs git 2.39 or newer (git.binary = "${cfg.binary}": ${why}). Install git (Debian: apt-get install git), ` +
        'or set git.enabled = false (GRASP_RELAY_GIT_ENABLED=false) to run the Nostr half alone beside another git server',
    );
  }
  const root = cfg.dataDir !== '' ? cfg.dataDir : join(config.store.dataDir, 'git');
  const repos = await Repos.open({ root, binary: cfg.binary, log: log.child({ mod: 'git-repos' }), packThreads: cfg.packThreads });
  const purgatory = store.purgatory;
  // repositories whose announcement stopped listing this service: key → when (meta survives restarts)
  const RETIRED_META = 'git:retired';
  const retired = new Map<string, number>(Object.entries(store.getMeta<Record<string, number>>(RETIRED_META) ?? {}));
  const retiredMs = cfg.retiredDays * 86_400_000;
  const retire = async (r: RepoId, at: number | undefined): Promise<void> => {
    if (at === undefined) retired.delete(repoKey(r));
    else retired.set(repoKey(r), at);
    await store.putMeta(RETIRED_META, Object.fromEntries(retired));
  };
  const view = new HostingView(store, purgatory, createHostingRules(config), {
    at: (r) => retired.get(repoKey(r)),
    windowMs: retiredMs,
    now: () => clock.now(),
  });
  const counters: GitCounters = { releases: {}, refusedPushes: {}, pushes: 0 };
  let releaseFn: ((event: NostrEvent, raw: string, origin: Origin) => Promise<InsertResult>) | undefined;
  const releaser = new Releaser({
    view,
    repos,
    purgatory,
    release: (ev, raw, origin) => {
      if (releaseFn === undefined) throw new Error('git release used before the write path was bound');
      return releaseFn(ev, raw, origin);
    },
    stored: (id) => store.get(id)?.event,
    now: () => clock.now(),
    log: log.child({ mod: 'git-release' }),
    onReleased: (kind) => (counters.releases[kind] = (counters.releases[kind] ?? 0) + 1),
  });
  const hosts: HostSpec[] = config.service.hosts.map((h) => parseHostSpec(h)).filter((h): h is HostSpec => h !== undefined);
  const sync = cfg.syncEnabled
    ? new GitSyncEngine({
        config: cfg,
        hosts,
        store,
        view,
        repos,
        purgatory,
        releaser,
        fetcher: deps.sync?.fetcher ?? createFetcher({ repos, git: cfg, log: log.child({ mod: 'git-fetch' }) }),
        clock,
        log: log.child({ mod: 'git-sync' }),
        ...(deps.sync?.random !== undefined ? { random: deps.sync.random } : {}),
      })
    : undefined;
  const gate = new GitGate({
    store,
    view,
    repos,
    purgatory,
    releaser,
    now: () => clock.now(),
    purgatoryMs: cfg.purgatoryMinutes * 60_000,
    releaseTimeoutMs: cfg.releaseTimeoutSeconds * 1000,
    log: log.child({ mod: 'git-gate' }),
    retire,
    ...(sync !== undefined ? { hunt: (ev: NostrEvent, origin: Origin) => sync.hunt(ev, origin) } : {}),
  });
  const backend = new GitBackend({ runtime: repos.runtime, config: cfg, log: log.child({ mod: 'git-http' }), clock });
  const canonicalHost = config.service.hosts[0] ?? '';

  const cloneUrlOf = (r: HostedRepo, npub: string): string => {
    for (const u of tagValues(r.announcement, 'clone')) if (urlIsService(u, ['http:', 'https:'], hosts)) return u;
    return `https://${canonicalHost}/${npub}/${encodeURIComponent(r.d)}.git`;
  };

  const pushHooks = (r: HostedRepo): PushHooks => ({
    withLock: (fn) => repos.withLock(r, fn),
    authorize: async (section): Promise<PushDecision> => {
      const localRefs = await repos.refs(r);
      const { candidates } = view.candidates(r);
      const oids = new Set<Oid>();
      for (const s of candidates) for (const o of s.refs.values()) oids.add(o);
      const missing = oids.size > 0 ? await repos.missing(r, [...oids]) : new Set<Oid>();
      const held = new Set([...oids].filter((o) => !missing.has(o)));
      let readOnly: string | undefined;
      if (r.hosting === 'archived') readOnly = 'this repository is archived here (read-only): push to the servers its announcement lists';
      else if (r.hosting === 'retired') readOnly = 'this repository no longer lists this server: it is read-only here until it is removed';
      else if (cfg.maxRepoBytes > 0 && (await repos.size(r)) >= cfg.maxRepoBytes) readOnly = `repository is over this server's size limit (${cfg.maxRepoBytes} bytes)`;
      const key = repoKey(r);
      const decision = authorize({
        repoName: `${npubEncode(r.owner)}/${r.d}`,
        commands: section.commands,
        localRefs,
        held,
        candidates,
        npub: (pk) => npubEncode(pk),
        nostr: {
          tipOf: (id) => {
            const ev = store.get(id)?.event ?? purgatory.get(id)?.event;
            return ev !== undefined && (ev.kind === KIND_PR || ev.kind === KIND_PR_UPDATE) ? prTip(ev) : undefined;
          },
          placeholders: purgatory.nostrRefs(key).length,
          maxPlaceholders: cfg.maxPendingNostrRefsPerRepo,
        },
        ...(readOnly !== undefined ? { readOnly } : {}),
      });
      if (!decision.ok) {
        counters.refusedPushes[decision.code] = (counters.refusedPushes[decision.code] ?? 0) + 1;
        return { ok: false, reasons: decision.reasons, summary: decision.summary };
      }
      // an authorised push keeps the owner's purgatory announcement alive
      if (r.inPurgatory) await purgatory.extend(r.announcement.id, clock.now() + cfg.purgatoryMinutes * 60_000);
      return { ok: true };
    },
    afterPush: async (section) => {
      counters.pushes++;
      repos.invalidateSize(r); // the pack just landed: size limit and status see it at once
      const fan = await releaser.settle(r, 'client', section.commands);
      // other repositories are brought along within the release budget; their locks are taken one
      // at a time (a crossing push at worst waits for this budget, never deadlocks)
      await bounded(releaser.fanOut(fan, 'client'), cfg.releaseTimeoutSeconds * 1000, log);
    },
  });

  const page = (r: HostedRepo, npub: string, req: HttpRequest, res: StreamResponse): void => {
    void (async () => {
      const refs = repos.exists(r) ? await repos.refs(r) : new Map<string, string>();
      const head = repos.exists(r) ? await repos.head(r) : undefined;
      const html = renderRepoPage({
        npub,
        d: r.d,
        name: tagValues(r.announcement, 'name')[0] ?? r.d,
        description: tagValues(r.announcement, 'description')[0] ?? '',
        cloneUrl: cloneUrlOf(r, npub),
        nostrUrl: `nostr://${npub}/${canonicalHost}/${encodeURIComponent(r.d)}`,
        waiting: r.inPurgatory,
        ...(head !== undefined ? { head } : {}),
        refs: [...refs.entries()].filter(([k]) => !k.startsWith('refs/nostr/')),
        webLinks: webClientLinks(cfg.webClients, npub, canonicalHost, r.d),
      });
      if (res.aborted) return;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? '' : html);
    })().catch((e: unknown) => {
      log.error({ err: e }, 'repository page failed');
      if (!res.aborted) res.destroy();
    });
  };

  const route = createRouter({
    hosted: (owner, d) => view.hosted(owner, d),
    dirOf: (r) => (repos.exists(r) ? repos.dirOf(r) : undefined),
    page,
    notFoundPage: () => renderNotFound('This server does not host this repository.'),
    infoRefs: (_r, dir) => (req, res) => backend.infoRefs(req, res, dir),
    uploadPack: (_r, dir) => (req, res) => backend.uploadPack(req, res, dir),
    receivePack: (r, dir) => (req, res) => backend.receivePack(req, res, dir, pushHooks(r)),
  });

  // ---- the minute sweep -----------------------------------------------------------------------
  const dormantMs = cfg.dormantHours * 3_600_000;
  const sweep = async (): Promise<void> => {
    const now = clock.now();
    const { dormant } = await sweepPurgatory(purgatory, now, { dormantMs });
    for (const e of dormant) await gate.trash({ owner: e.event.pubkey, d: e.d[0] ?? '' });
    for (const rec of purgatory.dueNostrRefs(now, cfg.nostrRefTtlMinutes * 60_000)) {
      const slash = rec.repoKey.indexOf('/');
      const r: RepoId = { owner: rec.repoKey.slice(0, slash), d: rec.repoKey.slice(slash + 1) };
      await repos.withLock(r, async () => {
        const ref = `refs/nostr/${rec.id}`;
        if (repos.exists(r)) {
          const cur = (await repos.refs(r)).get(ref);
          if (cur === rec.tip) await repos.update(r, [{ ref, old: cur, new: '0'.repeat(40) }]);
        }
        await purgatory.deleteNostrRef(rec.repoKey, rec.id);
      });
    }
    for (const [key, at] of [...retired]) {
      if (now - at < retiredMs) continue;
      const slash = key.indexOf('/');
      const r: RepoId = { owner: key.slice(0, slash), d: key.slice(slash + 1) };
      if (view.hosted(r.owner, r.d) === undefined) await gate.trash(r);
      await retire(r, undefined);
    }
    await repos.sweepTrash(now, retiredMs);
  };
  let timer: TimerHandle | undefined;
  let closed = false;
  const schedule = (): void => {
    if (closed) return;
    timer = clock.setTimeout(() => {
      sweep()
        .catch((e: unknown) => log.error({ err: e }, 'git sweep failed'))
        .finally(schedule);
    }, SWEEP_MS);
  };

  return {
    gate,
    repos,
    backend,
    counters,
    root,
    sync,
    route,
    bindRelease(fn) {
      releaseFn = fn;
    },
    async start() {
      // repositories no hosted announcement claims go to trash (deleted after git.retiredDays)
      for (const r of await repos.list()) {
        if (view.hosted(r.owner, r.d) === undefined) {
          log.info({ repo: repoKey(r) }, 'repository not hosted by any announcement: moved to trash');
          await gate.trash(r);
        }
      }
      schedule();
      sync?.start();
    },
    sweep,
    async repositories() {
      const out: RepoStatus[] = [];
      for (const r of await repos.list()) {
        const h = view.hosted(r.owner, r.d);
        if (h === undefined) continue;
        const refs = await repos.refs(r);
        const head = await repos.head(r);
        out.push({
          npub: npubEncode(r.owner),
          d: r.d,
          refs: [...refs.keys()].filter((k) => !k.startsWith('refs/nostr/')).length,
          ...(head !== undefined ? { head } : {}),
          bytes: await repos.size(r),
          purgatory: h.inPurgatory,
          hosting: h.hosting,
        });
      }
      return out;
    },
    async close() {
      closed = true;
      timer?.cancel();
      await sync?.close();
      await backend.close();
    },
  };
}
