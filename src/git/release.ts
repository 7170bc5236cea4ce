// After git data lands in a repository (a push, a local import, later GRASP-02 sync): align its
// refs and HEAD with the newest state it can satisfy, release that state, the owner's announcement
// and the PRs whose tips it now holds from purgatory, then carry the same data to the other hosted
// repositories of the identifier (git.md §2.6). Callers hold the repository's lock for settle();
// fanOut() takes the other repositories' locks one at a time, never while holding another.
import type { Logger } from '../log.js';
import type { NostrEvent } from '../nostr/event.js';
import type { Origin } from '../policy/index.js';
import type { InsertResult } from '../store/types.js';
import type { HostingView } from './hosting.js';
import { isNewer, KIND_PR, KIND_PR_UPDATE, prTip } from './state.js';
import { repoKey, ZERO_OID, type Oid, type RefCommand, type RepoId, type Refs, type StateRefs } from './types.js';

/** The repository operations release needs (src/git/repos.ts implements them). */
export interface RepoOps {
  exists(r: RepoId): boolean;
  withLock<T>(r: RepoId, fn: () => Promise<T>): Promise<T>;
  refs(r: RepoId): Promise<Refs>;
  head(r: RepoId): Promise<string | undefined>;
  setHead(r: RepoId, ref: string): Promise<void>;
  missing(r: RepoId, oids: Oid[]): Promise<Set<Oid>>;
  update(r: RepoId, cmds: RefCommand[]): Promise<void>;
  importFrom(src: RepoId, dst: RepoId, oids: Oid[]): Promise<Set<Oid>>;
}

/** The purgatory operations release needs (src/store/purgatory.ts implements them). */
export interface PurgatoryOps {
  get(id: string): { id: string; raw: string; event: NostrEvent } | undefined;
  forD(d: string): Array<{ id: string; raw: string; event: NostrEvent; dormant: boolean; expiresAt: number }>;
  remove(id: string): Promise<void>;
  putNostrRef(r: { repoKey: string; id: string; tip: string; pushedAt: number }): Promise<void>;
  getNostrRef(repoKey: string, id: string): { repoKey: string; id: string; tip: string; pushedAt: number } | undefined;
  deleteNostrRef(repoKey: string, id: string): Promise<void>;
}

export interface ReleaseDeps {
  view: HostingView;
  repos: RepoOps;
  purgatory: PurgatoryOps;
  /** insert a purgatory event into the store and fan it out (Ingest.release) */
  release(event: NostrEvent, raw: string, origin: Origin): Promise<InsertResult>;
  /** a stored event by id */
  stored(id: string): NostrEvent | undefined;
  now(): number;
  log: Logger;
  onReleased?(kind: number): void;
}

/** Work to do after the repository's lock is released: other repositories to bring along. */
export interface FanOut {
  from: RepoId;
  state?: StateRefs;
  /** PR ids and tips to write as refs/nostr/<id> into the other hosted repos they name */
  prs: Array<{ id: string; tip: Oid; repos: RepoId[] }>;
}

const NOSTR_REF = /^refs\/nostr\/([0-9a-f]{64})$/;
const isBranchOrTag = (ref: string): boolean => ref.startsWith('refs/heads/') || ref.startsWith('refs/tags/');

/** Whether `refs`/`head` equal the state exactly (branches and tags; HEAD when the state names it). */
export function isAligned(refs: ReadonlyMap<string, Oid>, head: string | undefined, s: StateRefs): boolean {
  let n = 0;
  for (const [ref, oid] of refs) {
    if (!isBranchOrTag(ref)) continue;
    n++;
    if (s.refs.get(ref) !== oid) return false;
  }
  if (n !== s.refs.size) return false;
  return s.head === undefined || s.head === head;
}

/** The update-ref commands that align `refs` with `s`: set every ref it names, delete other branches and tags. */
export function alignCommands(refs: ReadonlyMap<string, Oid>, s: StateRefs): RefCommand[] {
  const cmds: RefCommand[] = [];
  for (const [ref, oid] of s.refs) {
    const cur = refs.get(ref);
    if (cur !== oid) cmds.push({ ref, old: cur ?? ZERO_OID, new: oid });
  }
  for (const [ref, oid] of refs) if (isBranchOrTag(ref) && !s.refs.has(ref)) cmds.push({ ref, old: oid, new: ZERO_OID });
  return cmds;
}

/** HEAD after alignment: the state's HEAD branch, else the current one if it still exists, else main, master or the first branch. */
export function chooseHead(s: StateRefs, current: string | undefined): string | undefined {
  if (s.head !== undefined) return s.head;
  if (current !== undefined && s.refs.has(current)) return current;
  for (const b of ['refs/heads/main', 'refs/heads/master']) if (s.refs.has(b)) return b;
  for (const ref of s.refs.keys()) if (ref.startsWith('refs/heads/')) return ref;
  return undefined;
}

/** The repositories (owner, d) a PR names in its `a` tags. */
export function prRepos(ev: NostrEvent): RepoId[] {
  const out: RepoId[] = [];
  for (const t of ev.tags) {
    if (t[0] !== 'a' || t[1] === undefined) continue;
    const m = /^30617:([0-9a-f]{64}):(.+)$/.exec(t[1]);
    if (m && !out.some((r) => r.owner === m[1] && r.d === m[2])) out.push({ owner: m[1]!, d: m[2]! });
  }
  return out;
}

export class Releaser {
  constructor(private readonly deps: ReleaseDeps) {}

  /**
   * Under R's lock, after git data arrived in R: align R with the newest state it can satisfy,
   * release what now has its data, record pushed refs/nostr refs. `pushed` are the commands of a
   * push (refs/nostr/<id> among them become claimed refs or placeholders).
   */
  async settle(r: RepoId, origin: Origin, pushed: readonly RefCommand[] = []): Promise<FanOut> {
    const { view, repos, purgatory, log } = this.deps;
    const out: FanOut = { from: r, prs: [] };
    const anns = view.announcements(r.d);
    const members = view.maintainers(r, anns);
    const auth = view.authoritative(r, members);
    const waiting = view.waitingStates(r.d, members, auth);
    const all = auth === undefined ? waiting : [...waiting, auth];
    const oids = new Set<Oid>();
    for (const s of all) for (const o of s.refs.values()) oids.add(o);
    const prs = purgatory.forD(r.d).filter((e) => e.event.kind === KIND_PR || e.event.kind === KIND_PR_UPDATE);
    for (const p of prs) {
      const tip = prTip(p.event);
      if (tip !== undefined) oids.add(tip);
    }
    const missing = oids.size > 0 ? await repos.missing(r, [...oids]) : new Set<Oid>();
    const ready = (s: StateRefs): boolean => [...s.refs.values()].every((o) => !missing.has(o));

    // 1. align with the newest state whose objects R holds (all are newer than A(R) or A(R) itself)
    const target = all.find(ready);
    let refs = await repos.refs(r);
    if (target !== undefined) {
      const head = await repos.head(r);
      if (!isAligned(refs, head, target)) {
        const cmds = alignCommands(refs, target);
        if (cmds.length > 0) await repos.update(r, cmds);
        const h = chooseHead(target, head);
        if (h !== undefined && h !== head) await repos.setHead(r, h);
        refs = await repos.refs(r);
      }
      out.state = target;
      // 2. release it, and drop older waiting states whose data is also here
      for (const s of waiting) {
        if (s === target) await this.releaseId(s.id, origin);
        else if (isNewer(target, s) && ready(s)) await purgatory.remove(s.id);
      }
    }
    // the owner's announcement is released when git data first lands in R
    const hosted = view.hosted(r.owner, r.d);
    const hasData = [...refs.keys()].some(isBranchOrTag);
    if (hosted?.inPurgatory && hasData) await this.releaseId(hosted.announcement.id, origin);

    // 4. PRs whose tips R now holds; pushed refs/nostr refs
    const key = repoKey(r);
    for (const p of prs) {
      const tip = prTip(p.event);
      if (tip === undefined || missing.has(tip)) continue;
      await this.setNostrRef(r, refs, p.id, tip);
      await this.releaseId(p.id, origin);
      out.prs.push({ id: p.id, tip, repos: prRepos(p.event) });
    }
    for (const c of pushed) {
      const m = NOSTR_REF.exec(c.ref);
      if (!m || c.new === ZERO_OID) continue;
      const id = m[1]!;
      const known = this.deps.stored(id) ?? purgatory.get(id)?.event;
      const knownTip = known !== undefined && (known.kind === KIND_PR || known.kind === KIND_PR_UPDATE) ? prTip(known) : undefined;
      if (knownTip === c.new) {
        await purgatory.deleteNostrRef(key, id);
        if (purgatory.get(id) !== undefined) {
          await this.releaseId(id, origin);
          out.prs.push({ id, tip: c.new, repos: prRepos(known!) });
        }
      } else {
        await purgatory.putNostrRef({ repoKey: key, id, tip: c.new, pushedAt: this.deps.now() });
      }
    }
    if (target !== undefined) log.debug({ repo: key, state: target.id }, 'repository aligned');
    return out;
  }

  /**
   * Bring the other hosted repositories along (git.md §2.6 steps 3 and 4): each one governed by the
   * state gets its missing objects from `from` (local fetch) and is aligned; PR refs are written
   * into every hosted repository their `a` tags name. Takes one lock at a time.
   */
  async fanOut(f: FanOut, origin: Origin): Promise<void> {
    const { view, repos, log } = this.deps;
    const targets = new Map<string, { r: RepoId; prs: Array<{ id: string; tip: Oid }> }>();
    if (f.state !== undefined) {
      for (const h of view.reposOf(f.from.d)) {
        if (h.owner === f.from.owner) continue;
        if (!view.maintainers(h).has(f.state.author)) continue;
        targets.set(repoKey(h), { r: h, prs: [] });
      }
    }
    for (const p of f.prs) {
      for (const r of p.repos) {
        if (r.owner === f.from.owner && r.d === f.from.d) continue;
        if (view.hosted(r.owner, r.d) === undefined) continue;
        const k = repoKey(r);
        const t = targets.get(k) ?? { r: { owner: r.owner, d: r.d }, prs: [] };
        t.prs.push(p);
        targets.set(k, t);
      }
    }
    for (const { r, prs } of targets.values()) {
      try {
        await repos.withLock(r, async () => {
          if (!repos.exists(r)) return;
          const want = new Set<Oid>(prs.map((p) => p.tip));
          if (f.state !== undefined && r.d === f.from.d) for (const o of f.state.refs.values()) want.add(o);
          const miss = await repos.missing(r, [...want]);
          if (miss.size > 0) await repos.importFrom(f.from, r, [...miss]);
          await this.settle(r, origin);
          // PR refs for PRs already stored (settle only handles purgatory ones)
          const refs = await repos.refs(r);
          const still = await repos.missing(r, prs.map((p) => p.tip));
          for (const p of prs) if (!still.has(p.tip)) await this.setNostrRef(r, refs, p.id, p.tip);
        });
      } catch (e) {
        log.warn({ err: e, repo: repoKey(r) }, 'fan-out to another repository failed; the sweep will retry');
      }
    }
  }

  /** Write refs/nostr/<id> = tip in R (replacing another tip), forgetting any placeholder record. */
  async setNostrRef(r: RepoId, refs: ReadonlyMap<string, Oid>, id: string, tip: Oid): Promise<void> {
    const ref = `refs/nostr/${id}`;
    const cur = refs.get(ref);
    if (cur !== tip) await this.deps.repos.update(r, [{ ref, old: cur ?? ZERO_OID, new: tip }]);
    await this.deps.purgatory.deleteNostrRef(repoKey(r), id);
  }

  private async releaseId(id: string, origin: Origin): Promise<void> {
    const e = this.deps.purgatory.get(id);
    if (e === undefined) return;
    const r = await this.deps.release(e.event, e.raw, origin);
    if (r.status === 'stored' || r.status === 'duplicate') this.deps.onReleased?.(e.event.kind);
    else {
      this.deps.log.info({ id, reason: r.reason }, 'purgatory event not stored at release; dropped');
      await this.deps.purgatory.remove(id);
    }
  }
}
