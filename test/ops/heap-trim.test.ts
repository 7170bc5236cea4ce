// The heap trim gives back the young generation a burst grew once allocation is quiet, only on
// its own ticks (the injected clock), and stops cleanly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newSpaceBytes, startHeapTrim } from '../../src/ops/heap-trim.js';
import { ManualClock } from '../sync/clock.js';
import { waitFor } from '../helpers/wait.js';

/** Allocation that survives a little: V8 grows the new space to its maximum. */
function burst(): void {
  let keep: Array<{ a: number; b: string }> = [];
  for (let i = 0; i < 1_500_000; i++) {
    keep.push({ a: i, b: `x${i}` });
    if (keep.length > 20_000) keep = [];
  }
}

test('after a burst, the new space shrinks back on the trim ticks, and not without them', { timeout: 120_000 }, async () => {
  const clock = new ManualClock();
  const trim = startHeapTrim(clock, 1000);
  try {
    burst();
    const grown = newSpaceBytes();
    assert.ok(grown > 8 * 1024 * 1024, `the burst grew the new space (${grown} bytes)`);
    // without ticks nothing runs
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(trim.runs, 0);
    // V8 shrinks once its allocation rate over the last ~5 s is low: tick while real time passes
    let last = Date.now();
    await waitFor(
      () => {
        if (Date.now() - last >= 500) {
          last = Date.now();
          clock.advance(1000);
        }
        return newSpaceBytes() <= 4 * 1024 * 1024;
      },
      60_000,
      'the new space to shrink',
    );
    assert.ok(trim.runs >= 1, `ran ${trim.runs} GCs`);
    const runs = trim.runs;
    // at its floor the trim does nothing
    clock.advance(5000);
    assert.equal(trim.runs, runs);
  } finally {
    trim.stop();
  }
  assert.deepEqual(clock.pending(), [], 'stop() leaves no timer');
});
