// The process's resident memory split the way an operator needs it: anonymous memory (the JS
// heaps of the main thread and the verifier's workers, native buffers, uWS/LMDB allocations —
// what the relay itself holds) and file-backed pages (mostly LMDB's memory map: the kernel
// keeps recently read pages of the data file resident and reclaims them under pressure).
// Linux only (/proc/self/smaps_rollup, else /proc/self/status); elsewhere only the total is known.
import { readFileSync } from 'node:fs';

export interface MemorySplit {
  /** resident set, bytes */
  rss: number;
  /** anonymous resident memory (heaps, buffers, thread stacks), bytes; undefined off Linux */
  anon?: number;
  /** file-backed resident pages (LMDB's map, the binaries), bytes; undefined off Linux */
  file?: number;
  /** the V8 heap of the main thread in use, bytes */
  heapUsed: number;
}

const kbField = (text: string, name: string): number | undefined => {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]) * 1024;
};

/** Read the split now (a few hundred µs: the kernel walks the mappings). */
export function memorySplit(): MemorySplit {
  const heapUsed = process.memoryUsage().heapUsed;
  try {
    // smaps_rollup: Rss and Anonymous over all mappings (Linux ≥ 4.14)
    const t = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const rss = kbField(t, 'Rss');
    const anon = kbField(t, 'Anonymous');
    if (rss !== undefined && anon !== undefined) return { rss, anon, file: rss - anon, heapUsed };
  } catch {
    // older kernels: /proc/self/status below
  }
  try {
    const t = readFileSync('/proc/self/status', 'utf8');
    const anon = kbField(t, 'RssAnon');
    const file = kbField(t, 'RssFile');
    const shmem = kbField(t, 'RssShmem') ?? 0;
    if (anon !== undefined && file !== undefined) return { rss: anon + file + shmem, anon, file: file + shmem, heapUsed };
  } catch {
    // not Linux
  }
  return { rss: process.memoryUsage.rss(), heapUsed };
}

/** Bytes → MB with one decimal. */
export const toMB = (bytes: number): number => Math.round(bytes / 104_857.6) / 10;
