// Test fetchers for the git sync engine: a loopback fetcher that serves remote URLs from local
// work trees (git over a local path into the engine's scratch repository, then land), records
// every call with the injected clock's time, and can hold fetches open until the test lets go.
import type { Clock } from '../../../src/clock.js';
import type { Repos } from '../../../src/git/repos.js';
import type { FetchJob, FetchResult, RemoteFetcher } from '../../../src/git/sync/types.js';
import type { Oid } from '../../../src/git/types.js';
import { git } from '../helpers.js';

export interface FetchCall {
  url: string;
  want: Oid[];
  at: number;
  repo: string;
}

export class LoopbackFetcher implements RemoteFetcher {
  readonly calls: FetchCall[] = [];
  /** fetches in progress, by URL */
  readonly active = new Set<string>();
  /** most fetches seen in progress at once */
  maxActive = 0;
  /** URL → local work tree serving it (URLs not here answer not-found) */
  readonly sources = new Map<string, string>();
  /** hold each fetch until release() (or the job's signal) */
  hold = false;
  repos: Repos | undefined;
  private readonly releases = new Map<string, () => void>();

  constructor(private readonly clock: Clock) {}

  /** Let the held fetch of `url` go on. */
  release(url: string): void {
    this.releases.get(url)?.();
  }

  async fetch(job: FetchJob, land: (scratchDir: string, present: Oid[]) => Promise<void>): Promise<FetchResult> {
    this.calls.push({ url: job.url, want: [...job.want], at: this.clock.now(), repo: `${job.repo.owner.slice(0, 8)}/${job.repo.d}` });
    this.active.add(job.url);
    this.maxActive = Math.max(this.maxActive, this.active.size);
    try {
      if (this.hold) {
        await new Promise<void>((resolve) => {
          this.releases.set(job.url, resolve);
          job.signal?.addEventListener('abort', () => resolve());
        });
        this.releases.delete(job.url);
      }
      const src = this.sources.get(job.url);
      if (src === undefined || job.signal?.aborted === true) {
        return { fetched: [], bytes: 0, durationMs: 1, error: { cls: 'not-found', message: 'repository not found' } };
      }
      const scratch = await this.repos!.scratchFor(job.repo);
      try {
        for (const oid of job.want) await git(['--git-dir', scratch.dir, '-c', 'protocol.file.allow=always', 'fetch', '-q', '--no-tags', src, oid]);
        const present: Oid[] = [];
        for (const oid of job.want) if ((await git(['--git-dir', scratch.dir, 'cat-file', '-e', oid])).code === 0) present.push(oid);
        if (present.length > 0) await land(scratch.dir, present);
        return {
          fetched: present,
          bytes: 0,
          durationMs: 1,
          ...(present.length < job.want.length ? { error: { cls: 'not-found' as const, message: 'not our ref' } } : {}),
        };
      } finally {
        await scratch.dispose();
      }
    } finally {
      this.active.delete(job.url);
    }
  }
}

/** A seeded PRNG in [0, 1) (mulberry32) for the sweep's jitter. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
