// One git smart-HTTP request from admission to its last byte (used by backend.ts): the status
// and headers sent once, body bytes counted against the limit, the idle timer, the git child and
// the process slot, and the early answers (fail, fail-and-close, fail-and-drain) that end it.
import type { Readable } from 'node:stream';
import type { Clock, TimerHandle } from '../clock.js';
import type { StreamRequest, StreamResponse } from '../relay/transport.js';
import type { GitRequestKind } from './backend.js';
import type { SpawnedGit } from './gitproc.js';

export const TEXT = 'text/plain; charset=utf-8';
/** Bytes of receive-pack's output kept to read its `unpack` status (report + progress lines). */
export const REPORT_KEEP = 256 * 1024;
/** Request bytes still read (and dropped) after an early answer, so the client sees it, before closing. */
export const DRAIN_BYTES = 64 * 1024;
export const NO_CACHE: Record<string, string> = {
  'cache-control': 'no-cache, max-age=0, must-revalidate',
  pragma: 'no-cache',
  expires: 'Fri, 01 Jan 1980 00:00:00 GMT',
};

/** One request from admission to its last byte: timers, the git child, the slot, the answer. */
export class Exchange {
  headSent = false;
  finished = false;
  git: SpawnedGit | undefined;
  slot = false;
  cancelWait: () => void = () => {};
  /** the decoded body */
  body: Readable | undefined;
  bodyBytes = 0;
  bodyLimit = Infinity;
  bodyEnded = false;
  /** response body bytes written */
  bytesOut = 0;
  sink: (chunk: Buffer) => void = () => {};
  onBodyEnd: () => void = () => {};
  onOverLimit: () => void = () => {};
  private last: number;
  readonly started: number;
  private timer: TimerHandle | undefined;

  constructor(
    readonly backend: { addBytesOut(n: number): void },
    readonly kind: GitRequestKind,
    readonly req: StreamRequest,
    readonly res: StreamResponse,
    private readonly clock: Clock,
    private readonly idleMs: number,
    private readonly totalMs: number,
    private readonly onFinish: (ex: Exchange, outcome: string) => void,
  ) {
    this.started = this.last = clock.now();
    this.arm();
    res.onAborted(() => {
      this.destroyBody();
      this.finish('aborted');
    });
  }

  touch(): void {
    this.last = this.clock.now();
  }

  private arm(): void {
    const now = this.clock.now();
    const wait = Math.min(this.last + this.idleMs, this.started + this.totalMs) - now;
    this.timer = this.clock.setTimeout(() => {
      if (this.finished) return;
      const t = this.clock.now();
      if (t - this.last >= this.idleMs || t - this.started >= this.totalMs) this.timeout();
      else this.arm();
    }, Math.max(1, wait));
  }

  private timeout(): void {
    this.git?.kill();
    this.failAndClose(504, 'git request timed out', 'timeout');
  }

  /** Status and headers, once. */
  head(status: number, headers: Record<string, string>): void {
    if (this.headSent || this.finished) return;
    this.headSent = true;
    this.res.writeHead(status, headers);
  }

  /** A one-line text answer when nothing was sent yet; a cut connection otherwise. */
  fail(status: number, text: string, outcome: string, headers: Record<string, string> = {}): void {
    if (this.finished) return;
    if (!this.headSent) {
      this.head(status, { 'content-type': TEXT, ...NO_CACHE, ...headers });
      this.res.end(`${text}\n`);
    } else {
      this.res.destroy();
    }
    this.finish(outcome);
  }

  /** Answer, then close the connection (the rest of the request is not read). */
  failAndClose(status: number, text: string, outcome: string, headers: Record<string, string> = {}): void {
    this.fail(status, text, outcome, headers);
    setImmediate(() => this.destroyBody()); // after the answer went to the socket
  }

  /** Answer, then read and drop at most DRAIN_BYTES more of the request before closing. */
  failAndDrain(status: number, text: string, outcome: string, headers: Record<string, string> = {}): void {
    this.bodyLimit = Math.min(this.bodyLimit, this.bodyBytes + DRAIN_BYTES);
    this.fail(status, text, outcome, headers);
  }

  /** Body bytes out; false: wait for drain. */
  write(chunk: Buffer): boolean {
    this.touch();
    this.bytesOut += chunk.length;
    this.backend.addBytesOut(chunk.length);
    return this.res.write(chunk);
  }

  /** Stop reading the request at once (the connection goes with it). */
  destroyBody(): void {
    if (this.bodyEnded) return;
    this.bodyEnded = true;
    this.body?.destroy();
    if (this.req.body !== this.body) this.req.body.destroy();
  }

  finish(outcome: string): void {
    if (this.finished) return;
    this.finished = true;
    this.timer?.cancel();
    this.cancelWait();
    this.git?.kill();
    // what is left of the body is read and dropped up to the limit, then the connection closes
    this.sink = () => {};
    this.onBodyEnd = () => {};
    this.onOverLimit = () => this.destroyBody();
    this.body?.resume();
    this.onFinish(this, outcome);
  }
}

