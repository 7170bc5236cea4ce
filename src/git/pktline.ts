// pkt-lines (git's framing): writing lines and flushes, reading the command section of a
// receive-pack request incrementally under limits (git.md §2.5 "Reading the request"), and the
// report-status answer of a refused push, side-band framed when the client asked for it.
import { isOid, type RefCommand } from './types.js';

/** Largest pkt-line git accepts (4-byte header included). */
const LARGE_PACKET_MAX = 65520;
/** Side-band packets carry at most this much data (fits `side-band` as well as `side-band-64k`). */
const SIDEBAND_DATA_MAX = 995;
/** Longest `ng` reason written. */
const REASON_MAX = 200;

export const FLUSH: Buffer = Buffer.from('0000', 'latin1');

/** One pkt-line: 4 hex digits of length (header included), then the payload. */
export function pkt(line: string | Uint8Array): Buffer {
  const body = typeof line === 'string' ? Buffer.from(line, 'utf8') : Buffer.from(line.buffer, line.byteOffset, line.byteLength);
  const len = body.length + 4;
  if (len > LARGE_PACKET_MAX) throw new RangeError(`pkt-line too long (${len} bytes)`);
  const out = Buffer.allocUnsafe(len);
  out.write(len.toString(16).padStart(4, '0'), 0, 'latin1');
  body.copy(out, 4);
  return out;
}

/** A malformed or oversized request: the HTTP status and a one-line text. */
export class PktError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'PktError';
  }
}

export interface CommandSection {
  commands: RefCommand[];
  /** the capabilities after the NUL of the first command (empty without commands) */
  capabilities: string[];
  /** `shallow <oid>` lines before the commands */
  shallow: string[];
  /** exactly the bytes consumed, to replay into git */
  bytes: Buffer;
}

/** A ref name receive-pack may be asked to update (git.md §2.5): printable, no `..`, `@{`, `\`, `.lock`. */
export function isValidRefName(ref: string): boolean {
  if (ref.length === 0 || ref.length > 1024) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f\\]/.test(ref)) return false;
  if (ref.includes('..') || ref.includes('@{') || ref.endsWith('.lock') || ref.endsWith('/') || ref.startsWith('/')) return false;
  return true;
}

/**
 * Incremental parser of the receive-pack command section (pkt-lines until the first flush): push
 * body chunks until it returns the section. Errors throw PktError (400 malformed, 413 over limits).
 * The bytes of the last chunk that follow the flush (pack data) are in `remainder()`.
 */
export class CommandSectionReader {
  private buf: Buffer = Buffer.alloc(0);
  /** offset of the next unparsed pkt-line in buf */
  private pos = 0;
  private readonly commands: RefCommand[] = [];
  private readonly shallow: string[] = [];
  private capabilities: string[] = [];
  private rest: Buffer = Buffer.alloc(0);
  private complete = false;

  constructor(private readonly limits: { maxCommandBytes: number; maxRefUpdates: number }) {}

  push(chunk: Buffer): CommandSection | undefined {
    if (this.complete) throw new Error('command section already complete');
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length - this.pos >= 4) {
      const head = this.buf.toString('latin1', this.pos, this.pos + 4);
      if (!/^[0-9a-f]{4}$/i.test(head)) throw new PktError(400, 'malformed pkt-line length in the command section');
      const len = parseInt(head, 16);
      if (len === 0) {
        const end = this.pos + 4;
        if (end > this.limits.maxCommandBytes) throw this.tooLarge();
        this.complete = true;
        this.rest = this.buf.subarray(end);
        const bytes = Buffer.from(this.buf.subarray(0, end)); // own copy: the chunk's tail goes to git separately
        this.buf = Buffer.alloc(0);
        return { commands: this.commands, capabilities: this.capabilities, shallow: this.shallow, bytes };
      }
      if (len < 4) throw new PktError(400, 'unexpected special pkt-line in the command section');
      if (this.pos + len > this.limits.maxCommandBytes) throw this.tooLarge();
      if (this.buf.length - this.pos < len) break;
      this.line(this.buf.subarray(this.pos + 4, this.pos + len));
      this.pos += len;
    }
    if (this.buf.length > this.limits.maxCommandBytes) throw this.tooLarge();
    return undefined;
  }

  /** The bytes after the flush in the chunk that completed the section. */
  remainder(): Buffer {
    return this.rest;
  }

  private tooLarge(): PktError {
    return new PktError(413, `receive-pack command section over ${this.limits.maxCommandBytes} bytes`);
  }

  private line(payload: Buffer): void {
    let text = payload.toString('latin1');
    if (text.endsWith('\n')) text = text.slice(0, -1);
    if (this.commands.length === 0 && text.startsWith('shallow ')) {
      const oid = text.slice(8);
      if (!isOid(oid)) throw new PktError(400, 'bad oid in a shallow line');
      this.shallow.push(oid);
      return;
    }
    if (this.commands.length === 0) {
      const nul = text.indexOf('\0');
      if (nul >= 0) {
        this.capabilities = text
          .slice(nul + 1)
          .split(' ')
          .filter((c) => c.length > 0);
        text = text.slice(0, nul);
      }
    } else if (text.includes('\0')) {
      throw new PktError(400, 'capabilities after the first command');
    }
    const m = /^([0-9a-f]{40}) ([0-9a-f]{40}) (.+)$/.exec(text);
    if (!m) throw new PktError(400, 'malformed command (expected "<old> <new> <ref>" with 40-hex oids)');
    const ref = Buffer.from(m[3]!, 'latin1').toString('utf8');
    if (!isValidRefName(ref)) throw new PktError(400, `bad ref name ${JSON.stringify(ref.slice(0, 100))}`);
    if (this.commands.length >= this.limits.maxRefUpdates) {
      throw new PktError(413, `more than ${this.limits.maxRefUpdates} ref updates in one push`);
    }
    this.commands.push({ old: m[1]!, new: m[2]!, ref });
  }
}

/** A one-line text: no control characters, at most `max` bytes of UTF-8. */
function oneLine(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  let t = s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  while (Buffer.byteLength(t, 'utf8') > max) t = t.slice(0, -1);
  return t;
}

/**
 * report-status of a push: `unpack <ok|error>`, `ok <ref>` or `ng <ref> <reason>` per ref, flush
 * (report-status-v2 reads the same lines). With `sideband`, the whole report travels in band 1
 * after a band-2 line `grasp-relay: <summary>` (git shows it as `remote: grasp-relay: …`).
 */
export function reportStatus(opts: { unpack: 'ok' | string; refs: Array<{ ref: string; ng?: string }>; sideband: boolean; summary?: string }): Buffer {
  const lines: Buffer[] = [pkt(`unpack ${opts.unpack === 'ok' ? 'ok' : oneLine(opts.unpack, REASON_MAX)}\n`)];
  for (const r of opts.refs) {
    lines.push(pkt(r.ng === undefined ? `ok ${r.ref}\n` : `ng ${r.ref} ${oneLine(r.ng, REASON_MAX) || 'refused'}\n`));
  }
  lines.push(FLUSH);
  const report = Buffer.concat(lines);
  if (!opts.sideband) return report;
  const out: Buffer[] = [];
  if (opts.summary !== undefined && opts.summary.length > 0) {
    out.push(pkt(Buffer.concat([Buffer.from([2]), Buffer.from(`grasp-relay: ${oneLine(opts.summary, 900)}\n`, 'utf8')])));
  }
  for (let i = 0; i < report.length; i += SIDEBAND_DATA_MAX) {
    out.push(pkt(Buffer.concat([Buffer.from([1]), report.subarray(i, i + SIDEBAND_DATA_MAX)])));
  }
  out.push(FLUSH);
  return Buffer.concat(out);
}

/**
 * The `unpack` status of receive-pack's answer (`ok` or git's error text), read from its output,
 * side-band demultiplexed when the push asked for side-band; undefined when none is found.
 */
export function unpackStatus(out: Buffer, sideband: boolean): string | undefined {
  const payloads = (buf: Buffer): Buffer[] => {
    const list: Buffer[] = [];
    let p = 0;
    while (p + 4 <= buf.length) {
      const len = parseInt(buf.toString('latin1', p, p + 4), 16);
      if (Number.isNaN(len)) break;
      if (len < 4) {
        p += 4;
        continue;
      }
      if (p + len > buf.length) break;
      list.push(buf.subarray(p + 4, p + len));
      p += len;
    }
    return list;
  };
  let lines = payloads(out);
  if (sideband) lines = payloads(Buffer.concat(lines.filter((b) => b[0] === 1).map((b) => b.subarray(1))));
  for (const l of lines) {
    const t = l.toString('utf8').replace(/\n$/, '');
    if (t.startsWith('unpack ')) return t.slice(7);
  }
  return undefined;
}
