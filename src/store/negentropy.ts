// NIP-77 item sets: (created_at, id) pairs of a filter copied from index keys straight into typed
// arrays, ascending by (created_at, id), or 'too-many' past `max`. Read-only and synchronous: no
// iterator survives the call, no per-item JS objects.
import type { Filter, NostrEvent } from '../nostr/event.js';
import { matchFilter } from '../nostr/filter.js';
import type { NegentropyItems } from './types.js';
import { ID_LEN, TS_LEN } from './keys.js';
import { planFilter } from './planner.js';
import { walkForward } from './cursor.js';
import type { ReadContext } from './query.js';

/** Growable (timestamp, id) columns. */
class Columns {
  count = 0;
  ts: Float64Array;
  ids: Uint8Array;

  constructor(capacity: number) {
    this.ts = new Float64Array(capacity);
    this.ids = new Uint8Array(capacity * ID_LEN);
  }

  push(ts: number, src: Uint8Array, off: number): void {
    if (this.count === this.ts.length) this.grow();
    this.ts[this.count] = ts;
    const ids = this.ids;
    const o = this.count * ID_LEN;
    for (let k = 0; k < ID_LEN; k++) ids[o + k] = src[off + k]!;
    this.count++;
  }

  private grow(): void {
    const cap = Math.max(16, this.ts.length * 2);
    const ts = new Float64Array(cap);
    ts.set(this.ts);
    const ids = new Uint8Array(cap * ID_LEN);
    ids.set(this.ids);
    this.ts = ts;
    this.ids = ids;
  }

  result(): NegentropyItems {
    return { count: this.count, timestamps: this.ts.subarray(0, this.count), ids: this.ids.subarray(0, this.count * ID_LEN) };
  }
}

function cmpItem(ts: Float64Array, ids: Uint8Array, i: number, j: number): number {
  const d = ts[i]! - ts[j]!;
  if (d !== 0) return d;
  const a = i * ID_LEN;
  const b = j * ID_LEN;
  for (let k = 0; k < ID_LEN; k++) {
    const x = ids[a + k]! - ids[b + k]!;
    if (x !== 0) return x;
  }
  return 0;
}

/** Merge sorted runs [starts[r], starts[r+1]) into one ascending run in one pass (binary heap
 *  of run heads), dropping duplicates (one event under several tag values). */
function mergeRuns(c: Columns, starts: number[]): Columns {
  const pos: number[] = [];
  const end: number[] = [];
  for (let r = 0; r + 1 < starts.length; r++) {
    if (starts[r]! < starts[r + 1]!) {
      pos.push(starts[r]!);
      end.push(starts[r + 1]!);
    }
  }
  const heap = pos.map((_, r) => r);
  const { ts, ids } = c;
  // a before b: created_at first (Float64 compare), id bytes only on equal seconds
  const less = (a: number, b: number): boolean => {
    const pa = pos[a]!;
    const pb = pos[b]!;
    const d = ts[pa]! - ts[pb]!;
    return d !== 0 ? d < 0 : cmpItem(ts, ids, pa, pb) < 0;
  };
  const down = (i: number): void => {
    const n = heap.length;
    const x = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const m = l + 1 < n && less(heap[l + 1]!, heap[l]!) ? l + 1 : l;
      if (!less(heap[m]!, x)) break;
      heap[i] = heap[m]!;
      i = m;
    }
    heap[i] = x;
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  const out = new Columns(c.count);
  let lastTake = -1;
  while (heap.length > 0) {
    const r = heap[0]!;
    // take the whole stretch of run r that stays ahead of the second-best run's head
    let take = pos[r]!;
    const stop = end[r]!;
    const second = heap.length > 1 ? (heap.length > 2 && less(heap[2]!, heap[1]!) ? heap[2]! : heap[1]!) : -1;
    do {
      if (lastTake < 0 || ts[lastTake] !== ts[take] || cmpItem(ts, ids, lastTake, take) !== 0) {
        out.push(ts[take]!, ids, take * ID_LEN);
      }
      lastTake = take;
      take++;
      pos[r] = take;
    } while (take < stop && (second < 0 || less(r, second)));
    if (take >= stop) {
      const last = heap.pop()!;
      if (heap.length === 0) break;
      heap[0] = last;
    }
    down(0);
  }
  return out;
}

export function negentropyFor(ctx: ReadContext, filter: Filter, max: number): NegentropyItems | 'too-many' {
  const { limit: _ignored, ...rest } = filter;
  const plan = planFilter(ctx.dbs, rest, Number.MAX_SAFE_INTEGER);
  if (plan.type === 'empty') return new Columns(0).result();
  const { dbs, expired } = ctx;
  if (plan.type === 'ids') {
    const found: Array<{ ts: number; id: Buffer }> = [];
    for (const id of plan.ids) {
      const raw = dbs.events.get(id);
      if (raw === undefined || expired.has(id.toString('latin1'))) continue;
      const ev = JSON.parse(raw) as NostrEvent;
      if (matchFilter(rest, ev)) found.push({ ts: ev.created_at, id });
    }
    if (found.length > max) return 'too-many';
    found.sort((a, b) => a.ts - b.ts || a.id.compare(b.id));
    const c = new Columns(found.length);
    for (const f of found) c.push(f.ts, f.id, 0);
    return c.result();
  }
  let cols = new Columns(Math.min(max + 1, 4096));
  const starts: number[] = [];
  let tooMany = false;
  for (const prefix of plan.prefixes) {
    starts.push(cols.count);
    const runStart = cols.count;
    walkForward(plan.db, prefix, plan.since, plan.until, plan.valueCheck, (key, off) => {
      if (expired.size > 0 && expired.has(key.toString('latin1', off, off + ID_LEN))) return true;
      if (plan.postFilter) {
        const raw = dbs.events.get(key.subarray(off, off + ID_LEN));
        if (raw === undefined || !matchFilter(rest, JSON.parse(raw) as NostrEvent)) return true;
      }
      cols.push(key.readUInt32BE(off - TS_LEN) * 0x100000000 + key.readUInt32BE(off - 4), key, off);
      // overlapping prefixes are only decided after dedupe, but one prefix alone past max is final
      const n = plan.overlapping ? cols.count - runStart : cols.count;
      if (n > max) {
        tooMany = true;
        return false;
      }
      return true;
    });
    if (tooMany) return 'too-many';
  }
  starts.push(cols.count);
  if (plan.prefixes.length > 1) cols = mergeRuns(cols, starts);
  if (cols.count > max) return 'too-many';
  return cols.result();
}
