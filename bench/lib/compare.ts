// Side-by-side transports for `npm run bench -- --transports uws,ws`: each bench ran once per
// transport per round, back to back (the order alternating by round, so drift on a shared machine
// hits both); this renders every metric the benches share as B ÷ A per round and their median.
import { isBenchResult, type BenchRow } from './output.js';

export interface TransportRun {
  bench: string;
  transport: string;
  round: number;
  /** what the relay reported running (auto resolves to uws or ws) */
  actual?: string;
  results: unknown[];
}

/** Memory and time rows are better when smaller; everything else here is a rate. */
const lowerIsBetter = (r: BenchRow): boolean => r.lowerIsBetter === true || /^(MB|ms|s)\b/.test(r.unit);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r2 = (x: number): string => (Math.round(x * 100) / 100).toFixed(2);
const fmt = (x: number): string => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : String(Math.round(x * 100) / 100));

function rowsOf(run: TransportRun): Map<string, BenchRow> {
  const out = new Map<string, BenchRow>();
  for (const res of run.results) if (isBenchResult(res)) for (const r of res.rows) out.set(r.metric, r);
  return out;
}

/**
 * A markdown table, one line per metric both transports report: median values and the median of
 * the per-round speed ratios `b ÷ a` (rates: b/a; memory and times: a/b — above 1 means b is
 * better either way). `goal` marks the rows it applies to (`goalFor(bench, metric)`).
 */
export function renderComparison(runs: readonly TransportRun[], a: string, b: string, goalFor: (bench: string, metric: string) => number | undefined): string {
  const lines: string[] = [];
  const actual = (t: string): string => {
    const seen = [...new Set(runs.filter((r) => r.transport === t && r.actual !== undefined).map((r) => r.actual!))];
    return seen.length > 0 && seen.join('/') !== t ? `${t} (ran ${seen.join('/')})` : t;
  };
  lines.push(`Transports side by side: ${actual(b)} ÷ ${actual(a)}, each round runs both back to back (order alternating); ratio = median of the per-round ratios (for MB/ms rows the inverse, so > 1 always means ${b} is better).`);
  lines.push('');
  lines.push(`| bench | metric | ${a} (median) | ${b} (median) | unit | ${b} ÷ ${a} | per round | goal |`);
  lines.push('|---|---|---:|---:|---|---:|---|---|');
  const benches = [...new Set(runs.map((r) => r.bench))];
  for (const bench of benches) {
    const rounds = [...new Set(runs.filter((r) => r.bench === bench).map((r) => r.round))].sort((x, y) => x - y);
    const perRound = rounds.map((round) => {
      const ra = runs.find((r) => r.bench === bench && r.round === round && r.transport === a);
      const rb = runs.find((r) => r.bench === bench && r.round === round && r.transport === b);
      return { a: ra ? rowsOf(ra) : new Map<string, BenchRow>(), b: rb ? rowsOf(rb) : new Map<string, BenchRow>() };
    });
    const metrics: string[] = [];
    for (const pr of perRound) for (const m of pr.a.keys()) if (pr.b.has(m) && !metrics.includes(m)) metrics.push(m);
    for (const m of metrics) {
      const va: number[] = [];
      const vb: number[] = [];
      const ratios: number[] = [];
      let unit = '';
      for (const pr of perRound) {
        const x = pr.a.get(m);
        const y = pr.b.get(m);
        if (!x || !y || !(x.value > 0) || !(y.value > 0)) continue;
        unit = x.unit;
        va.push(x.value);
        vb.push(y.value);
        ratios.push(lowerIsBetter(x) ? x.value / y.value : y.value / x.value);
      }
      if (ratios.length === 0) continue;
      const ratio = median(ratios);
      const goal = goalFor(bench, m);
      const met = goal === undefined ? '' : ratio >= goal ? ' ✓' : ' ✗';
      lines.push(`| ${bench} | ${m} | ${fmt(median(va))} | ${fmt(median(vb))} | ${unit} | **${r2(ratio)}**${met} | ${ratios.map(r2).join(', ')} | ${goal !== undefined ? `≥ ${goal}` : ''} |`);
    }
  }
  return lines.join('\n');
}
