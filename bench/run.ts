// `npm run bench`: runs the ingest, query, fan-out and memory benches (then negentropy, store, sync, git and git-sync when
// their compiled files exist), each in a child process for a clean heap, collects their JSON and
// prints one markdown table of figures, same-run baselines and ratios, with the command.
// `--transports uws,ws [--rounds N]` runs each bench once per transport per round, back to back,
// and adds a table of the second transport's figures ÷ the first's (bench/lib/compare.ts).
// Benches that are long or about failure rather than speed run only when named in --only:
// `reliability` (slow readers, flood, kill -9; bench/reliability.ts).
// Run: npm run bench [-- --quick] [-- --only ingest,query] [-- --out results.json]
//        [-- --transports uws,ws --rounds 3] [other bench flags]
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from './lib/args.js';
import { renderComparison, type TransportRun } from './lib/compare.js';
import { isBenchResult, parseResults, progress, type BenchResult, type BenchRow } from './lib/output.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const OWN = ['ingest', 'query', 'fanout', 'memory'];
const OTHERS = ['negentropy', 'nip77-relay', 'store', 'sync', 'git', 'git-sync'];
/** only when named in --only */
const ON_REQUEST = ['reliability'];

export interface BenchRun {
  bench: string;
  ok: boolean;
  seconds: number;
  /** the JSON objects it printed (BenchResult for ours) */
  results: unknown[];
  error?: string;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Benches still running when run.ts is interrupted (their process groups are stopped too). */
const running = new Set<number>();

function runOne(name: string, argv: readonly string[], timeoutMs: number): Promise<BenchRun> {
  const file = join(HERE, `${name}.js`);
  const t0 = Date.now();
  return new Promise((resolve) => {
    // its own process group, so a timeout also stops the processes the bench started
    const child = spawn(process.execPath, [file, ...argv], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    if (child.pid !== undefined) running.add(child.pid);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    const timer = setTimeout(() => {
      progress(`${name}: timed out after ${Math.round(timeoutMs / 1000)} s, stopping it`);
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5000).unref();
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
      let results: unknown[] = [];
      try {
        results = parseResults(out);
      } catch {
        // left empty: reported below
      }
      const seconds = Math.round((Date.now() - t0) / 100) / 10;
      const ok = code === 0 && results.length > 0;
      resolve({
        bench: name,
        ok,
        seconds,
        results,
        ...(ok ? {} : { error: `exit ${code ?? signal}${results.length === 0 ? ', no JSON on stdout' : ''}` }),
      });
    });
  });
}

const fmt = (x: number | undefined): string => {
  if (x === undefined || !Number.isFinite(x)) return '';
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  return String(Math.round(x * 1000) / 1000);
};
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function rowLine(bench: string, r: BenchRow): string {
  const lower = r.lowerIsBetter === true || /lower is better/i.test(r.note ?? '');
  const goal = r.goal !== undefined ? `${lower ? '≤' : '≥'} ${r.goal}` : '';
  const met = r.ratio !== undefined && r.goal !== undefined ? ((lower ? r.ratio <= r.goal : r.ratio >= r.goal) ? ' ✓' : ' ✗') : '';
  const baseline = r.baseline !== undefined ? `${fmt(r.baseline)} (${r.baselineName ?? 'baseline'})` : '';
  return `| ${bench} | ${cell(r.metric)} | ${fmt(r.value)} ${r.unit} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${cell(baseline)} | ${r.ratio !== undefined ? `**${fmt(r.ratio)}**${met}` : ''} | ${goal} | ${cell(r.note ?? '')} |`;
}

/** Numeric leaves of `x` whose path mentions a ratio, as [path, value]. */
function ratioLeaves(x: unknown, path: string, out: Array<[string, number]>): void {
  if (typeof x === 'number' && /ratio/i.test(path)) out.push([path, x]);
  else if (typeof x === 'object' && x !== null && !Array.isArray(x)) {
    for (const [k, v] of Object.entries(x)) ratioLeaves(v, path ? `${path}.${k}` : k, out);
  }
}

/**
 * Rows of a JSON object from someone else's bench: its `rows` if they look like ours, else one
 * row per ratio it reports, else one line of its JSON.
 */
function foreignRows(bench: string, x: unknown): string[] {
  if (typeof x === 'object' && x !== null && Array.isArray((x as { rows?: unknown }).rows)) {
    const rows = (x as { rows: unknown[] }).rows.filter(
      (r): r is BenchRow => typeof r === 'object' && r !== null && typeof (r as BenchRow).metric === 'string' && typeof (r as BenchRow).value === 'number',
    );
    if (rows.length > 0) return rows.map((r) => rowLine(bench, { ...r, unit: typeof r.unit === 'string' ? r.unit : '' }));
  }
  const leaves: Array<[string, number]> = [];
  ratioLeaves(x, '', leaves);
  if (leaves.length > 0) return leaves.map(([path, v]) => `| ${bench} | ${cell(path)} | | | | | **${fmt(v)}** | | see the bench's JSON for the figures |`);
  const text = JSON.stringify(x);
  return [`| ${bench} | ${cell(text.length > 300 ? text.slice(0, 297) + '…' : text)} | | | | | | | |`];
}

export function renderTable(runs: readonly BenchRun[], command: string): string {
  const lines: string[] = [];
  const cpu = cpus();
  lines.push(`Command: \`${command}\``);
  lines.push('');
  lines.push(`Machine: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.versions.node}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Ratios compare figures measured in the same run.`);
  lines.push('');
  lines.push('| bench | metric | value | p50 ms | p99 ms | baseline (same run) | ratio | goal | note |');
  lines.push('|---|---|---:|---:|---:|---|---:|---|---|');
  for (const run of runs) {
    if (!run.ok && run.results.length === 0) {
      lines.push(`| ${run.bench} | FAILED: ${cell(run.error ?? 'unknown')} | | | | | | | |`);
      continue;
    }
    for (const res of run.results) {
      if (isBenchResult(res)) for (const r of res.rows) lines.push(rowLine(run.bench, r));
      else lines.push(...foreignRows(run.bench, res));
    }
    if (!run.ok) lines.push(`| ${run.bench} | FAILED: ${cell(run.error ?? 'unknown')} | | | | | | | |`);
  }
  lines.push('');
  lines.push(`Per-bench commands: ${runs.map((r) => r.results.filter(isBenchResult).map((x: BenchResult) => `\`${x.command}\` (${x.seconds} s)`).join(', ') || `${r.bench} (${r.seconds} s)`).join('; ')}`);
  return lines.join('\n');
}

/** The transport a bench's relay reported running (query/ingest: extra.relay, fanout: extra.many). */
function ranTransport(results: readonly unknown[]): string | undefined {
  for (const res of results) {
    if (!isBenchResult(res)) continue;
    const x = res.extra as { relay?: { transport?: unknown }; many?: { transport?: unknown } };
    const t = x.relay?.transport ?? x.many?.transport;
    if (typeof t === 'string') return t;
  }
  return undefined;
}

/** The goal for ws ÷ uws: REQ and fan-out rates at least 0.8 of uWS (latency rows are shown, not judged). */
function transportGoal(bench: string, metric: string): number | undefined {
  if (bench === 'query' && metric.startsWith('REQ ')) return 0.8;
  if (bench === 'fanout' && metric.startsWith('fan-out:') && !metric.includes('→')) return 0.8;
  return undefined;
}

async function main(): Promise<void> {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const pid of running) killGroup(pid, 'SIGTERM');
      process.exit(130);
    });
  }
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  const only = args.str('only', '');
  const out = args.str('out', '');
  // per bench unless --timeout-min says otherwise: git generates, pushes and clones ~400 MB of
  // packs (about 20 min on a loaded 2-core machine); git-sync generates, pushes and mirrors 200
  // repositories three times (about 20 min there too)
  const timeoutMinOf = (b: string): number => args.num('timeout-min', b === 'git' || b === 'git-sync' ? 60 : 20);
  const transports = args.str('transports', '').split(',').filter((t) => t !== '');
  const rounds = args.num('rounds', 1);
  if (transports.length !== 0 && transports.length !== 2) throw new Error('--transports expects two transports, e.g. uws,ws');
  // flags for run.ts itself are not passed on
  const own = new Set(['--only', '--out', '--timeout-min', '--transports', '--rounds']);
  const passOn: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (own.has(argv[i]!)) i++;
    else passOn.push(argv[i]!);
  }
  const wanted = only ? only.split(',') : [...OWN, ...OTHERS];
  const benches = wanted.filter((b) => existsSync(join(HERE, `${b}.js`)));
  for (const b of wanted) if (!benches.includes(b) && (OWN.includes(b) || ON_REQUEST.includes(b))) progress(`${b}: dist/bench/${b}.js not found (build first)`);

  const runs: BenchRun[] = [];
  const byTransport: TransportRun[] = [];
  for (const b of benches) {
    const timeoutMs = timeoutMinOf(b) * 60_000;
    if (transports.length === 0) {
      progress(`=== ${b} ${passOn.join(' ')}`);
      const r = await runOne(b, passOn, timeoutMs);
      progress(`=== ${b}: ${r.ok ? 'done' : `FAILED (${r.error})`} in ${r.seconds} s`);
      runs.push(r);
      continue;
    }
    for (let round = 1; round <= rounds; round++) {
      // alternate the order so a machine getting busier or quieter does not favour one transport
      const order = round % 2 === 1 ? transports : [...transports].reverse();
      for (const t of order) {
        const argvT = [...passOn, '--transport', t];
        progress(`=== ${b} [${t}, round ${round}/${rounds}] ${argvT.join(' ')}`);
        const r = await runOne(b, argvT, timeoutMs);
        progress(`=== ${b} [${t}]: ${r.ok ? 'done' : `FAILED (${r.error})`} in ${r.seconds} s`);
        runs.push({ ...r, bench: `${b} [${t}]` });
        byTransport.push({ bench: b, transport: t, round, actual: ranTransport(r.results), results: r.results });
      }
    }
  }
  const viaNpm = process.env.npm_lifecycle_event === 'bench';
  const command = viaNpm ? `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}` : `node dist/bench/run.js ${argv.join(' ')}`.trim();
  let table = renderTable(runs, command);
  if (transports.length === 2) table += '\n\n' + renderComparison(byTransport, transports[0]!, transports[1]!, transportGoal);
  process.stdout.write(table + '\n');
  if (out) writeFileSync(out, JSON.stringify({ command, runs }, null, 2) + '\n');
  process.exitCode = runs.every((r) => r.ok) ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
