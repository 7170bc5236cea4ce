// The git sync fetcher (git.md §3 "Fetching one URL"): one remote URL, some wanted object ids, one
// scratch repository. The URL and its host's addresses pass the guard first (no git process for a
// refused URL); git then fetches the ids by id into a scratch repo whose alternates name R's
// objects, pinned to the checked addresses, under a hardened `-c` list, killed at the fetch timeout
// or when the scratch outgrows the quota. `not our ref` drops that id and retries; a protocol-v0
// server that refuses fetch-by-id gets one fetch of its branches and tags into scratch-only refs.
// The ids now present go to `land` (the caller imports them into R and releases); the scratch is
// always deleted. Scheduling, backoff and health are the engine's (engine.ts, remotes.ts).
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { GitConfig } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { baseConfigArgs, gitEnv, runGit, spawnGit, type GitRuntime } from '../gitproc.js';
import { dirBytes, type Repos } from '../repos.js';
import { isOid, repoKey, type Oid } from '../types.js';
import { classifyGitFailure, oneLine } from './classify.js';
import { checkRemoteUrl, curlResolveEntry, resolveRemote, showUrl, type LookupFn } from './guard.js';
import type { FetchFailure, FetchJob, FetchResult, RemoteFetcher } from './types.js';

/** The `git` config keys the fetcher reads. */
export type FetcherGitConfig = Pick<
  GitConfig,
  'fsckObjects' | 'syncAllowHttp' | 'syncAllowPrivateAddresses' | 'syncFetchTimeoutSeconds' | 'syncLowSpeedBytesPerSecond' | 'syncLowSpeedSeconds'
>;

export interface FetcherDeps {
  repos: Pick<Repos, 'scratchFor' | 'runtime'>;
  git: FetcherGitConfig;
  log: Logger;
  /** git binary, HOME and hooks (default: repos.runtime) */
  runtime?: GitRuntime;
  /** name resolution for the guard (default: dns.promises.lookup, all addresses) */
  lookup?: LookupFn;
  /** how often the scratch's size is checked against the quota (default 2000 ms) */
  quotaPollMs?: number;
}

/** git processes one job may start for `not our ref` retries before it gives up. */
const MAX_ATTEMPTS = 32;

const NOT_OUR_REF_RE = /not our ref ([0-9a-f]{40})/;
/** protocol v0 without allow-*-sha1-in-want: git's client refuses before asking */
const NO_FETCH_BY_ID_RE = /does not allow request for unadvertised object|allow-(tip|reachable)-sha1-in-want/i;

/** The fallback refspecs: the remote's branches and tags into refs only the scratch has. */
const FALLBACK_REFSPECS = ['+refs/heads/*:refs/sync/heads/*', '+refs/tags/*:refs/sync/tags/*'];

/** The first line of an error message, printable and short. */
function firstLine(e: unknown): string {
  return oneLine((e instanceof Error ? e.message : String(e)).split(/\r?\n/)[0] ?? '');
}

interface Attempt {
  code: number | null;
  stderr: string;
  timedOut: boolean;
  overQuota: boolean;
}

export function createFetcher(deps: FetcherDeps): RemoteFetcher {
  const rt = deps.runtime ?? deps.repos.runtime;
  const cfg = deps.git;
  const log = deps.log;
  const pollMs = deps.quotaPollMs ?? 2000;

  /** The `-c` list of git.md §3 step 2, plus the pin of the checked addresses. */
  function configArgs(pin: string | undefined): string[] {
    const fsck = cfg.fsckObjects ? 'true' : 'false';
    const c = [
      'protocol.allow=never',
      'protocol.https.allow=always',
      `protocol.http.allow=${cfg.syncAllowHttp ? 'always' : 'never'}`,
      'protocol.version=2',
      `transfer.fsckObjects=${fsck}`,
      `fetch.fsckObjects=${fsck}`,
      `http.lowSpeedLimit=${cfg.syncLowSpeedBytesPerSecond}`,
      `http.lowSpeedTime=${cfg.syncLowSpeedSeconds}`,
      // redirects only on the initial request (git's default, stated): targets are not re-checked (git.md §3)
      'http.followRedirects=initial',
      'transfer.credentialsInUrl=die',
      // a fetched pack stays a pack (never exploded into loose objects): one file to measure and import
      'fetch.unpackLimit=1',
      'transfer.unpackLimit=1',
      'fetch.writeCommitGraph=false',
      'gc.auto=0',
      'maintenance.auto=false',
    ];
    if (pin !== undefined) c.push(`http.curloptResolve=${pin}`);
    return c.flatMap((kv) => ['-c', kv]);
  }

  async function attempt(
    scratch: string,
    pin: string | undefined,
    url: string,
    specs: string[],
    deadline: number,
    limitBytes: number,
    signal: AbortSignal | undefined,
  ): Promise<Attempt> {
    const args = [
      ...baseConfigArgs(rt),
      ...configArgs(pin),
      `--git-dir=${scratch}`,
      'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-gc', '--no-recurse-submodules', '--no-show-forced-updates',
      '--', url, ...specs,
    ];
    const timeoutMs = Math.max(1, Math.ceil(deadline - performance.now()));
    const p = spawnGit(rt, args, { cwd: scratch, env: gitEnv(rt), timeoutMs });
    p.child.stdin!.end();
    p.child.stdout!.resume();
    let overQuota = false;
    let polling = false;
    const timer = Number.isFinite(limitBytes)
      ? setInterval(() => {
          if (polling) return;
          polling = true;
          void dirBytes(join(scratch, 'objects')).then((b) => {
            polling = false;
            if (b > limitBytes && !overQuota) {
              overQuota = true;
              p.kill();
            }
          });
        }, pollMs)
      : undefined;
    timer?.unref();
    // the engine aborts running fetches when it closes: the process group goes with it
    const abort = (): void => p.kill();
    signal?.addEventListener('abort', abort, { once: true });
    if (signal?.aborted === true) p.kill();
    const r = await p.exited;
    signal?.removeEventListener('abort', abort);
    if (timer) clearInterval(timer);
    return { code: r.code, stderr: p.stderr(), timedOut: r.timedOut, overQuota };
  }

  /** Which of `want` the scratch holds now (one cat-file --batch-check). */
  async function presentIn(scratch: string, want: Oid[]): Promise<Oid[]> {
    const res = await runGit(rt, [`--git-dir=${scratch}`, 'cat-file', '--batch-check=%(objectname)'], { cwd: scratch, input: want.join('\n') + '\n' });
    if (res.code !== 0) throw new Error(`cat-file in scratch: ${oneLine(res.stderr)}`);
    const lines = res.stdout.toString('utf8').split('\n');
    return want.filter((o, i) => lines[i] === o);
  }

  async function fetch(job: FetchJob, land: (scratchDir: string, present: Oid[]) => Promise<void>): Promise<FetchResult> {
    const t0 = performance.now();
    const aborted = (): boolean => job.signal?.aborted === true;
    const done = (fetched: Oid[], bytes: number, error?: FetchFailure): FetchResult => ({
      fetched,
      bytes,
      durationMs: Math.round(performance.now() - t0),
      ...(error !== undefined ? { error } : {}),
    });
    const checked = checkRemoteUrl(job.url, { allowHttp: cfg.syncAllowHttp });
    if (!checked.ok) return done([], 0, checked.failure);
    const { url, hostname, port } = checked.value;
    const want = [...new Set(job.want)].filter(isOid);
    if (want.length === 0) return done([], 0);
    if (job.quotaBytes <= 0) return done([], 0, { cls: 'too-large', message: 'repository at its size limit' });
    const resolved = await resolveRemote(hostname, { allowPrivate: cfg.syncAllowPrivateAddresses, ...(deps.lookup ? { lookup: deps.lookup } : {}) });
    if (!resolved.ok) return done([], 0, resolved.failure);
    const pin = curlResolveEntry(hostname, port, resolved.value);

    let scratch: { dir: string; dispose: () => Promise<void> };
    try {
      scratch = await deps.repos.scratchFor(job.repo);
    } catch (e) {
      return done([], 0, { cls: 'git', message: `scratch repository: ${firstLine(e)}` });
    }
    const dir = scratch.dir;
    const objects = join(dir, 'objects');
    const ctx = { repo: repoKey(job.repo), url: showUrl(url) };
    let bytes = 0;
    try {
      const before = await dirBytes(objects);
      // the objects directory may reach this (its empty layout plus the remaining quota)
      const limit = before + job.quotaBytes;
      const tooLarge: FetchFailure = { cls: 'too-large', message: `fetch outgrew the repository's remaining quota (${job.quotaBytes} bytes)` };
      const deadline = t0 + cfg.syncFetchTimeoutSeconds * 1000;
      let remaining = want;
      let error: FetchFailure | undefined;
      let arrived = false;
      for (let n = 0; ; n++) {
        if (n >= MAX_ATTEMPTS) {
          error = { cls: 'not-found', message: `remote refused ${n} of the wanted ids; gave up` };
          break;
        }
        if (aborted()) {
          error = { cls: 'git', message: 'aborted: git sync is shutting down' };
          break;
        }
        const a = await attempt(dir, pin, url, remaining, deadline, limit, job.signal);
        if (aborted()) {
          error = { cls: 'git', message: 'aborted: git sync is shutting down' };
          break;
        }
        if (a.code === 0) {
          arrived = true;
          break;
        }
        if (a.overQuota) {
          error = tooLarge;
          break;
        }
        if (a.timedOut) {
          error = { cls: 'timeout', message: `fetch took longer than ${cfg.syncFetchTimeoutSeconds} s` };
          break;
        }
        const refused = NOT_OUR_REF_RE.exec(a.stderr)?.[1];
        if (refused !== undefined && remaining.includes(refused)) {
          remaining = remaining.filter((o) => o !== refused);
          log.debug({ ...ctx, oid: refused, left: remaining.length }, 'git sync: remote does not have an id, retrying without it');
          if (remaining.length === 0) {
            error = { cls: 'not-found', message: 'the remote holds none of the wanted objects' };
            break;
          }
          continue;
        }
        if (NO_FETCH_BY_ID_RE.test(a.stderr)) {
          log.debug(ctx, 'git sync: remote refuses fetch by id; fetching its branches and tags instead');
          const f = await attempt(dir, pin, url, FALLBACK_REFSPECS, deadline, limit, job.signal);
          if (f.code === 0) arrived = true;
          else if (f.overQuota) error = tooLarge;
          else if (f.timedOut) error = { cls: 'timeout', message: `fetch took longer than ${cfg.syncFetchTimeoutSeconds} s` };
          else error = classifyGitFailure(f.code, f.stderr, hostname);
          break;
        }
        error = classifyGitFailure(a.code, a.stderr, hostname);
        break;
      }
      bytes = Math.max(0, (await dirBytes(objects)) - before);
      // a fetch quicker than one poll can still end past the quota
      if (arrived && bytes > job.quotaBytes) {
        arrived = false;
        error = tooLarge;
      }
      const present = arrived && !aborted() ? await presentIn(dir, want) : [];
      if (arrived && present.length === 0 && error === undefined) error = { cls: 'not-found', message: 'the remote holds none of the wanted objects' };
      if (present.length > 0) {
        try {
          await land(dir, present);
        } catch (e) {
          // nothing of this fetch reached the repository: report it as not fetched
          log.warn({ ...ctx, err: (e as Error).message }, 'git sync: import of fetched objects failed');
          return done([], bytes, { cls: 'git', message: `import failed: ${firstLine(e)}` });
        }
      }
      log.debug({ ...ctx, want: want.length, fetched: present.length, bytes, error: error?.cls }, 'git sync: fetch done');
      return done(present, bytes, error);
    } catch (e) {
      return done([], bytes, { cls: 'git', message: firstLine(e) });
    } finally {
      await scratch.dispose().catch((e: Error) => log.warn({ ...ctx, dir, err: e.message }, 'git sync: scratch repository not removed'));
    }
  }

  return { fetch };
}
