// Small statistics and formatting helpers shared by the benches: percentiles of latency samples,
// rounding, and a growable sample buffer that avoids per-sample allocation on hot paths.

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Round to `digits` decimals (default 2). */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Percentiles (nearest-rank) of the samples; all zero when empty. Values rounded to 3 decimals. */
export function percentiles(samples: ArrayLike<number>): Percentiles {
  const n = samples.length;
  if (n === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const s = Float64Array.from(samples).sort();
  const at = (q: number): number => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return { count: n, p50: round(at(0.5), 3), p90: round(at(0.9), 3), p99: round(at(0.99), 3), max: round(s[n - 1]!, 3), mean: round(sum / n, 3) };
}

/** Append-only Float64 buffer (latencies in ms). */
export class Samples {
  private buf: Float64Array;
  private n = 0;

  constructor(capacity = 1024) {
    this.buf = new Float64Array(Math.max(16, capacity));
  }

  push(x: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = x;
  }

  get length(): number {
    return this.n;
  }

  values(): Float64Array {
    return this.buf.subarray(0, this.n);
  }

  percentiles(): Percentiles {
    return percentiles(this.values());
  }
}

/** Ratio value/baseline rounded to 3 decimals; undefined when the baseline is not positive. */
export function ratio(value: number, baseline: number): number | undefined {
  return baseline > 0 ? round(value / baseline, 3) : undefined;
}
