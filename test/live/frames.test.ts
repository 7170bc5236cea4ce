// FrameSlab: frames built back to back are byte-exact, a view is never written over before
// release() (even when a burst outgrows the slab and it moves to a bigger one), release() reuses
// the bytes, and the slab stops growing at its maximum (frames past it get buffers of their own).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventFrame, eventFramePrefix, FrameSlab } from '../../src/live/frames.js';

const head = eventFramePrefix('"sub-1"');
const body = (i: number, pad = 100): Buffer => Buffer.from(`{"n":${i},"content":"${'é'.repeat(pad)}"}`, 'utf8');
const text = (u: Uint8Array): string => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('utf8');

test('frames are ["EVENT",<sub>,<body>] and stay intact while a burst outgrows the slab', () => {
  const slab = new FrameSlab(1024, 16 * 1024);
  const frames: Uint8Array[] = [];
  // ~230 bytes each: 200 of them need 46 KB, past the 16 KB maximum
  for (let i = 0; i < 200; i++) frames.push(slab.frame(head, body(i)));
  assert.equal(slab.size, 16 * 1024, 'grew to its maximum and no further');
  frames.forEach((f, i) => {
    assert.deepEqual(Buffer.from(f), eventFrame(head, body(i)));
    assert.deepEqual(JSON.parse(text(f)), ['EVENT', 'sub-1', { n: i, content: 'é'.repeat(100) }]);
  });
});

test('release() lets the next burst write over the same bytes; without it nothing is written over', () => {
  const slab = new FrameSlab(4096, 4096);
  const a = slab.frame(head, body(1));
  const b = slab.frame(head, body(2));
  assert.equal(a.buffer, b.buffer, 'one slab');
  const kept = Buffer.from(a);
  slab.release();
  const c = slab.frame(head, body(3, 50));
  assert.equal(c.buffer, a.buffer);
  assert.equal(c.byteOffset, a.byteOffset, 'reused from the start');
  assert.notDeepEqual(Buffer.from(a), kept, 'the released frame was written over, as allowed');
  // no release: a full slab leaves old views alone
  const d = new FrameSlab(1024, 1024);
  const first = d.frame(head, body(0));
  const copy = Buffer.from(first);
  for (let i = 1; i < 50; i++) d.frame(head, body(i));
  assert.deepEqual(Buffer.from(first), copy);
});

test('a frame larger than an eighth of the maximum gets a buffer of its own', () => {
  const slab = new FrameSlab(1024, 8192);
  const big = slab.frame(head, body(0, 1000));
  assert.notEqual(big.byteLength, 0);
  const small = slab.frame(head, body(1));
  assert.notEqual(big.buffer, small.buffer);
  assert.deepEqual(Buffer.from(big), eventFrame(head, body(0, 1000)));
});
