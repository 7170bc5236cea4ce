// Write-failure handling of the LMDB store: turns a failed commit into a cause (lmdb-js reports
// every failed commit as "Commit failed" and carries the real error, e.g. EIO or ENOSPC, in a
// separate `commitError` promise that would otherwise reject unhandled), decides whether storage
// is full (no space left on the data directory's filesystem, or the LMDB map is full), and logs
// one clear line when storage becomes full and one when writes succeed again, and while the disk is
// full decides whether a write is worth attempting at all. No write logic.
import fs from 'node:fs';
import type { Logger } from '../log.js';

/** Below this much free space on the data directory's filesystem a failed commit means "full". */
const LOW_SPACE_BYTES = 16 * 1024 * 1024;
const ENOSPC = 28;
const EDQUOT = 122;
const EIO = 5;
const MDB_MAP_FULL = -30792;
/** While the disk is full, writes are attempted again once this much more space is free... */
const RESUME_GAIN_BYTES = 1024 * 1024;
/** ...or, whatever statfs says (quotas, other filesystems), one write every this many ms. */
const PROBE_EVERY_MS = 30_000;

export type WriteFailure = 'full' | 'error';

/** What lmdb-js attaches to a "Commit failed" error: a promise rejected with the real cause. */
function commitCause(err: unknown): Promise<unknown> {
  const p = (err as { commitError?: unknown } | null)?.commitError;
  if (p instanceof Promise) return p.then(() => err, (cause: unknown) => cause);
  return Promise.resolve(err);
}

/**
 * For writers that do not classify failures: mark lmdb-js's separate `commitError` promise of a
 * failed commit as handled (it would otherwise reject unhandled) and return the error unchanged.
 */
export function consumeCommitError<E>(err: E): E {
  void commitCause(err);
  return err;
}

/** Handle the promise a put/remove returns inside env.batch (the batch's own promise carries failures). */
export function ignoreRejection(p: Promise<unknown>): void {
  p.catch(() => {});
}

function codeOf(e: unknown): number | string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'number' || typeof c === 'string' ? c : undefined;
}

/** Free bytes for unprivileged writers on the filesystem holding `dir` (Infinity if unknown). */
export function freeBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Infinity;
  }
}

export class StorageHealth {
  /** storage is full: writes are refused with `error: storage full` until a commit succeeds */
  full = false;
  /** failed commits since start */
  failures = 0;
  /** the disk (not the LMDB map) was full: free bytes then, and when a write was last attempted */
  private diskFull: { free: number; attemptedAt: number } | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
    /** milliseconds, for the probe interval */
    private readonly now: () => number = Date.now,
    private readonly free: (dir: string) => number = freeBytes,
  ) {}

  /**
   * Whether a write should be refused without attempting it: the disk was full and has not gained
   * RESUME_GAIN_BYTES since, and no probe is due. Attempting anyway would let small writes trickle
   * into the last free pages (and fail again) instead of refusing consistently until space is back.
   */
  refuseWrites(): boolean {
    const d = this.diskFull;
    if (d === undefined) return false;
    const now = this.now();
    if (this.free(this.dataDir) >= d.free + RESUME_GAIN_BYTES || now - d.attemptedAt >= PROBE_EVERY_MS) {
      d.attemptedAt = now;
      return false;
    }
    return true;
  }

  /** A commit failed: find its cause, classify it, and log (once per episode when full). */
  async failed(err: unknown): Promise<WriteFailure> {
    this.failures++;
    const cause = await commitCause(err);
    const code = codeOf(cause);
    const free = this.free(this.dataDir);
    const full =
      code === ENOSPC ||
      code === 'ENOSPC' ||
      code === EDQUOT ||
      code === MDB_MAP_FULL ||
      /MDB_MAP_FULL|No space left/i.test(String((cause as Error | null)?.message)) ||
      ((code === EIO || code === undefined) && free < LOW_SPACE_BYTES);
    if (full) {
      this.diskFull = code === MDB_MAP_FULL ? undefined : { free, attemptedAt: this.now() };
      if (!this.full) {
        this.full = true;
        const why = code === MDB_MAP_FULL ? 'the LMDB map is full' : `no space left on its filesystem (${Math.floor(free / 1024)} KiB free)`;
        this.log.error(
          { dataDir: this.dataDir, cause: String((cause as Error | null)?.message ?? cause), code, freeBytes: free },
          `storage full: cannot write to the data directory ${this.dataDir}: ${why}. Free space on that filesystem, or raise store.mapSizeGiB if the map is full; until then new events are refused with "error: storage full", reads keep working, and writes resume by themselves`,
        );
      }
      return 'full';
    }
    this.log.error({ err: cause, dataDir: this.dataDir, code }, 'store commit failed');
    return 'error';
  }

  /** A commit succeeded. */
  succeeded(): void {
    if (!this.full) return;
    this.full = false;
    this.diskFull = undefined;
    this.log.info({ dataDir: this.dataDir }, 'storage writable again: writes resumed');
  }
}

let consoleFiltered = false;
/**
 * lmdb-js prints each failed commit's cause with console.error (a raw multi-line stack on stderr,
 * interleaved with the JSON log) before rejecting it; StorageHealth logs that cause itself, so
 * those prints are dropped. Only errors thrown from lmdb-js's write path are affected.
 */
export function quietLmdbCommitErrors(): void {
  if (consoleFiltered) return;
  consoleFiltered = true;
  const original = console.error.bind(console);
  console.error = (...args: unknown[]): void => {
    const a = args[0];
    if (args.length === 1 && a instanceof Error && /[\\/]lmdb[\\/]write\.js/.test(a.stack ?? '')) return;
    original(...args);
  };
}
