// pkt-line framing, the receive-pack command-section reader (chunked input, limits, malformed
// input) and report-status with and without side-band.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandSectionReader, FLUSH, pkt, PktError, reportStatus, unpackStatus } from '../../src/git/pktline.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);
const limits = { maxCommandBytes: 4096, maxRefUpdates: 3 };

test('pkt: 4-hex length including the header; FLUSH', () => {
  assert.equal(pkt('hello\n').toString(), '000ahello\n');
  assert.equal(pkt(new Uint8Array([1, 2])).toString('hex'), '303030360102');
  assert.equal(FLUSH.toString(), '0000');
  assert.throws(() => pkt(Buffer.alloc(65517)), RangeError);
});

test('command section: shallow, commands, capabilities; bytes exact; byte-by-byte feeding; remainder', () => {
  const section = Buffer.concat([
    pkt(`shallow ${B}\n`),
    pkt(`${Z} ${A} refs/heads/main\0report-status-v2 side-band-64k agent=git/2.39\n`),
    pkt(`${A} ${Z} refs/tags/v1\n`),
    FLUSH,
  ]);
  const pack = Buffer.from('PACK....');
  const all = Buffer.concat([section, pack]);
  // one chunk
  const r1 = new CommandSectionReader(limits);
  const s1 = r1.push(all);
  assert.ok(s1);
  assert.deepEqual(s1.shallow, [B]);
  assert.deepEqual(s1.commands, [
    { old: Z, new: A, ref: 'refs/heads/main' },
    { old: A, new: Z, ref: 'refs/tags/v1' },
  ]);
  assert.deepEqual(s1.capabilities, ['report-status-v2', 'side-band-64k', 'agent=git/2.39']);
  assert.ok(s1.bytes.equals(section));
  assert.ok(r1.remainder().equals(pack));
  // byte by byte
  const r2 = new CommandSectionReader(limits);
  let s2;
  let i = 0;
  for (; i < all.length && !s2; i++) s2 = r2.push(all.subarray(i, i + 1));
  assert.ok(s2);
  assert.equal(i, section.length);
  assert.ok(s2.bytes.equals(section));
  assert.equal(r2.remainder().length, 0);
});

test('command section: the 0000 probe has no commands', () => {
  const s = new CommandSectionReader(limits).push(Buffer.from('0000'));
  assert.ok(s);
  assert.equal(s.commands.length, 0);
  assert.equal(s.bytes.toString(), '0000');
});

const fails = (input: Buffer, status: number, re?: RegExp, l = limits): void => {
  const r = new CommandSectionReader(l);
  assert.throws(
    () => r.push(input),
    (e: unknown) => e instanceof PktError && e.status === status && (re === undefined || re.test(e.message)),
  );
};

test('command section: malformed input → 400', () => {
  fails(Buffer.from('zzzz'), 400);
  fails(Buffer.from('0002'), 400);
  fails(Buffer.concat([pkt(`${A} ${B}\0report-status\n`), FLUSH]), 400);
  fails(Buffer.concat([pkt(`${A.toUpperCase()} ${B} refs/heads/x\n`), FLUSH]), 400);
  fails(Buffer.concat([pkt(`${'c'.repeat(64)} ${'d'.repeat(64)} refs/heads/x\n`), FLUSH]), 400); // sha256
  fails(Buffer.concat([pkt(`shallow xyz\n`), FLUSH]), 400);
  for (const ref of ['refs/heads/a..b', 'refs/heads/a b', 'refs/heads/x.lock', 'refs/heads/a@{1}', 'refs/heads/a\\b', 'refs/heads/\x01']) {
    fails(Buffer.concat([pkt(`${A} ${B} ${ref}\n`), FLUSH]), 400, /bad ref name/);
  }
  fails(Buffer.concat([pkt(`${A} ${B} refs/heads/a\0caps\n`), pkt(`${A} ${B} refs/heads/b\0caps\n`), FLUSH]), 400);
});

test('command section: limits → 413 (bytes before they arrive, ref updates)', () => {
  const many = Buffer.concat([0, 1, 2, 3].map((i) => pkt(`${A} ${B} refs/heads/b${i}\n`)).concat([FLUSH]));
  fails(many, 413, /ref updates/);
  // a declared length beyond the cap is refused from its header alone
  fails(Buffer.from('fff0'), 413, undefined, { maxCommandBytes: 1024, maxRefUpdates: 10 });
  // many small lines past the byte cap
  const r = new CommandSectionReader({ maxCommandBytes: 200, maxRefUpdates: 1000 });
  assert.equal(r.push(pkt(`${A} ${B} refs/heads/a\0report-status\n`)), undefined);
  assert.throws(() => r.push(Buffer.concat([pkt(`${A} ${B} refs/heads/b\n`), pkt(`${A} ${B} refs/heads/c\n`)])), (e: unknown) => e instanceof PktError && e.status === 413);
});

/** Split a pkt-line stream into payloads (null = flush). */
function lines(buf: Buffer): Array<Buffer | null> {
  const out: Array<Buffer | null> = [];
  let p = 0;
  while (p < buf.length) {
    const len = parseInt(buf.toString('latin1', p, p + 4), 16);
    if (len === 0) {
      out.push(null);
      p += 4;
      continue;
    }
    out.push(buf.subarray(p + 4, p + len));
    p += len;
  }
  return out;
}

test('reportStatus: plain and side-band; reasons one line, capped at 200 bytes', () => {
  const long = 'x'.repeat(500);
  const plain = reportStatus({ unpack: 'ok', refs: [{ ref: 'refs/heads/main', ng: 'no state\nhere' }, { ref: 'refs/heads/dev', ng: long }, { ref: 'refs/tags/v1' }], sideband: false });
  const l = lines(plain).map((b) => (b === null ? null : b.toString()));
  assert.deepEqual(l.slice(0, 2), ['unpack ok\n', 'ng refs/heads/main no state here\n']);
  assert.equal(l[2], `ng refs/heads/dev ${'x'.repeat(200)}\n`);
  assert.equal(l[3], 'ok refs/tags/v1\n');
  assert.equal(l[4], null);
  const banded = reportStatus({ unpack: 'ok', refs: [{ ref: 'refs/heads/main', ng: 'no state' }], sideband: true, summary: 'push refused' });
  const b = lines(banded);
  assert.equal(b[0]![0], 2);
  assert.equal(b[0]!.subarray(1).toString(), 'grasp-relay: push refused\n');
  const band1 = Buffer.concat(b.filter((x): x is Buffer => x !== null && x[0] === 1).map((x) => x.subarray(1)));
  assert.ok(band1.equals(reportStatus({ unpack: 'ok', refs: [{ ref: 'refs/heads/main', ng: 'no state' }], sideband: false })));
  assert.equal(b[b.length - 1], null);
  // a report longer than one side-band packet is split (every packet ≤ 1000 bytes)
  const big = reportStatus({ unpack: 'ok', refs: Array.from({ length: 50 }, (_, i) => ({ ref: `refs/heads/b${i}`, ng: long })), sideband: true });
  for (const x of lines(big)) if (x) assert.ok(x.length + 4 <= 1000);
});

test('unpackStatus reads the unpack line, plain or side-band (progress in band 2 ignored)', () => {
  const refs = [{ ref: 'refs/heads/main' }];
  assert.equal(unpackStatus(reportStatus({ unpack: 'ok', refs, sideband: false }), false), 'ok');
  assert.equal(unpackStatus(reportStatus({ unpack: 'ok', refs, sideband: true, summary: 'unpack lies here' }), true), 'ok');
  assert.equal(unpackStatus(reportStatus({ unpack: 'index-pack abnormal exit', refs, sideband: true }), true), 'index-pack abnormal exit');
  assert.equal(unpackStatus(Buffer.from('0000'), false), undefined);
});
