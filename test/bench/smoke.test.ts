// Smoke test of the benches (bench/ingest, query, fanout, memory, git, git-sync, reliability's flood,
// run): each runs as a child process at tiny sizes and must print one JSON result with the expected
// rows and same-run ratios, so the benches cannot rot between `npm run bench` runs. Figures are not
// checked, only their shape (and, for the flood, that the per-IP limits held).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from '../../bench/lib/output.js';
import { renderTable } from '../../bench/run.js';
import { skipWithoutUws } from '../helpers/relay.js';

function runBench(name: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = fileURLToPath(new URL(`../../bench/${name}.js`, import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GRASP_BENCH_CACHE: 'off' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function result(name: string, args: string[]): Promise<BenchResult> {
  const r = await runBench(name, args);
  assert.equal(r.code, 0, `${name} exited ${r.code}\n${r.stderr.slice(-2000)}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `${name}: stdout must be exactly one JSON line, got:\n${r.stdout.slice(0, 500)}`);
  const res = JSON.parse(lines[0]!) as BenchResult;
  assert.equal(res.bench, name);
  assert.ok(res.command.includes(`${name}.js`));
  assert.ok(res.rows.length > 0);
  for (const row of res.rows) {
    assert.equal(typeof row.metric, 'string');
    assert.ok(Number.isFinite(row.value), `${row.metric}: value ${row.value}`);
    assert.equal(typeof row.unit, 'string');
    if (row.baseline !== undefined) {
      assert.ok(row.baseline > 0, `${row.metric}: baseline ${row.baseline}`);
      assert.ok(row.ratio !== undefined && Number.isFinite(row.ratio) && row.ratio > 0, `${row.metric}: ratio ${row.ratio}`);
    }
  }
  return res;
}

const row = (res: BenchResult, prefix: string) => {
  const r = res.rows.find((x) => x.metric.startsWith(prefix));
  assert.ok(r, `${res.bench}: no row "${prefix}…" in ${res.rows.map((x) => x.metric).join(' / ')}`);
  return r;
};

const results: BenchResult[] = [];

test('ingest bench: throughput vs verify-only, 1×1, RSS, grasp vs open', { timeout: 180_000 }, async () => {
  const res = await result('ingest', ['--events', '300', '--serial', '60', '--nip34-events', '200', '--nip34-repos', '5']);
  const par = row(res, 'ingest notes 4×50');
  assert.equal(par.unit, 'events/s');
  assert.equal(par.goal, 0.8);
  assert.ok(par.p50Ms !== undefined && par.p99Ms !== undefined);
  row(res, 'ingest notes 1×1');
  assert.ok(row(res, 'relay RSS').value > 0);
  const g = row(res, 'ingest NIP-34');
  assert.equal(g.goal, 0.9);
  results.push(res);
});

test('query bench: REQ/s and EOSE latency per filter shape vs raw LMDB walk', { timeout: 180_000 }, async () => {
  const res = await result('query', ['--events', '300', '--seconds', '0.1', '--limits', '100']);
  for (const t of ['author', 'kind', 'tag', 'mixed']) {
    const seq = row(res, `REQ ${t} limit 100, 1 conn sequential`);
    assert.equal(seq.unit, 'REQ/s');
    assert.ok(seq.p50Ms !== undefined && seq.p99Ms !== undefined);
    row(res, `REQ ${t} limit 100, 1 conn 8 in flight`);
  }
  assert.ok(row(res, 'relay RSS after loading').value > 0);
  results.push(res);
});

test('fanout bench: live delivery vs 1 subscription and index vs naive loop', { timeout: 180_000 }, async () => {
  const res = await result('fanout', ['--events', '300', '--subs', '100', '--connections', '5', '--latency-events', '20', '--naive-ms', '100', '--limit-subs', '60', '--rounds', '1', '--limit-events', '100']);
  for (const t of (['uws', 'ws'] as const).filter((x) => !skipWithoutUws(x))) {
    const lim = row(res, `fan-out ${t}: 60 subs, 100 events vs raw send loop`);
    assert.equal(lim.unit, 'deliveries/s');
    assert.ok(lim.value > 0 && (lim.baseline ?? 0) > 0 && lim.ratio !== undefined, JSON.stringify(lim));
    assert.ok(lim.p50Ms !== undefined && lim.p99Ms !== undefined);
    assert.doesNotMatch(lim.note ?? '', /INCOMPLETE/);
  }
  row(res, 'fan-out: publish');
  const d = row(res, 'fan-out: deliveries');
  assert.match(d.note ?? '', /all delivered/);
  row(res, 'fan-out: publish→delivery');
  assert.match(row(res, 'live index').note ?? '', /same matches/);
  results.push(res);
});

test('memory bench: anonymous / file-backed split idle, after a load, per worker and per NIP-77 session', { timeout: 120_000 }, async () => {
  const res = await result('memory', ['--quick', '--events', '300', '--sessions', '2']);
  const idle = row(res, 'memory: anonymous idle after start');
  const after = row(res, 'memory: anonymous after');
  row(res, 'memory: anonymous per verifier worker');
  row(res, 'memory: anonymous per open NIP-77 session');
  if (process.platform === 'linux') {
    assert.ok(idle.value > 5 && after.value > 5, `${idle.value} / ${after.value}`);
    assert.match(after.note ?? '', /file \d/);
  }
  results.push(res);
});

test('git bench: clone and fetch relay vs http-backend, concurrent clones, RSS, authorize', { timeout: 180_000 }, async () => {
  const res = await result('git', [
    '--commits', '30', '--fetch-commits', '5', '--reps', '1', '--concurrency', '2', '--large-factor', '0',
    '--auth-refs', '100', '--auth-iterations', '5',
  ]);
  const clone = row(res, 'git clone --bare');
  assert.equal(clone.goal, 0.9);
  assert.match(clone.note ?? '', /ABAB/);
  assert.match(clone.baselineName ?? '', /http-backend/);
  assert.equal(row(res, 'git fetch of the last 5 commits').goal, 0.9);
  const many = row(res, '2 concurrent clones');
  assert.ok(many.p99Ms !== undefined && many.p99Ms > 0);
  assert.match(many.note ?? '', /maxRequestsPerIp/);
  assert.ok(row(res, 'relay RSS peak, 1 clone').value > 0);
  row(res, 'relay RSS peak, 2 concurrent');
  assert.ok(row(res, 'authorize(): push of 100').p99Ms !== undefined);
  results.push(res);
});

test('reliability bench, flood: the per-IP EVENT rate and connection limits hold under a flood', { timeout: 180_000 }, async () => {
  const res = await result('reliability', ['--quick', '--scenarios', 'flood', '--flood-seconds', '1', '--flood-clients', '2', '--transport', 'ws']);
  const accepted = row(res, 'flood: EVENTs accepted from one address');
  assert.ok(accepted.ratio !== undefined && accepted.ratio <= 1, `accepted ${accepted.value} > ${accepted.baseline}`);
  assert.match(accepted.note ?? '', /rate-limited/);
  assert.equal(row(res, 'flood: connections admitted from one address').value, 64);
  for (const r of res.rows.filter((x) => x.metric.endsWith('other client REQ p99'))) assert.equal(r.baselineName, 'idle relay REQ p99');
  assert.equal(res.rows.filter((x) => x.metric.endsWith('other client REQ p99')).length, 2);
  results.push(res);
});

test('git-sync bench: Y mirrors X by git sync vs git clone --mirror, RSS, the no-op sweep', { timeout: 300_000 }, async () => {
  const res = await result('git-sync', ['--repos', '3', '--commits', '2', '--files', '4', '--sweeps', '1', '--rss-sample', '1', '--timeout', '180', '--stall-seconds', '30']);
  const mirror = row(res, 'Y mirrors 3 repositories of X');
  assert.equal(mirror.goal, 1);
  assert.match(mirror.baselineName ?? '', /git clone --mirror/);
  // every repository aligned by git sync, or (a state that entered purgatory after its data landed)
  // by the one sweep the bench then runs
  assert.match(mirror.note ?? '', /all states released on Y; git ls-remote on Y: 3\/3 correct|3\/3 after one sweep \([\d.]+ ms, no fetch\)/);
  assert.ok(row(res, 'Y peak RSS while mirroring').value > 0);
  row(res, "Y's git children");
  const sweep = row(res, 'no-op sweep of 3 aligned repositories');
  assert.ok(sweep.value > 0 && sweep.baseline !== undefined, JSON.stringify(sweep));
  assert.match(sweep.note ?? '', /no fetch: fetch counters and objects imported unchanged/);
  results.push(res);
});

test('run.ts renders one markdown table with every row and the command', () => {
  assert.ok(results.length > 0, 'needs the bench results above');
  const table = renderTable(
    results.map((r) => ({ bench: r.bench, ok: true, seconds: r.seconds, results: [r] })),
    'npm run bench -- --quick',
  );
  assert.match(table, /Command: `npm run bench -- --quick`/);
  assert.match(table, /\| bench \| metric \| value \|/);
  const rows = results.reduce((a, r) => a + r.rows.length, 0);
  assert.equal(table.split('\n').filter((l) => /^\| (ingest|query|fanout|memory|git|git-sync|reliability) \|/.test(l)).length, rows);
});
