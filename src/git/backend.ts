// The HTTP glue between a streamed request and git processes (git.md §2.2, §2.5, §5): info/refs,
// upload-pack and receive-pack run as `git … --stateless-rpc` children with the relay's `-c`
// options and a clean environment; request bodies are decoded (gzip) and piped in, git's output
// piped out, both with backpressure; pushes are parsed, authorised and answered (report-status)
// before git runs. Admission (process slots, per-IP) is in backend-limits.ts, one request's
// lifetime (timers, child, slot, early answers) in exchange.ts, running and streaming one git
// child in serve-process.ts, the relay's own report-status answers in push-answer.ts. The router
// resolves the URL to a repository directory before calling in here.
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { systemClock, type Clock } from '../clock.js';
import type { GitConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { StreamRequest, StreamResponse } from '../relay/transport.js';
import { ProcessSlots, PerIpLimit } from './backend-limits.js';
import type { GitRuntime } from './gitproc.js';
import { runService, type ServedGit, type Service } from './serve-process.js';
import { Exchange, NO_CACHE, TEXT } from './exchange.js';
import { okAnswer, refusalAnswer, wantsReport, type Refusal } from './push-answer.js';
import { CommandSectionReader, FLUSH, pkt, PktError, unpackStatus, type CommandSection } from './pktline.js';

export type { CommandSection } from './pktline.js';

export type PushDecision = { ok: true } | { ok: false; reasons: Map<string, string> /* ref → ng reason */; summary: string };

export interface PushHooks {
  /** run the whole push (decision, git, after) under this (the repo lock) */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /** pure decision on the parsed commands (only called when there is at least one command) */
  authorize(section: CommandSection): Promise<PushDecision>;
  /** after receive-pack exited 0 (refs as git left them); runs before the HTTP response ends */
  afterPush(section: CommandSection): Promise<void>;
  /** extra refusal for read-only repos (archived/retired/over quota): every command ng with it */
  readOnly?: string;
}

/** stats key prefix: the two POST services and the advertisement */
export type GitRequestKind = Service | 'info-refs';
type Kind = GitRequestKind;

/** One admitted request ended: its kind, outcome (the stats key parts), duration and body bytes in (decoded) / out. */
export type RequestDoneListener = (kind: Kind, outcome: string, seconds: number, bytesIn: number, bytesOut: number) => void;

/** The `ng` reason of a command the decision did not name. */

export class GitBackend {
  private readonly rt: GitRuntime;
  private readonly cfg: GitConfig;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly slots: ProcessSlots;
  private readonly served: ServedGit;
  private readonly perIp: PerIpLimit;
  private readonly live = new Set<Exchange>();
  private readonly requests: Record<string, number> = {};
  private readonly refused: Record<string, number> = {};
  private readonly doneListeners = new Set<RequestDoneListener>();
  private bytesIn = 0;
  private bytesOut = 0;
  private closed = false;

  constructor(opts: { runtime: GitRuntime; config: GitConfig; log: Logger; clock?: Clock }) {
    this.rt = opts.runtime;
    this.cfg = opts.config;
    this.log = opts.log;
    this.clock = opts.clock ?? systemClock;
    this.slots = new ProcessSlots(this.cfg.maxProcesses, this.cfg.maxQueued, this.cfg.queueWaitSeconds * 1000, this.clock);
    this.served = { rt: this.rt, cfg: this.cfg, log: this.log, slots: this.slots };
    this.perIp = new PerIpLimit(this.cfg.maxRequestsPerIp);
  }

  /** GET/HEAD .../info/refs?service=git-upload-pack|git-receive-pack */
  infoRefs(req: StreamRequest, res: StreamResponse, repoDir: string): void {
    const ex = this.begin('info-refs', req, res);
    if (!ex) return;
    const service = new URLSearchParams(req.query).get('service');
    if (service === null) return ex.fail(404, 'not found', 'not_found');
    if (service !== 'git-upload-pack' && service !== 'git-receive-pack') return ex.fail(403, `unsupported service ${service.slice(0, 40)}`, 'forbidden');
    const svc = service.slice(4) as Service;
    const headers = { 'content-type': `application/x-git-${svc}-advertisement`, ...NO_CACHE };
    if (req.method === 'HEAD') {
      ex.head(200, headers);
      res.end();
      return ex.finish('ok');
    }
    ex.bodyEnded = true; // a GET has no body worth reading
    const announce = Buffer.concat([pkt(`# service=${service}\n`), FLUSH]);
    let pending: Buffer | undefined = Buffer.alloc(0);
    // v0: the `# service=` line and a flush first; omitted when git speaks version 2
    const first = (chunk: Buffer, atExit: boolean): Buffer | undefined => {
      if (pending === undefined) return chunk;
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < 13 && !atExit) return undefined;
      const out = pending.subarray(4, 13).toString('latin1') === 'version 2' ? pending : Buffer.concat([announce, pending]);
      pending = undefined;
      return out;
    };
    void runService(this.served, ex, svc, [`${svc}`, '--stateless-rpc', '--advertise-refs', ...(svc === 'upload-pack' ? ['--strict'] : []), repoDir], repoDir, {
      contentType: headers['content-type'],
      headers,
      first,
    });
  }

  /** POST .../git-upload-pack */
  uploadPack(req: StreamRequest, res: StreamResponse, repoDir: string): void {
    const ex = this.begin('upload-pack', req, res);
    if (!ex || !this.openBody(ex, 'upload-pack', this.cfg.maxRequestBytes)) return;
    ex.onOverLimit = () => ex.failAndClose(413, `request body over ${this.cfg.maxRequestBytes} bytes`, 'too_large');
    void runService(this.served, ex, 'upload-pack', ['upload-pack', '--stateless-rpc', '--strict', repoDir], repoDir, { feedBody: true });
  }

  /** POST .../git-receive-pack */
  receivePack(req: StreamRequest, res: StreamResponse, repoDir: string, hooks: PushHooks): void {
    const ex = this.begin('receive-pack', req, res);
    // pack bytes are capped by git itself (receive.maxInputSize); the body may add its command section
    if (!ex || !this.openBody(ex, 'receive-pack', this.cfg.maxPushBytes + this.cfg.maxCommandBytes)) return;
    const reader = new CommandSectionReader({ maxCommandBytes: this.cfg.maxCommandBytes, maxRefUpdates: this.cfg.maxRefUpdates });
    ex.onOverLimit = () => ex.failAndClose(413, 'push too large', 'too_large');
    ex.onBodyEnd = () => ex.fail(400, 'request body ended inside the receive-pack command section', 'bad_request');
    ex.sink = (chunk) => {
      let section: CommandSection | undefined;
      try {
        section = reader.push(chunk);
      } catch (e) {
        const err = e instanceof PktError ? e : new PktError(400, String(e));
        return ex.failAndDrain(err.status, err.message, err.status === 413 ? 'too_large' : 'bad_request');
      }
      if (!section) return;
      ex.body!.pause();
      ex.sink = () => {};
      ex.onBodyEnd = () => {};
      const s = section;
      const replay = Buffer.concat([s.bytes, reader.remainder()]);
      this.push(ex, repoDir, hooks, s, replay).catch((e: unknown) => {
        this.log.error({ err: e, repoDir }, 'git push failed');
        ex.fail(500, 'internal error', 'error');
      });
    };
    ex.body!.resume();
  }

  /** counters and gauges for /metrics and the status page */
  stats(): { running: number; queued: number; requests: Record<string, number>; bytesIn: number; bytesOut: number; refusedPushes: Record<string, number> } {
    return {
      running: this.slots.running,
      queued: this.slots.queued,
      requests: { ...this.requests },
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      refusedPushes: { ...this.refused },
    };
  }

  /** Observe each admitted request when it ends (for the /metrics duration histogram); returns the unsubscribe. */
  onRequestDone(listener: RequestDoneListener): () => void {
    this.doneListeners.add(listener);
    return () => this.doneListeners.delete(listener);
  }

  /** kill every child, refuse the queued */
  async close(): Promise<void> {
    this.closed = true;
    this.slots.rejectAll();
    const exits: Array<Promise<unknown>> = [];
    for (const ex of [...this.live]) {
      if (ex.git) exits.push(ex.git.exited);
      ex.failAndClose(503, 'shutting down', 'closed');
    }
    await Promise.all(exits);
  }

  /** @internal */
  addBytesOut(n: number): void {
    this.bytesOut += n;
  }

  // --- request plumbing ---

  private begin(kind: Kind, req: StreamRequest, res: StreamResponse): Exchange | undefined {
    const onFinish = (ex: Exchange, outcome: string): void => {
      this.live.delete(ex);
      if (ex.slot) {
        ex.slot = false;
        this.slots.release();
      }
      this.perIp.leave(req.ip);
      const key = `${kind}:${outcome}`;
      this.requests[key] = (this.requests[key] ?? 0) + 1;
      if (this.doneListeners.size > 0) {
        const seconds = Math.max(0, this.clock.now() - ex.started) / 1000;
        for (const l of this.doneListeners) l(kind, outcome, seconds, ex.bodyBytes, ex.bytesOut);
      }
    };
    if (this.closed || !this.perIp.enter(req.ip)) {
      const status = this.closed ? 503 : 429;
      res.writeHead(status, { 'content-type': TEXT, ...NO_CACHE, ...(this.closed ? {} : { 'retry-after': '5' }) });
      res.end(this.closed ? 'shutting down\n' : 'too many concurrent git requests from this address\n');
      const key = `${kind}:${this.closed ? 'closed' : 'rate_limited'}`;
      this.requests[key] = (this.requests[key] ?? 0) + 1;
      return undefined;
    }
    const ex = new Exchange(this, kind, req, res, this.clock, this.cfg.idleTimeoutSeconds * 1000, this.cfg.requestTimeoutSeconds * 1000, onFinish);
    this.live.add(ex);
    return ex;
  }

  /** Check content type and encoding; wire the decoded body into the exchange's dispatch. */
  private openBody(ex: Exchange, svc: Service, limit: number): boolean {
    const type = ex.req.header('content-type').split(';')[0]!.trim().toLowerCase();
    if (type !== `application/x-git-${svc}-request`) {
      ex.fail(415, `expected Content-Type application/x-git-${svc}-request`, 'unsupported');
      return false;
    }
    const enc = ex.req.header('content-encoding').trim().toLowerCase();
    let body: Readable = ex.req.body;
    if (enc === 'gzip' || enc === 'x-gzip') {
      const gunzip = createGunzip();
      ex.req.body.on('error', () => gunzip.destroy());
      body = ex.req.body.pipe(gunzip);
      gunzip.on('error', () => ex.failAndClose(400, 'corrupt gzip request body', 'bad_request'));
    } else if (enc !== '' && enc !== 'identity') {
      ex.fail(415, `unsupported Content-Encoding ${enc.slice(0, 40)}`, 'unsupported');
      return false;
    }
    ex.body = body;
    ex.bodyLimit = limit;
    body.pause();
    body.on('data', (chunk: Buffer) => {
      ex.touch();
      ex.bodyBytes += chunk.length;
      this.bytesIn += chunk.length;
      if (ex.bodyBytes > ex.bodyLimit) ex.onOverLimit();
      else ex.sink(chunk);
    });
    body.on('end', () => {
      if (ex.bodyEnded) return;
      ex.bodyEnded = true;
      ex.onBodyEnd();
    });
    ex.req.body.on('error', () => {
      ex.bodyEnded = true;
      ex.finish('aborted');
    });
    return true;
  }

  private async push(ex: Exchange, repoDir: string, hooks: PushHooks, section: CommandSection, replay: Buffer): Promise<void> {
    const args = ['receive-pack', '--stateless-rpc', repoDir];
    if (section.commands.length === 0) {
      // the `0000` probe (or an empty push): git answers it, nothing to decide
      await runService(this.served, ex, 'receive-pack', args, repoDir, { feedBody: true, stdinFirst: replay });
      return;
    }
    // past the limit while git runs: git is stopped, the client told (report-status) and cut off
    ex.onOverLimit = () => {
      ex.git?.kill();
      const why = `push over ${this.cfg.maxPushBytes} bytes`;
      if (ex.headSent || !wantsReport(section)) return ex.failAndClose(413, why, 'too_large');
      refusalAnswer(ex, section, { reasons: new Map(), summary: why }, `error: ${why}`);
      ex.finish('too_large');
      setImmediate(() => ex.destroyBody());
    };
    const refusal = await hooks.withLock(async (): Promise<Refusal | undefined> => {
      if (ex.finished) return undefined;
      ex.touch();
      if (hooks.readOnly !== undefined) {
        return { reasons: new Map(section.commands.map((c) => [c.ref, hooks.readOnly!])), summary: hooks.readOnly };
      }
      const decision = await hooks.authorize(section);
      if (ex.finished) return undefined;
      if (!decision.ok) return decision;
      if (section.commands.every((c) => c.old === c.new)) {
        // nothing to change (the relay aligned first): git would wait for a pack that never comes
        this.answerWithoutGit(ex, section, { reasons: new Map(), summary: 'nothing to change' }, 'ok');
        return undefined;
      }
      ex.touch();
      await runService(this.served, ex, 'receive-pack', args, repoDir, {
        feedBody: true,
        stdinFirst: replay,
        // receive-pack exits 0 after an `unpack` failure too (e.g. receive.maxInputSize): nothing applied, nothing to do
        afterSuccess: (out) => {
          const sideband = section.capabilities.includes('side-band-64k') || section.capabilities.includes('side-band');
          const unpack = unpackStatus(out, sideband);
          if (unpack !== 'ok') {
            this.log.info({ repoDir, unpack }, 'push not applied: receive-pack reported an unpack failure');
            return Promise.resolve(false);
          }
          return hooks.afterPush(section).then(() => true);
        },
      });
      return undefined;
    });
    if (refusal && !ex.finished) this.refuse(ex, section, refusal);
  }

  /** Drain the body (bounded), then answer report-status with an `ng` per command. */
  private refuse(ex: Exchange, section: CommandSection, refusal: Refusal): void {
    this.refused.push = (this.refused.push ?? 0) + 1;
    this.answerWithoutGit(ex, section, refusal, 'refused');
  }

  /**
   * Drain the body (bounded), then answer report-status without running git: `ng` with the
   * reasons when refused, `ok` for every command when the push changes nothing.
   */
  private answerWithoutGit(ex: Exchange, section: CommandSection, refusal: Refusal, outcome: 'refused' | 'ok'): void {
    const answer = (): void => {
      if (outcome === 'refused' && !wantsReport(section)) return ex.fail(403, `push refused: ${refusal.summary}`, 'refused');
      if (outcome === 'ok') okAnswer(ex, section);
      else refusalAnswer(ex, section, refusal, 'ok');
      ex.finish(outcome);
    };
    ex.bodyLimit = Math.min(ex.bodyLimit, this.cfg.maxPushBytes);
    ex.sink = () => {};
    ex.onOverLimit = () => {
      answer();
      setImmediate(() => ex.destroyBody());
    };
    if (ex.bodyEnded) return answer();
    ex.onBodyEnd = answer;
    ex.body!.resume();
  }
}
