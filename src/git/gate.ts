// What each accepted event does to the git side (git.md §2.7): store it now, hold it in purgatory
// until its git data arrives, or refuse it; and the git work that must be done before its OK
// (create the repository of a new announcement, align repositories with a state whose data is
// already here, write refs/nostr/<id> for a PR). Runs in the single write path after the policy.
import type { Logger } from '../log.js';
import { dTag, parseAddress, type NostrEvent } from '../nostr/event.js';
import { KIND_ANNOUNCEMENT, recursiveMaintainers, type Origin } from '../policy/index.js';
import type { StoreReader } from '../store/types.js';
import type { HostingView } from './hosting.js';
import { prRepos, type PurgatoryOps, type Releaser, type RepoOps } from './release.js';
import { isNewer, KIND_PR, KIND_PR_UPDATE, KIND_REPO_STATE, parseState, prTip } from './state.js';
import { repoKey, ZERO_OID, type Oid, type RepoId, type StateRefs } from './types.js';

export const PURGATORY_MESSAGE = "purgatory: won't be served until git data arrives";

export type GateDecision =
  | { action: 'store'; after?: () => Promise<void> }
  | { action: 'purgatory'; message: string; expiresAt: number }
  | { action: 'refuse'; message: string };

export interface GateRepoOps extends RepoOps {
  create(r: RepoId): Promise<void>;
  trash(r: RepoId): Promise<void>;
}

export interface GatePurgatoryOps extends PurgatoryOps {
  extend(id: string, expiresAt: number, dormant?: boolean): Promise<void>;
}

export interface GateDeps {
  store: StoreReader;
  view: HostingView;
  repos: GateRepoOps;
  purgatory: GatePurgatoryOps;
  releaser: Releaser;
  now(): number;
  purgatoryMs: number;
  releaseTimeoutMs: number;
  log: Logger;
  /** record (a time) or clear (undefined) that R stopped being hosted: it is served read-only for a while */
  retire(r: RepoId, at: number | undefined): Promise<void>;
  /** a state or PR entered purgatory (held): schedule a hunt for its data (GRASP-02 git sync) */
  hunt?(event: NostrEvent, origin: Origin): void;
}

const STORE: GateDecision = { action: 'store' };

export class GitGate {
  constructor(private readonly deps: GateDeps) {}

  async admit(ev: NostrEvent, _raw: string, origin: Origin): Promise<GateDecision> {
    switch (ev.kind) {
      case KIND_ANNOUNCEMENT:
        return this.announcement(ev);
      case KIND_REPO_STATE:
        return this.state(ev, origin);
      case KIND_PR:
      case KIND_PR_UPDATE:
        return this.pr(ev, origin);
      case 5:
        return this.deletion(ev);
      default:
        return STORE;
    }
  }

  /**
   * An event entered purgatory (ingest calls this after the insert): a state or PR waiting for
   * objects gets its hunt now, so the hunt's first check always finds it there to release.
   */
  held(entry: { event: NostrEvent; origin: Origin }): void {
    const k = entry.event.kind;
    if (k === KIND_REPO_STATE || k === KIND_PR || k === KIND_PR_UPDATE) this.deps.hunt?.(entry.event, entry.origin);
  }

  /** Purgatory entries removed by a deletion: their announcements' repositories go to trash. */
  removed(entries: Array<{ event: NostrEvent }>): void {
    for (const e of entries) {
      if (e.event.kind !== KIND_ANNOUNCEMENT) continue;
      const r = { owner: e.event.pubkey, d: dTag(e.event) };
      void this.trash(r);
    }
  }

  /** Move R to trash under its lock (its URL answers 404 from now on). */
  async trash(r: RepoId): Promise<void> {
    const { repos, log } = this.deps;
    try {
      await repos.withLock(r, async () => {
        if (repos.exists(r)) await repos.trash(r);
      });
    } catch (e) {
      log.error({ err: e, repo: repoKey(r) }, 'moving a repository to trash failed');
    }
  }

  private purgatory(): GateDecision {
    return { action: 'purgatory', message: PURGATORY_MESSAGE, expiresAt: this.deps.now() + this.deps.purgatoryMs };
  }

  // ---- 30617 -------------------------------------------------------------------------------

  private async announcement(ev: NostrEvent): Promise<GateDecision> {
    const { store, view, repos, purgatory } = this.deps;
    const r: RepoId = { owner: ev.pubkey, d: dTag(ev) };
    const stored = store.getReplaceable(KIND_ANNOUNCEMENT, r.owner, r.d);
    // hosting is judged on this new version (it may drop or add the service)
    const hostedNow = view.hosted(r.owner, r.d);
    const hosting = view.classifyAnnouncement(ev);
    if (hosting === 'none') {
      // a maintainer's own announcement, or one that dropped the service: a repository hosted
      // until now is retired (served read-only for git.retiredDays, then trashed)
      if (hostedNow === undefined || hostedNow.hosting === 'retired' || !repos.exists(r)) return STORE;
      return { action: 'store', after: () => this.deps.retire(r, this.deps.now()) };
    }
    if (stored !== undefined) {
      return {
        action: 'store',
        after: async () => {
          if (hostedNow?.hosting === 'retired') await this.deps.retire(r, undefined);
          await repos.withLock(r, async () => (repos.exists(r) ? undefined : repos.create(r)));
        },
      };
    }
    const held = purgatory.forD(r.d).find((e) => e.event.kind === KIND_ANNOUNCEMENT && e.event.pubkey === r.owner);
    if (held !== undefined && !isNewer(ev, held.event)) return STORE; // the older version: the store will refuse it
    // new (or newer, or revived dormant) purgatory announcement: the repository exists before the OK
    await repos.withLock(r, async () => {
      if (!repos.exists(r)) await repos.create(r);
    });
    // a repository that already holds data (kept from an earlier life) releases it at once
    if (hostedNow === undefined || hostedNow.inPurgatory) {
      const refs = await repos.refs(r);
      if ([...refs.keys()].some((k) => k.startsWith('refs/heads/'))) return STORE;
    }
    return this.purgatory();
  }

  // ---- 30618 -------------------------------------------------------------------------------

  private async state(ev: NostrEvent, origin: Origin): Promise<GateDecision> {
    const { view, repos, purgatory, now, purgatoryMs } = this.deps;
    const st = parseState(ev);
    if (st === undefined) return STORE; // "no longer tracking": stored, no git effect
    const d = dTag(ev);
    const anns = view.announcements(d);

    // a late state revives a dormant announcement it is authorised by
    for (const e of purgatory.forD(d)) {
      if (e.event.kind !== KIND_ANNOUNCEMENT || !e.dormant) continue;
      if (!recursiveMaintainers([e.event.pubkey], anns).members.has(ev.pubkey)) continue;
      await purgatory.extend(e.id, now() + purgatoryMs, false);
      const r = { owner: e.event.pubkey, d };
      await repos.withLock(r, async () => {
        if (!repos.exists(r)) await repos.create(r);
      });
    }

    const hosted = view.reposOf(d);
    const governed = hosted.filter((h) => view.maintainers(h, anns).has(ev.pubkey));
    const moves = governed.filter((h) => {
      const a = view.authoritative(h);
      return a === undefined || isNewer(st, a);
    });
    if (moves.length === 0) return STORE;

    const source = await this.holder(hosted, [...st.refs.values()]);
    if (source !== undefined) {
      return { action: 'store', after: () => this.bounded(this.alignAll(source, st, origin)) };
    }
    for (const h of governed) if (h.inPurgatory) await purgatory.extend(h.announcement.id, now() + purgatoryMs);
    return this.purgatory(); // the hunt starts once it is in purgatory (held)
  }

  /** A hosted repository holding every one of `oids`, if any. */
  private async holder(candidates: RepoId[], oids: Oid[]): Promise<RepoId | undefined> {
    for (const r of candidates) {
      if (!this.deps.repos.exists(r)) continue;
      if ((await this.deps.repos.missing(r, oids)).size === 0) return r;
    }
    return undefined;
  }

  /** The state is stored: align the repository holding its data, then every other one it governs. */
  private async alignAll(source: RepoId, st: StateRefs, origin: Origin): Promise<void> {
    const { repos, releaser } = this.deps;
    const fan = await repos.withLock(source, () => releaser.settle(source, origin));
    await releaser.fanOut({ ...fan, state: st }, origin);
  }

  private bounded(work: Promise<void>): Promise<void> {
    return bounded(work, this.deps.releaseTimeoutMs, this.deps.log);
  }

  // ---- 1618 / 1619 -------------------------------------------------------------------------

  private async pr(ev: NostrEvent, origin: Origin): Promise<GateDecision> {
    const { view, repos, releaser } = this.deps;
    const tip = prTip(ev);
    if (tip === undefined) return { action: 'refuse', message: 'invalid: a pull request needs a c tag with the 40-hex tip commit id' };
    const targets = prRepos(ev).filter((r) => view.hosted(r.owner, r.d) !== undefined);
    if (targets.length === 0) return STORE;
    const ref = `refs/nostr/${ev.id}`;
    // a ref pushed under this id with another tip is not this PR's: remove it
    for (const r of targets) {
      await repos.withLock(r, async () => {
        if (!repos.exists(r)) return;
        const cur = (await repos.refs(r)).get(ref);
        if (cur !== undefined && cur !== tip) {
          await repos.update(r, [{ ref, old: cur, new: ZERO_OID }]);
          await this.deps.purgatory.deleteNostrRef(repoKey(r), ev.id);
        }
      });
    }
    const source = await this.holder(targets, [tip]);
    if (source === undefined) {
      return this.purgatory(); // the hunt starts once it is in purgatory (held)
    }
    return {
      action: 'store',
      after: () =>
        this.bounded(
          (async () => {
            await repos.withLock(source, async () => releaser.setNostrRef(source, await repos.refs(source), ev.id, tip));
            await releaser.fanOut({ from: source, prs: [{ id: ev.id, tip, repos: targets }] }, origin);
          })(),
        ),
    };
  }

  // ---- kind 5 ------------------------------------------------------------------------------

  private deletion(ev: NostrEvent): GateDecision {
    const { store, view } = this.deps;
    const trash: RepoId[] = [];
    const prRefs: Array<{ id: string; repos: RepoId[] }> = [];
    for (const t of ev.tags) {
      if (t[1] === undefined) continue;
      if (t[0] === 'e') {
        const s = store.get(t[1])?.event;
        if (s === undefined || s.pubkey !== ev.pubkey) continue;
        if (s.kind === KIND_PR || s.kind === KIND_PR_UPDATE) prRefs.push({ id: s.id, repos: prRepos(s) });
        else if (s.kind === KIND_ANNOUNCEMENT) trash.push({ owner: s.pubkey, d: dTag(s) });
      } else if (t[0] === 'a') {
        const a = parseAddress(t[1]);
        if (a === undefined || a.kind !== KIND_ANNOUNCEMENT || a.pubkey !== ev.pubkey) continue;
        const cur = store.getReplaceable(KIND_ANNOUNCEMENT, a.pubkey, a.d)?.event;
        if (cur !== undefined && cur.created_at <= ev.created_at) trash.push({ owner: a.pubkey, d: a.d });
      }
    }
    if (trash.length === 0 && prRefs.length === 0) return STORE;
    return {
      action: 'store',
      after: async () => {
        for (const r of trash) await this.trash(r);
        for (const p of prRefs) {
          for (const r of p.repos) {
            if (view.hosted(r.owner, r.d) === undefined && !this.deps.repos.exists(r)) continue;
            await this.deleteNostrRef(r, p.id);
          }
        }
      },
    };
  }

  private async deleteNostrRef(r: RepoId, id: string): Promise<void> {
    const { repos, purgatory } = this.deps;
    await repos.withLock(r, async () => {
      if (!repos.exists(r)) return;
      const ref = `refs/nostr/${id}`;
      const cur = (await repos.refs(r)).get(ref);
      if (cur !== undefined) await repos.update(r, [{ ref, old: cur, new: ZERO_OID }]);
      await purgatory.deleteNostrRef(repoKey(r), id);
    });
  }
}

/** Wait for `work` at most `ms` (it goes on in the background after that); its errors are logged. */
export async function bounded(work: Promise<void>, ms: number, log: Logger): Promise<void> {
  const guarded = work.catch((e: unknown) => log.error({ err: e }, 'aligning repositories failed'));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([guarded, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
