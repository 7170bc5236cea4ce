// Peak memory of a process and of the processes it started (Linux /proc): a sampler over a process
// tree (the root's VmRSS, and the sum of its descendants' PSS: the git children of a relay), and
// GNU time's "maximum resident set size" of one command (the largest process of its tree, exact,
// from wait4). Elsewhere both report 0 and say so.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const KB = 1024;

function rssOf(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * KB;
  } catch {
    return 0; // gone, or not Linux
  }
}

/** Proportional set size (shared pages split between the processes sharing them), bytes. */
function pssOf(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * KB;
  } catch {
    return 0; // gone, no smaps_rollup (Linux < 4.14), or not Linux
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text !== '') for (const c of text.split(' ')) out.push(Number(c));
    }
  } catch {
    // gone, or no /proc/<pid>/task/<tid>/children
  }
  return out;
}

/** Every descendant of `pid` alive now (children, their children, …). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const todo = childrenOf(pid);
  while (todo.length > 0) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...childrenOf(p));
  }
  return out;
}

export interface TreePeak {
  /** peak VmRSS of the root process, bytes */
  root: number;
  /**
   * peak of the sum of its descendants' PSS at one sample, bytes (PSS, not RSS: git processes share
   * their binary and libraries, which a sum of RSS would count once per process)
   */
  children: number;
  /** peak of root VmRSS + descendants' PSS at one sample, bytes */
  total: number;
  /** samples taken */
  samples: number;
}

/**
 * Samples VmRSS of `pid` and PSS of its descendants every `everyMs` until stop(). Short-lived children
 * (a git process of 30 ms) can fall between samples: the children's figure is a lower bound.
 */
export function treeSampler(pid: number, everyMs = 50): { stop(): TreePeak } {
  const peak: TreePeak = { root: 0, children: 0, total: 0, samples: 0 };
  const read = (): void => {
    const root = rssOf(pid);
    let children = 0;
    for (const c of descendants(pid)) children += pssOf(c);
    peak.root = Math.max(peak.root, root);
    peak.children = Math.max(peak.children, children);
    peak.total = Math.max(peak.total, root + children);
    peak.samples++;
  };
  read();
  const t = setInterval(read, everyMs);
  return {
    stop() {
      clearInterval(t);
      read();
      return { ...peak };
    },
  };
}

const TIME = '/usr/bin/time';

/** Whether GNU time is there to measure a command's peak RSS exactly. */
export function haveGnuTime(): boolean {
  return process.platform === 'linux' && existsSync(TIME);
}

/**
 * Run `cmd args` under GNU time; resolves with its peak RSS in bytes — the largest single process
 * of its tree that it waited for (the kernel's ru_maxrss of wait4) — or rejects when it fails.
 */
export function runMeasured(cmd: string, args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<{ maxRss: number }> {
  return new Promise((resolve, reject) => {
    // -f %M alone: GNU time's line is the last line of stderr
    const child = spawn(TIME, ['-f', '%M', cmd, ...args], { cwd: opts.cwd ?? process.cwd(), env: opts.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d.length < 8192 ? d : ''));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = err.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      else resolve({ maxRss: Number(/^\d+$/.test(last) ? last : 0) * KB });
    });
  });
}
