// One git sync check of one hosted repository R (git.md §3): gather what the relay knows of R,
// ask plan.ts what is missing, fix what needs no fetch (realign, PR refs), import LOCAL FIRST
// from the other hosted repositories of the identifier, then fetch from the source URLs in order
// (skipping URLs in backoff and busy hosts, never past R's quota) until nothing is missing, and
// land each arrival under R's lock: import, release (origin sync), PR refs, then fan-out.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NostrEvent } from '../../nostr/event.js';
import { dTag } from '../../nostr/event.js';
import { KIND_ANNOUNCEMENT } from '../../policy/index.js';
import type { FanOut } from '../release.js';
import { prRepos } from '../release.js';
import { readRefFiles } from '../ref-files.js';
import { isNewer, KIND_PR, KIND_PR_UPDATE, KIND_REPO_STATE, parseState, prTip } from '../state.js';
import { repoKey, type Oid, type RepoId } from '../types.js';
import type { GitSyncDeps } from './engine.js';
import { itemSources, oidsToCheck, planMissing, repoSources, type MissingItem, type PrFacts, type RepoFacts, type SourceOptions } from './plan.js';
import type { Remotes } from './remotes.js';
import type { FetchResult } from './types.js';

/** Most stored PRs of one repository looked at per check. */
const MAX_PRS = 5000;
/** Rounds (fixes, local imports, fetches) of one check, a guard against a loop that makes no progress. */
const MAX_ROUNDS = 64;
/** A busy host is looked at again after this long. */
const HOST_BUSY_RETRY_MS = 5_000;

export interface CheckCounters {
  fetches: { ok: number; partial: number; failed: number; skipped: number };
  objectsImported: number;
  released: number;
}

export interface CheckOutcome {
  /** something is still missing after this check */
  missing: boolean;
  /** a purgatory event still waits for objects */
  huntMissing: boolean;
  /** when the last of those purgatory events expires (ms) */
  huntUntil: number;
  /** URLs were skipped only for their hosts' limits: worth another check then */
  blockedUntil?: number;
}

export interface CheckDeps extends GitSyncDeps {
  remotes: Remotes;
  counters: CheckCounters;
  /** hunted events possibly not yet in purgatory */
  pending(): NostrEvent[];
  closed(): boolean;
  /** register a fetch's abort controller (close() aborts it); returns the unregistering function */
  abortable(ac: AbortController): () => void;
}

export async function checkRepo(r: RepoId, d: CheckDeps): Promise<CheckOutcome> {
  const { repos, view, remotes, counters, config: c } = d;
  const hosted = view.hosted(r.owner, r.d);
  if (hosted === undefined || hosted.hosting === 'retired' || !repos.exists(r)) return { missing: false, huntMissing: false, huntUntil: 0 };
  const tried = new Set<string>();
  const srcOpts: SourceOptions = { hosts: d.hosts, allowHttp: c.syncAllowHttp, max: c.syncMaxUrlsPerItem };
  let fixed = false;
  let local = false;
  let blockedUntil: number | undefined;
  let items: MissingItem[] = [];
  for (let round = 0; round < MAX_ROUNDS && !d.closed(); round++) {
    const facts = await gather(r, d);
    const check = oidsToCheck(facts);
    const missing = check.length > 0 ? await repos.missing(r, check) : new Set<Oid>();
    const plan = planMissing(facts, missing);
    items = plan.items;
    if (plan.fix && !fixed) {
      fixed = true;
      await land(r, d, undefined);
      continue;
    }
    if (items.length === 0) break;
    if (!local) {
      local = true;
      if (await importLocal(r, items, d)) continue;
    }
    let quotaBytes = Infinity;
    if (c.maxRepoBytes > 0) {
      const size = await repos.size(r);
      if (size >= c.maxRepoBytes) {
        counters.fetches.skipped++;
        d.log.info({ repo: repoKey(r), size }, 'git sync: repository at its size limit, nothing fetched');
        break;
      }
      quotaBytes = c.maxRepoBytes - size;
    }
    // the next URL: the first untried usable one of the first item that has one
    const anns = view.announcements(r.d);
    const repoUrls = repoSources(r.owner, view.maintainers(r, anns), anns, srcOpts);
    const sources = items.map((it) => itemSources(it, repoUrls, srcOpts));
    let url: string | undefined;
    for (const list of sources) {
      for (const u of list) {
        if (tried.has(u)) continue;
        tried.add(u);
        const v = remotes.canTry(u);
        if (v.ok) {
          url = u;
          break;
        }
        counters.fetches.skipped++;
        if (v.why !== 'backoff') blockedUntil = Math.min(blockedUntil ?? Infinity, v.why === 'host-rate' ? v.until : d.clock.now() + HOST_BUSY_RETRY_MS);
      }
      if (url !== undefined) break;
    }
    if (url === undefined) {
      if (sources.every((l) => l.length === 0)) counters.fetches.skipped++; // no source at all
      break;
    }
    // every missing id this URL is a source of, in one fetch
    const want = new Set<Oid>();
    items.forEach((it, i) => {
      if (sources[i]!.includes(url)) for (const o of it.oids) want.add(o);
    });
    await fetchOne(r, url, [...want], quotaBytes, d);
  }
  if (items.length > 0 && !d.closed()) {
    // what is left after this check (the loop may have ended on a fetch)
    const facts = await gather(r, d);
    const check = oidsToCheck(facts);
    items = planMissing(facts, check.length > 0 ? await repos.missing(r, check) : new Set<Oid>()).items;
  }
  const waiting = items.filter((it) => it.purgatory);
  const out: CheckOutcome = {
    missing: items.length > 0,
    huntMissing: waiting.length > 0,
    huntUntil: Math.max(0, ...waiting.map((it) => it.expiresAt ?? 0)),
  };
  if (blockedUntil !== undefined) out.blockedUntil = blockedUntil;
  return out;
}

/** What the relay knows of R: refs, HEAD, A(R), waiting states, PRs (purgatory, hunted, stored). */
async function gather(r: RepoId, d: CheckDeps): Promise<RepoFacts> {
  const { view, purgatory, store, repos } = d;
  const anns = view.announcements(r.d);
  const members = view.maintainers(r, anns);
  const authoritative = view.authoritative(r, members);
  const now = d.clock.now();
  // entries past their expiry (the minute sweep has not removed them yet) are not hunted for
  const waiting = view
    .waitingStates(r.d, members, authoritative)
    .map((state) => ({ state, expiresAt: purgatory.get(state.id)?.expiresAt ?? now }))
    .filter((w) => w.expiresAt > now);
  const prs: PrFacts[] = [];
  const seen = new Set<string>();
  const names = (ev: NostrEvent): boolean => prRepos(ev).some((x) => x.owner === r.owner && x.d === r.d);
  const addPr = (ev: NostrEvent, inPurgatory: boolean, expiresAt?: number): void => {
    const tip = prTip(ev);
    if (tip === undefined || seen.has(ev.id) || !names(ev)) return;
    seen.add(ev.id);
    const clone = ev.tags.filter((t) => t[0] === 'clone').flatMap((t) => t.slice(1));
    prs.push({ id: ev.id, tip, clone, inPurgatory, ...(expiresAt !== undefined ? { expiresAt } : {}) });
  };
  for (const e of purgatory.forD(r.d)) {
    if ((e.event.kind === KIND_PR || e.event.kind === KIND_PR_UPDATE) && e.expiresAt > now) addPr(e.event, true, e.expiresAt);
  }
  // events the gate sent to hunt that are not in purgatory yet (or no longer: released or deleted)
  for (const ev of d.pending()) {
    if (purgatory.get(ev.id) !== undefined || store.has(ev.id)) continue;
    if (ev.kind === KIND_PR || ev.kind === KIND_PR_UPDATE) addPr(ev, true, now + purgatoryMs(d));
    else if (ev.kind === KIND_REPO_STATE && dTag(ev) === r.d && members.has(ev.pubkey)) {
      const st = parseState(ev);
      if (st !== undefined && (authoritative === undefined || isNewer(st, authoritative)) && !waiting.some((w) => w.state.id === st.id)) {
        waiting.push({ state: st, expiresAt: now + purgatoryMs(d) });
        waiting.sort((a, b) => (isNewer(a.state, b.state) ? -1 : 1));
      }
    }
  }
  for (const s of store.querySync({ kinds: [KIND_PR, KIND_PR_UPDATE], '#a': [`${KIND_ANNOUNCEMENT}:${r.owner}:${r.d}`] }, MAX_PRS)) addPr(s.event, false);
  // from the files when they are plain (no process: the hourly check of an aligned repository spawns nothing)
  const refs = (await readRefFiles(repos.dirOf(r))) ?? (await repos.refs(r));
  return { refs, head: await readHead(d, r), authoritative, waiting, prs };
}

const purgatoryMs = (d: CheckDeps): number => d.config.purgatoryMinutes * 60_000;

/** HEAD's branch from the HEAD file (no git process). */
async function readHead(d: CheckDeps, r: RepoId): Promise<string | undefined> {
  const text = await readFile(join(d.repos.dirOf(r), 'HEAD'), 'utf8').catch(() => '');
  const m = /^ref: (refs\/heads\/\S+)\s*$/.exec(text);
  return m?.[1];
}

/** LOCAL FIRST: import missing ids held by other hosted repositories of d. True when anything arrived. */
async function importLocal(r: RepoId, items: MissingItem[], d: CheckDeps): Promise<boolean> {
  const { repos, view } = d;
  let need = new Set(items.flatMap((it) => it.oids));
  let any = false;
  for (const o of view.reposOf(r.d)) {
    if (need.size === 0 || d.closed()) break;
    if ((o.owner === r.owner && o.d === r.d) || !repos.exists(o)) continue;
    const lacks = await repos.missing(o, [...need]);
    const held = [...need].filter((x) => !lacks.has(x));
    if (held.length === 0) continue;
    const got = await land(r, d, { from: o, oids: held });
    if (got > 0) any = true;
    need = new Set([...need].filter((x) => lacks.has(x)));
  }
  return any;
}

/** One fetch from one URL, its outcome recorded for the URL's health and the counters. */
async function fetchOne(r: RepoId, url: string, want: Oid[], quotaBytes: number, d: CheckDeps): Promise<void> {
  const end = d.remotes.start(url);
  const ac = new AbortController();
  const unregister = d.abortable(ac);
  let result: FetchResult;
  try {
    result = await d.fetcher.fetch({ url, repo: r, want, quotaBytes, signal: ac.signal }, async (dir, present) => {
      // after close() nothing lands: the store may be closing (the scratch is simply deleted)
      if (!d.closed()) await land(r, d, { dir, oids: present });
    });
  } catch (e) {
    result = { fetched: [], bytes: 0, durationMs: 0, error: { cls: 'git', message: (e as Error).message?.split('\n')[0] ?? String(e) } };
  } finally {
    unregister();
  }
  end(result);
  const f = d.counters.fetches;
  if (result.fetched.length === want.length && result.error === undefined) f.ok++;
  else if (result.fetched.length > 0) f.partial++;
  else f.failed++;
  d.log.info(
    { repo: repoKey(r), url, want: want.length, fetched: result.fetched.length, bytes: result.bytes, ms: result.durationMs, error: result.error?.cls },
    'git sync fetch',
  );
}

type Source = { from: RepoId; oids: Oid[] } | { dir: string; oids: Oid[] };

/**
 * Under R's lock: import `src`'s ids (a local repository or a fetcher's scratch), settle R (align,
 * release with origin sync), write refs/nostr/<id> of stored PRs whose tips R now holds; then,
 * after the lock, bring the other hosted repositories along. Returns the ids imported.
 */
async function land(r: RepoId, d: CheckDeps, src: Source | undefined): Promise<number> {
  const { repos, releaser, purgatory, store, log } = d;
  const held = purgatory.forD(r.d).map((e) => e.id);
  let imported = 0;
  let fan: FanOut | undefined;
  try {
    fan = await repos.withLock(r, async () => {
      if (!repos.exists(r)) return undefined;
      if (src !== undefined && src.oids.length > 0) {
        const got = 'from' in src ? await repos.importFrom(src.from, r, src.oids) : await repos.importFromDir(src.dir, r, src.oids);
        imported = got.size;
        d.counters.objectsImported += got.size;
      }
      const f = await releaser.settle(r, 'sync');
      await storedPrRefs(r, d, f);
      return f;
    });
    if (fan !== undefined) await releaser.fanOut(fan, 'sync');
  } catch (e) {
    log.warn({ err: e, repo: repoKey(r) }, 'git sync: landing data failed');
  }
  for (const id of held) if (purgatory.get(id) === undefined && store.has(id)) d.counters.released++;
  return imported;
}

/** refs/nostr/<id> for stored PRs naming R whose tip R holds (under R's lock); they join the fan-out. */
async function storedPrRefs(r: RepoId, d: CheckDeps, fan: FanOut): Promise<void> {
  const { repos, store, releaser } = d;
  const prs = store
    .querySync({ kinds: [KIND_PR, KIND_PR_UPDATE], '#a': [`${KIND_ANNOUNCEMENT}:${r.owner}:${r.d}`] }, MAX_PRS)
    .map((s) => ({ ev: s.event, tip: prTip(s.event) }))
    .filter((p): p is { ev: NostrEvent; tip: Oid } => p.tip !== undefined);
  if (prs.length === 0) return;
  const refs = await repos.refs(r);
  const todo = prs.filter((p) => refs.get(`refs/nostr/${p.ev.id}`) !== p.tip);
  if (todo.length === 0) return;
  const lacks = await repos.missing(r, todo.map((p) => p.tip));
  for (const p of todo) {
    if (lacks.has(p.tip)) continue;
    await releaser.setNostrRef(r, refs, p.ev.id, p.tip);
    if (!fan.prs.some((x) => x.id === p.ev.id)) fan.prs.push({ id: p.ev.id, tip: p.tip, repos: prRepos(p.ev) });
  }
}
