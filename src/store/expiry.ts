// NIP-40 visibility: the set of stored ids whose expiration has passed but which are not purged
// yet, read from the expiration index and cached per second. Readers consult it so expired events
// are never served; deleting them is writer.ts's job (purgeExpired).
import type { Clock } from '../clock.js';
import type { IndexDb } from './dbs.js';
import { ID_LEN, TS_LEN, tsBytes } from './keys.js';

const NONE: ReadonlySet<string> = new Set();

export class ExpiredIds {
  private second = -1;
  private gen = -1;
  private writeGen = 0;
  private set: ReadonlySet<string> = NONE;

  constructor(
    private readonly expiry: IndexDb,
    private readonly clock: Clock,
  ) {}

  /** Seconds since the epoch according to the injected clock. */
  now(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** Called after each commit that touched the expiration index. */
  invalidate(): void {
    this.writeGen++;
  }

  /** Ids (as latin1 strings of their 32 bytes) that are expired now: expires_at ≤ now. */
  current(): ReadonlySet<string> {
    const now = this.now();
    if (now === this.second && this.gen === this.writeGen) return this.set;
    let s: Set<string> | undefined;
    for (const key of this.expiry.getKeys({ end: tsBytes(now + 1) })) {
      (s ??= new Set()).add(key.toString('latin1', TS_LEN, TS_LEN + ID_LEN));
    }
    this.set = s ?? NONE;
    this.second = now;
    this.gen = this.writeGen;
    return this.set;
  }
}
