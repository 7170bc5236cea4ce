// NIP-45 COUNT from the indexes: counts keys natively when the index answers the filter exactly,
// otherwise walks the ranges (loading and matching only what the index cannot decide) and
// dedupes across filters. Read-only, synchronous.
import type { Filter, NostrEvent } from '../nostr/event.js';
import { matchFilter } from '../nostr/filter.js';
import { ID_LEN } from './keys.js';
import { planFilter, type Plan } from './planner.js';
import { countRange, walkForward } from './cursor.js';
import type { ReadContext } from './query.js';

type LivePlan = Exclude<Plan, { type: 'empty' }>;

/** Visit the ids (latin1 of 32 bytes) of every stored, unexpired event a plan matches. */
function forEachMatch(ctx: ReadContext, plan: LivePlan, fn: (id: string) => void): void {
  const { dbs, expired } = ctx;
  if (plan.type === 'ids') {
    for (const id of plan.ids) {
      const raw = dbs.events.get(id);
      if (raw === undefined) continue;
      const s = id.toString('latin1');
      if (!expired.has(s) && matchFilter(plan.filter, JSON.parse(raw) as NostrEvent)) fn(s);
    }
    return;
  }
  for (const prefix of plan.prefixes) {
    walkForward(plan.db, prefix, plan.since, plan.until, plan.valueCheck, (key, off) => {
      const s = key.toString('latin1', off, off + ID_LEN);
      if (expired.size > 0 && expired.has(s)) return true;
      if (plan.postFilter) {
        const raw = dbs.events.get(key.subarray(off, off + ID_LEN));
        if (raw === undefined || !matchFilter(plan.filter, JSON.parse(raw) as NostrEvent)) return true;
      }
      fn(s);
      return true;
    });
  }
}

export function countFilters(ctx: ReadContext, filters: Filter[]): number {
  const plans: LivePlan[] = [];
  for (const f of filters) {
    // COUNT ignores limit (NIP-45 counts matches), except that limit 0 still means "none"
    const plan = planFilter(ctx.dbs, f, f.limit === 0 ? 0 : Number.MAX_SAFE_INTEGER);
    if (plan.type !== 'empty') plans.push(plan);
  }
  if (plans.length === 0) return 0;
  if (plans.length === 1) {
    const plan = plans[0]!;
    if (plan.type === 'ranges' && !plan.overlapping) {
      if (!plan.postFilter && plan.valueCheck === undefined) {
        let n = 0;
        for (const p of plan.prefixes) n += countRange(plan.db, p, plan.since, plan.until);
        // expired but not yet purged events are still in the index: take away those that match
        for (const s of ctx.expired) {
          const raw = ctx.dbs.events.get(Buffer.from(s, 'latin1'));
          if (raw !== undefined && matchFilter(plan.filter, JSON.parse(raw) as NostrEvent)) n--;
        }
        return n;
      }
      let n = 0;
      forEachMatch(ctx, plan, () => n++);
      return n;
    }
  }
  const seen = new Set<string>();
  for (const plan of plans) forEachMatch(ctx, plan, (id) => seen.add(id));
  return seen.size;
}
