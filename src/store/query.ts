// REQ execution: runs each filter's plan as a merged index walk with its own limit, merges the
// filters, dedupes, and hands out raw JSON in slices, yielding to the event loop between slices.
// Never re-serialises events; loads an event only to post-filter it or to return it.
import type { Filter, NostrEvent } from '../nostr/event.js';
import { matchFilter } from '../nostr/filter.js';
import type { StoredEvent } from './types.js';
import type { Dbs } from './dbs.js';
import { ID_LEN } from './keys.js';
import { planFilter, resolveLimit, DEFAULT_MAX_LIMIT, type Plan } from './planner.js';
import {
  ArraySource,
  MergeSource,
  RangeCursor,
  compareCandidates,
  idOf,
  sameEvent,
  type Candidate,
  type Source,
  type Work,
} from './cursor.js';

export const DEFAULT_SLICE = 500;
/** Index keys walked (or events parsed ×8) before a query yields the event loop mid-slice. */
const WORK_BUDGET = 20_000;

export interface ReadContext {
  dbs: Dbs;
  /** ids (latin1 of 32 bytes) expired and not yet purged */
  expired: ReadonlySet<string>;
  work: Work;
}

const isExpired = (ctx: ReadContext, c: Candidate): boolean =>
  ctx.expired.size > 0 && ctx.expired.has(c.key.toString('latin1', c.off, c.off + ID_LEN));

/** Candidates of an ids filter, loaded, matched and sorted. */
function idsCandidates(ctx: ReadContext, plan: Extract<Plan, { type: 'ids' }>): Candidate[] {
  const out: Candidate[] = [];
  for (const id of plan.ids) {
    const raw = ctx.dbs.events.get(id);
    if (raw === undefined) continue;
    const ev = JSON.parse(raw) as NostrEvent;
    const c: Candidate = { ts: ev.created_at, key: id, off: 0, raw };
    if (isExpired(ctx, c) || !matchFilter(plan.filter, ev)) continue;
    out.push(c);
  }
  out.sort(compareCandidates);
  return out.slice(0, plan.limit);
}

/** One filter's results in order: deduped, unexpired, post-filtered, at most `limit`. */
class FilterSource implements Source {
  private remaining: number;
  private current: Candidate | undefined;
  private last: Candidate | undefined;
  private readonly inner: Source;

  constructor(
    private readonly ctx: ReadContext,
    private readonly plan: Exclude<Plan, { type: 'empty' }>,
  ) {
    this.remaining = plan.limit;
    if (plan.type === 'ids') this.inner = new ArraySource(idsCandidates(ctx, plan));
    else {
      const n = plan.prefixes.length;
      const chunk = Math.max(4, Math.min(1024, Math.ceil(plan.limit / n) + 1));
      const cursors = plan.prefixes.map(
        (p) => new RangeCursor(plan.db, p, plan.since, plan.until, plan.valueCheck, chunk, ctx.work),
      );
      this.inner = cursors.length === 1 ? cursors[0]! : new MergeSource(cursors);
    }
    this.step();
  }

  head(): Candidate | undefined {
    return this.current;
  }

  advance(): void {
    this.step();
  }

  private step(): void {
    this.current = undefined;
    if (this.remaining <= 0) return;
    const plan = this.plan;
    const post = plan.type === 'ranges' && plan.postFilter;
    for (;;) {
      const c = this.inner.head();
      if (c === undefined) return;
      this.inner.advance();
      if (this.last !== undefined && sameEvent(this.last, c)) continue;
      this.last = c;
      if (plan.type === 'ranges' && isExpired(this.ctx, c)) continue;
      if (post) {
        this.ctx.work.keys += 8;
        const raw = this.ctx.dbs.events.get(idOf(c));
        if (raw === undefined || !matchFilter(plan.filter, JSON.parse(raw) as NostrEvent)) continue;
        c.raw = raw;
      }
      this.remaining--;
      this.current = c;
      return;
    }
  }
}

/** The merged, deduplicated stream of several filters. */
export function openQuery(ctx: ReadContext, filters: Filter[], maxLimit: number): Source | undefined {
  const sources: Source[] = [];
  for (const f of filters) {
    const plan = planFilter(ctx.dbs, f, resolveLimit(f, maxLimit));
    if (plan.type !== 'empty') sources.push(new FilterSource(ctx, plan));
  }
  if (sources.length === 0) return undefined;
  return sources.length === 1 ? sources[0] : new MergeSource(sources);
}

/** Next distinct candidate of a merged stream, with its raw JSON loaded (undefined when done). */
function nextRaw(ctx: ReadContext, src: Source, lastRef: { last: Candidate | undefined }): string | null | undefined {
  const c = src.head();
  if (c === undefined) return undefined;
  src.advance();
  if (lastRef.last !== undefined && sameEvent(lastRef.last, c)) return null;
  lastRef.last = c;
  const raw = c.raw ?? ctx.dbs.events.get(idOf(c));
  return raw === undefined ? null : raw;
}

export async function* runQuery(
  newContext: () => ReadContext,
  filters: Filter[],
  opts: { maxLimit?: number; sliceSize?: number; sliceBytes?: number } | undefined,
): AsyncGenerator<string[]> {
  const maxLimit = opts?.maxLimit ?? DEFAULT_MAX_LIMIT;
  const sliceSize = Math.max(1, opts?.sliceSize ?? DEFAULT_SLICE);
  const sliceBytes = Math.max(1, opts?.sliceBytes ?? Infinity);
  const ctx = newContext();
  const src = openQuery(ctx, filters, maxLimit);
  if (src === undefined) return;
  const lastRef: { last: Candidate | undefined } = { last: undefined };
  let out: string[] = [];
  let bytes = 0;
  for (;;) {
    const raw = nextRaw(ctx, src, lastRef);
    if (raw === undefined) break;
    if (raw !== null) {
      out.push(raw);
      bytes += raw.length;
      ctx.work.keys += 1;
    }
    if (out.length >= sliceSize || bytes >= sliceBytes) {
      yield out;
      out = [];
      bytes = 0;
      ctx.work.keys = 0;
      await new Promise<void>((r) => setImmediate(r));
    } else if (ctx.work.keys >= WORK_BUDGET) {
      ctx.work.keys = 0;
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  if (out.length > 0) yield out;
}

export function runQuerySync(ctx: ReadContext, filter: Filter, max: number): StoredEvent[] {
  const limit = Math.min(resolveLimit(filter, max), max);
  const plan = planFilter(ctx.dbs, filter, limit);
  if (plan.type === 'empty') return [];
  const src = new FilterSource(ctx, plan);
  const out: StoredEvent[] = [];
  for (let c = src.head(); c !== undefined; src.advance(), c = src.head()) {
    const raw = c.raw ?? ctx.dbs.events.get(idOf(c));
    if (raw !== undefined) out.push({ event: JSON.parse(raw) as NostrEvent, raw });
  }
  return out;
}
