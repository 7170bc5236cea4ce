// The side-by-side transport table of `npm run bench -- --transports uws,ws`: per-round ratios
// b ÷ a for rates, a ÷ b for memory and times (so above 1 always favours b), their median, and the
// goal marked only where it applies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchResult, BenchRow } from '../../bench/lib/output.js';
import { renderComparison, type TransportRun } from '../../bench/lib/compare.js';

function run(bench: string, transport: string, round: number, rows: Array<Pick<BenchRow, 'metric' | 'value' | 'unit'>>, actual = transport): TransportRun {
  const res: BenchResult = { bench, command: `${bench}.js`, startedAt: '', seconds: 1, params: {}, rows: rows.map((r) => ({ ...r })), extra: {} };
  return { bench, transport, round, actual, results: [res] };
}

const lineOf = (table: string, metric: string): string => table.split('\n').find((l) => l.includes(`| ${metric} |`)) ?? assert.fail(`no line for ${metric}:\n${table}`);

test('ratios per round, their median, inverse for MB and ms rows, goal only where asked', () => {
  const runs = [
    run('query', 'uws', 1, [
      { metric: 'REQ kind', value: 1000, unit: 'REQ/s' },
      { metric: 'RSS', value: 100, unit: 'MB' },
      { metric: 'only uws', value: 1, unit: 'x' },
    ]),
    run('query', 'ws', 1, [
      { metric: 'REQ kind', value: 900, unit: 'REQ/s' },
      { metric: 'RSS', value: 125, unit: 'MB' },
    ]),
    run('query', 'ws', 2, [
      { metric: 'REQ kind', value: 500, unit: 'REQ/s' },
      { metric: 'RSS', value: 100, unit: 'MB' },
    ]),
    run('query', 'uws', 2, [
      { metric: 'REQ kind', value: 1000, unit: 'REQ/s' },
      { metric: 'RSS', value: 100, unit: 'MB' },
    ]),
    run('query', 'ws', 3, [{ metric: 'REQ kind', value: 800, unit: 'REQ/s' }, { metric: 'RSS', value: 100, unit: 'MB' }]),
    run('query', 'uws', 3, [{ metric: 'REQ kind', value: 1000, unit: 'REQ/s' }, { metric: 'RSS', value: 100, unit: 'MB' }]),
    run('fanout', 'uws', 1, [{ metric: 'fan-out: publish→delivery', value: 2, unit: 'ms p50' }]),
    run('fanout', 'ws', 1, [{ metric: 'fan-out: publish→delivery', value: 4, unit: 'ms p50' }]),
  ];
  const table = renderComparison(runs, 'uws', 'ws', (bench, metric) => (bench === 'query' && metric.startsWith('REQ') ? 0.8 : undefined));
  // rates: ws/uws per round 0.9, 0.5, 0.8 → median 0.8, goal met
  assert.match(lineOf(table, 'REQ kind'), /\| 1,000 \| 800 \| REQ\/s \| \*\*0\.80\*\* ✓ \| 0\.90, 0\.50, 0\.80 \| ≥ 0\.8 \|/);
  // memory: uws/ws → 0.8, 1, 1 → median 1
  assert.match(lineOf(table, 'RSS'), /\*\*1\.00\*\* \| 0\.80, 1\.00, 1\.00 \| {2}\|$/);
  // latency: 2 ms vs 4 ms → 0.5 (ws worse), no goal
  assert.match(lineOf(table, 'fan-out: publish→delivery'), /\*\*0\.50\*\* \| 0\.50 \| {2}\|$/);
  // a metric only one transport reported is left out
  assert.ok(!table.includes('only uws'));
  assert.match(table, /ws ÷ uws/);
});

test('the header says what auto resolved to when it differs from the name asked for', () => {
  const runs = [run('query', 'uws', 1, [{ metric: 'REQ', value: 10, unit: 'REQ/s' }]), run('query', 'auto', 1, [{ metric: 'REQ', value: 5, unit: 'REQ/s' }], 'ws')];
  const table = renderComparison(runs, 'uws', 'auto', () => 0.8);
  assert.match(table, /auto \(ran ws\) ÷ uws/);
  assert.match(lineOf(table, 'REQ'), /\*\*0\.50\*\* ✗/);
});
