// The live subscriptions of one peer (limit:0), planned incrementally: L1 in one REQ, repositories
// and roots in blocks (one REQ per block: the L2 or L3 filters over the block's values). New items
// are appended to the last block, so an update re-sends one REQ; blocks grow (doubling from the
// filter chunk) only when the budget would be exceeded. Pure: returns what to send and close.
import type { Filter } from '../nostr/event.js';
import { dOfAddress, itemKind, L1_FILTER } from './filters.js';

export interface LiveOptions {
  /** REQs this plan may keep open */
  budget: number;
  /** values per filter list to start with (the filter chunk) */
  chunk: number;
  /** largest value list the peer is assumed to accept */
  maxValues: number;
}

export interface LiveChanges {
  send: Array<[subId: string, filters: Filter[]]>;
  close: string[];
}

export function repoLiveFilters(addrs: readonly string[]): Filter[] {
  const ds = [...new Set(addrs.map(dOfAddress))];
  return [
    { kinds: [30618], '#d': ds, limit: 0 },
    { '#a': [...addrs], limit: 0 },
    { '#A': [...addrs], limit: 0 },
    { '#q': [...addrs], limit: 0 },
  ];
}

export function rootLiveFilters(ids: readonly string[]): Filter[] {
  return [
    { '#e': [...ids], limit: 0 },
    { '#E': [...ids], limit: 0 },
    { '#q': [...ids], limit: 0 },
  ];
}

/** Values per block so that 1 + repo blocks + root blocks fits the budget (when possible). */
export function blockSize(repos: number, roots: number, o: LiveOptions): number {
  let v = Math.max(1, o.chunk);
  const need = (x: number): number => 1 + Math.ceil(repos / x) + Math.ceil(roots / x);
  while (need(v) > o.budget && v < o.maxValues) v = Math.min(o.maxValues, v * 2);
  return v;
}

export class LivePlan {
  private size = 0;
  private l1 = false;
  private readonly repos: string[][] = [];
  private readonly roots: string[][] = [];
  private readonly members = new Set<string>();
  /** sub ids currently open */
  readonly open = new Set<string>();

  constructor(private readonly opts: LiveOptions) {}

  /** Forget everything (the connection closed). */
  reset(): void {
    this.size = 0;
    this.l1 = false;
    this.repos.length = 0;
    this.roots.length = 0;
    this.members.clear();
    this.open.clear();
  }

  /** A live sub the peer closed: forget it so the next update re-sends it. */
  dropped(subId: string): void {
    if (!this.open.delete(subId)) return;
    // rebuild on the next update
    this.size = -1;
  }

  /** Bring the plan up to `wanted`; returns the REQs to (re)send and the subs to close. */
  update(wanted: ReadonlySet<string>): LiveChanges {
    let repos = 0;
    let roots = 0;
    for (const i of wanted) {
      const k = itemKind(i);
      if (k === 'repo') repos++;
      else if (k === 'root') roots++;
    }
    let removed = false;
    for (const m of this.members) {
      if (!wanted.has(m)) {
        removed = true;
        break;
      }
    }
    const size = blockSize(repos, roots, this.opts);
    if (removed || size !== this.size) return this.rebuild(wanted, size);
    const dirty = new Set<string>();
    for (const i of wanted) {
      if (this.members.has(i)) continue;
      this.members.add(i);
      const k = itemKind(i);
      if (k === 'l1') {
        this.l1 = true;
        dirty.add('l1');
      } else {
        const blocks = k === 'repo' ? this.repos : this.roots;
        let last = blocks[blocks.length - 1];
        if (last === undefined || last.length >= size) blocks.push((last = []));
        last.push(i);
        dirty.add(`${k === 'repo' ? 'lr' : 'lo'}${blocks.length - 1}`);
      }
    }
    for (const id of dirty) this.open.add(id);
    return { send: [...dirty].map((id) => [id, this.filtersOf(id)]), close: [] };
  }

  private filtersOf(id: string): Filter[] {
    if (id === 'l1') return [{ ...L1_FILTER, limit: 0 }];
    const n = Number(id.slice(2));
    return id.startsWith('lr') ? repoLiveFilters(this.repos[n]!) : rootLiveFilters(this.roots[n]!);
  }

  private rebuild(wanted: ReadonlySet<string>, size: number): LiveChanges {
    const before = new Set(this.open);
    this.size = size;
    this.l1 = false;
    this.repos.length = 0;
    this.roots.length = 0;
    this.members.clear();
    for (const i of wanted) {
      this.members.add(i);
      const k = itemKind(i);
      if (k === 'l1') this.l1 = true;
      else {
        const blocks = k === 'repo' ? this.repos : this.roots;
        const last = blocks[blocks.length - 1];
        if (last === undefined || last.length >= size) blocks.push([i]);
        else last.push(i);
      }
    }
    const ids = [...(this.l1 ? ['l1'] : []), ...this.repos.map((_, n) => `lr${n}`), ...this.roots.map((_, n) => `lo${n}`)];
    this.open.clear();
    for (const id of ids) this.open.add(id);
    return { send: ids.map((id) => [id, this.filtersOf(id)]), close: [...before].filter((id) => !this.open.has(id)) };
  }

  /** Whether every item of the list is covered by an open live subscription. */
  covers(items: Iterable<string>): boolean {
    for (const i of items) if (!this.members.has(i)) return false;
    return true;
  }

  /** Values per block in force. */
  get blockSize(): number {
    return this.size;
  }
}
