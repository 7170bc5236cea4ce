// The JSON every bench prints as its last stdout line, and how bench/run.ts reads it back: one
// BenchResult with rows of (metric, value, unit, baseline, ratio, goal). Progress goes to stderr.

import { pathToFileURL } from 'node:url';

export interface BenchRow {
  /** what was measured, e.g. "ingest 4×50 open" */
  metric: string;
  value: number;
  unit: string;
  /** latency detail for the row, in ms */
  p50Ms?: number;
  p99Ms?: number;
  /** the baseline measured in the same run, and its name */
  baseline?: number;
  baselineName?: string;
  /** value / baseline (or the inverse for "lower is better" metrics; see `note`) */
  ratio?: number;
  /** the goal for the ratio, e.g. 0.8 (met when ratio ≥ goal, or ≤ goal with lowerIsBetter) */
  goal?: number;
  /** the ratio is better when smaller (times, memory) */
  lowerIsBetter?: boolean;
  note?: string;
}

export interface BenchResult {
  bench: string;
  /** the command that produced it */
  command: string;
  startedAt: string;
  seconds: number;
  params: Record<string, number | string | boolean>;
  rows: BenchRow[];
  /** anything else the bench wants to keep (RSS, counts, backend names) */
  extra: Record<string, unknown>;
}

/** stdout carries only this one JSON line; everything else goes to stderr. */
export function emitResult(r: BenchResult): void {
  process.stdout.write(JSON.stringify(r) + '\n');
}

/**
 * The JSON objects in a bench's stdout: the whole of it if it is one JSON document, else each line
 * that is a JSON object, and a pretty-printed object running from a line to the end.
 */
export function parseResults(stdout: string): unknown[] {
  const whole = stdout.trim();
  if (whole.startsWith('{')) {
    try {
      return [JSON.parse(whole) as unknown];
    } catch {
      // several documents: by line below
    }
  }
  const out: unknown[] = [];
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (!t.startsWith('{')) continue;
    try {
      out.push(JSON.parse(t) as unknown);
    } catch {
      try {
        out.push(JSON.parse(lines.slice(i).join('\n')) as unknown);
        break;
      } catch {
        // not JSON: progress text
      }
    }
  }
  return out;
}

export function isBenchResult(x: unknown): x is BenchResult {
  return typeof x === 'object' && x !== null && Array.isArray((x as BenchResult).rows) && typeof (x as BenchResult).bench === 'string';
}

/** Progress line on stderr. */
export function progress(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/**
 * When the calling module is the program being run (not imported by bench/run.ts or a test),
 * run its main, print its result line, and exit 0 — or print the error and exit 1.
 */
export function runIfMain(moduleUrl: string, main: () => Promise<BenchResult>): void {
  const entry = process.argv[1];
  if (entry === undefined || moduleUrl !== pathToFileURL(entry).href) return;
  main().then(
    (r) => {
      emitResult(r);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
