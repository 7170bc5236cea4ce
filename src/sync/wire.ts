// Small concurrency helpers for peer connections (a counting semaphore, a one-shot deferred, a
// bounded parallel map), the relay message parser that keeps an EVENT's raw JSON text without
// re-serialising it, and the rate-limit wording of relay messages. No sockets, no state.

export class Semaphore {
  private queue: Array<() => void> = [];
  constructor(private available: number) {}
  setCapacity(delta: number): void {
    this.available += delta;
    this.pump();
  }
  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => this.queue.push(resolve));
  }
  release(): void {
    this.available++;
    this.pump();
  }
  private pump(): void {
    while (this.available > 0 && this.queue.length > 0) {
      this.available--;
      this.queue.shift()!();
    }
  }
}

/** Run `fn` over `list` with at most `n` at once; rejects with the first error (after all stop). */
export async function mapLimit<T>(list: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (i < list.length && firstError === undefined) {
      const x = list[i++]!;
      try {
        await fn(x);
      } catch (e) {
        firstError ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, list.length) }, worker));
  if (firstError !== undefined) throw firstError;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
  settled: boolean;
}

export function deferred<T>(): Deferred<T> {
  let res!: (v: T) => void;
  let rej!: (e: Error) => void;
  const d: Deferred<T> = {
    promise: new Promise<T>((a, b) => {
      res = a;
      rej = b;
    }),
    settled: false,
    resolve(v) {
      if (d.settled) return;
      d.settled = true;
      res(v);
    },
    reject(e) {
      if (d.settled) return;
      d.settled = true;
      rej(e);
    },
  };
  d.promise.catch(() => undefined);
  return d;
}

/** A parsed relay → client message; for EVENT, `raw` is the event's JSON text as received. */
export type RelayMessage =
  | { type: 'EVENT'; sub: string; event: unknown; raw: string }
  | { type: 'EOSE'; sub: string }
  | { type: 'CLOSED'; sub: string; message: string }
  | { type: 'NOTICE'; message: string }
  | { type: 'OK'; id: string; ok: boolean; message: string }
  | { type: 'AUTH'; challenge: string }
  | { type: 'NEG-MSG'; sub: string; message: string }
  | { type: 'NEG-ERR'; sub: string; message: string };

/**
 * Parse one message. Our subscription ids never contain `{`, so an EVENT's object starts at the
 * first `{` and ends at the last `}` of the frame. Returns undefined for anything malformed.
 */
export function parseRelayMessage(data: string): RelayMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!Array.isArray(m) || typeof m[0] !== 'string') return undefined;
  const s = (i: number): string => (typeof m[i] === 'string' ? (m[i] as string) : '');
  switch (m[0]) {
    case 'EVENT': {
      if (typeof m[1] !== 'string' || typeof m[2] !== 'object' || m[2] === null) return undefined;
      const a = data.indexOf('{');
      const b = data.lastIndexOf('}');
      if (a < 0 || b < a) return undefined;
      return { type: 'EVENT', sub: m[1], event: m[2], raw: data.slice(a, b + 1) };
    }
    case 'EOSE':
      return typeof m[1] === 'string' ? { type: 'EOSE', sub: m[1] } : undefined;
    case 'CLOSED':
      return typeof m[1] === 'string' ? { type: 'CLOSED', sub: m[1], message: s(2) } : undefined;
    case 'NOTICE':
      return { type: 'NOTICE', message: s(1) };
    case 'OK':
      return { type: 'OK', id: s(1), ok: m[2] === true, message: s(3) };
    case 'AUTH':
      return typeof m[1] === 'string' ? { type: 'AUTH', challenge: m[1] } : undefined;
    case 'NEG-MSG':
      return typeof m[1] === 'string' && typeof m[2] === 'string' ? { type: 'NEG-MSG', sub: m[1], message: m[2] } : undefined;
    case 'NEG-ERR':
      return typeof m[1] === 'string' ? { type: 'NEG-ERR', sub: m[1], message: s(2) } : undefined;
    default:
      return undefined;
  }
}

const RATE_LIMIT = /rate-limited:|rate limit|slow down|too many/i;

/** Whether a NOTICE / CLOSED / OK message says the relay is rate limiting us. */
export function isRateLimitMessage(msg: string): boolean {
  return RATE_LIMIT.test(msg);
}
