// Gives the main thread's young generation back once the relay is quiet. Under an allocation
// burst (ingest, fan-out, a big REQ) V8 grows the new space to its maximum (32 MB of semi-spaces
// on 64-bit) and shrinks it only in a GC that runs while allocation is low; an idle relay runs no
// GC, so the burst's high-water mark stayed resident for good (issue 13: most of the growth in
// anonymous memory after a load). Every few seconds, while the new space is above its floor, this
// runs one minor GC: under load V8 keeps the size (allocation is high, nothing changes but one
// scavenge), once quiet for about 5 s V8 shrinks it. The verifier's workers cap their young
// generation themselves (src/crypto/verify.ts).
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock, TimerHandle } from '../clock.js';

/** Below this the new space is left alone (V8 starts at 1 MB of semi-space, 2–3 MB in all). */
const FLOOR_BYTES = 4 * 1024 * 1024;

type GcFn = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;
let gcFn: GcFn | null | undefined;

/** V8's gc(), without --expose-gc on the command line (which the verifier's workers would inherit). */
function gc(): GcFn | null {
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const f = runInNewContext('gc') as unknown;
      gcFn = typeof f === 'function' ? (f as GcFn) : null;
    } catch {
      gcFn = null;
    }
  }
  return gcFn;
}

/** Bytes V8 has committed to the main thread's new space. */
export function newSpaceBytes(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

export interface HeapTrim {
  /** minor GCs run so far */
  readonly runs: number;
  stop(): void;
}

export function startHeapTrim(clock: Clock, intervalMs = 5000): HeapTrim {
  let timer: TimerHandle | undefined;
  let runs = 0;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    if (newSpaceBytes() > FLOOR_BYTES) {
      const f = gc();
      if (f !== null) {
        f({ type: 'minor' });
        runs++;
      }
    }
    timer = clock.setTimeout(tick, intervalMs);
  };
  timer = clock.setTimeout(tick, intervalMs);
  return {
    get runs() {
      return runs;
    },
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
