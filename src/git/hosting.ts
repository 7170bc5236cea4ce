// The git half's view of the Nostr data (git.md vocabulary): which repositories of an identifier
// are hosted, the recursive maintainer set M(R) over stored and purgatory announcements, the
// authoritative state A(R), and the states that may authorise a push. Reads only; no git, no I/O.
import { dTag, type NostrEvent } from '../nostr/event.js';
import { announcementsForD, KIND_ANNOUNCEMENT, recursiveMaintainers, type Hosting } from '../policy/index.js';
import type { StoreReader } from '../store/types.js';
import { isNewer, KIND_REPO_STATE, parseState } from './state.js';
import type { RepoId, StateRefs } from './types.js';

/** Most stored states of one identifier looked at when choosing A(R). */
const MAX_STATES_PER_D = 2000;

/** What the git half reads of purgatory (src/store/purgatory.ts implements it). */
export interface PurgatoryReader {
  forD(d: string): Array<{ id: string; event: NostrEvent; dormant: boolean; expiresAt: number }>;
}

export interface HostedRepo extends RepoId {
  /** the owner's current announcement (stored or in purgatory) */
  announcement: NostrEvent;
  /** true while that announcement waits in purgatory */
  inPurgatory: boolean;
  /**
   * read-write; archive (GRASP-05, read-only); or retired: the owner's announcement stopped
   * listing this service, and the repository is still served read-only for git.retiredDays
   */
  hosting: Exclude<Hosting, 'none'> | 'retired';
}

/** When repositories were retired (the store's meta area keeps it), and for how long they are served. */
export interface RetiredMarks {
  at(r: RepoId): number | undefined;
  windowMs: number;
  now(): number;
}

export class HostingView {
  constructor(
    private readonly store: StoreReader,
    private readonly purgatory: PurgatoryReader,
    private readonly classify: (announcement: NostrEvent) => Hosting,
    private readonly retired?: RetiredMarks,
  ) {}

  /** read-write, archive (read-only) or not hosted, judged on this announcement alone */
  classifyAnnouncement(ann: NostrEvent): Hosting {
    return this.classify(ann);
  }

  /** Stored and purgatory announcements for d by author (newest version of each; dormant ones included). */
  announcements(d: string): Map<string, NostrEvent> {
    const m = announcementsForD(this.store, d);
    for (const e of this.purgatory.forD(d)) {
      if (e.event.kind !== KIND_ANNOUNCEMENT || dTag(e.event) !== d) continue;
      const prev = m.get(e.event.pubkey);
      if (prev === undefined || isNewer(e.event, prev)) m.set(e.event.pubkey, e.event);
    }
    return m;
  }

  /** The owner's current announcement for d and whether it is hosted (dormant purgatory announcements are not). */
  hosted(owner: string, d: string): HostedRepo | undefined {
    const stored = this.store.getReplaceable(KIND_ANNOUNCEMENT, owner, d)?.event;
    let held: { event: NostrEvent; dormant: boolean } | undefined;
    for (const e of this.purgatory.forD(d)) {
      if (e.event.kind === KIND_ANNOUNCEMENT && e.event.pubkey === owner && dTag(e.event) === d) {
        if (held === undefined || isNewer(e.event, held.event)) held = e;
      }
    }
    let ann: NostrEvent | undefined = stored;
    let inPurgatory = false;
    if (held !== undefined && (stored === undefined || isNewer(held.event, stored))) {
      if (held.dormant) return undefined;
      ann = held.event;
      inPurgatory = true;
    }
    if (ann === undefined) return undefined;
    const hosting = this.classify(ann);
    if (hosting === 'none') {
      const at = this.retired?.at({ owner, d });
      if (at === undefined || this.retired!.now() - at >= this.retired!.windowMs) return undefined;
      return { owner, d, announcement: ann, inPurgatory, hosting: 'retired' };
    }
    return { owner, d, announcement: ann, inPurgatory, hosting };
  }

  /** Every hosted repository of identifier d that takes new data (retired ones are only served). */
  reposOf(d: string): HostedRepo[] {
    const out: HostedRepo[] = [];
    for (const owner of this.announcements(d).keys()) {
      const h = this.hosted(owner, d);
      if (h !== undefined && h.hosting !== 'retired') out.push(h);
    }
    return out;
  }

  /** M(R): the recursive maintainer set rooted at the owner, over stored and purgatory announcements. */
  maintainers(r: RepoId, anns: Map<string, NostrEvent> = this.announcements(r.d)): Set<string> {
    return recursiveMaintainers([r.owner], anns).members;
  }

  /** A(R): the newest stored state with refs whose author is in M(R). */
  authoritative(r: RepoId, members: ReadonlySet<string> = this.maintainers(r)): StateRefs | undefined {
    let best: StateRefs | undefined;
    for (const s of this.store.querySync({ kinds: [KIND_REPO_STATE], '#d': [r.d] }, MAX_STATES_PER_D)) {
      if (!members.has(s.event.pubkey) || dTag(s.event) !== r.d) continue;
      if (best !== undefined && !isNewer(s.event, best)) continue;
      const st = parseState(s.event);
      if (st !== undefined) best = st;
    }
    return best;
  }

  /** Purgatory states for d by members, newer than `than` (when given), newest first. */
  waitingStates(d: string, members: ReadonlySet<string>, than: StateRefs | undefined): StateRefs[] {
    const out: StateRefs[] = [];
    for (const e of this.purgatory.forD(d)) {
      if (e.event.kind !== KIND_REPO_STATE || dTag(e.event) !== d || !members.has(e.event.pubkey)) continue;
      if (than !== undefined && !isNewer(e.event, than)) continue;
      const st = parseState(e.event);
      if (st !== undefined) out.push(st);
    }
    return out.sort((a, b) => (isNewer(a, b) ? -1 : isNewer(b, a) ? 1 : 0));
  }

  /** The states that may authorise a push to R, in the order authorize() tries them (git.md §2.5 rule 5). */
  candidates(r: RepoId): { candidates: StateRefs[]; authoritative: StateRefs | undefined; members: Set<string> } {
    const members = this.maintainers(r);
    const a = this.authoritative(r, members);
    const waiting = this.waitingStates(r.d, members, a);
    return { candidates: a === undefined ? waiting : [...waiting, a], authoritative: a, members };
  }
}
