// Limits that protect the relay: EVENT rate per IP, connections per IP, and a client that stops
// reading is dropped instead of being buffered without end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Socket } from 'node:net';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';

const alice = keypair('alice');

test('EVENTs over the per-IP burst are refused with rate-limited:', async () => {
  const relay = await startTestRelay({ policy: { mode: 'open' }, limits: { eventBurstPerIp: 5, eventsPerMinutePerIp: 1 } });
  const c = await TestClient.connect(relay.url);
  try {
    for (let i = 0; i < 5; i++) assert.equal((await c.publish(sign(alice, { kind: 1, content: String(i) }))).ok, true);
    const r = await c.publish(sign(alice, { kind: 1, content: 'one too many' }));
    assert.equal(r.ok, false);
    assert.match(r.message, /^rate-limited:/);
  } finally {
    await c.close();
    await relay.destroy();
  }
});

test('connections per IP are limited with HTTP 429 before the upgrade', async () => {
  const relay = await startTestRelay({ policy: { mode: 'open' }, limits: { maxConnectionsPerIp: 2 } });
  const a = await TestClient.connect(relay.url);
  const b = await TestClient.connect(relay.url);
  try {
    await assert.rejects(TestClient.connect(relay.url), /429/);
    await a.close();
    await waitFor(() => relay.connections() === 1, 5000, 'the closed connection to be released');
    const c = await TestClient.connect(relay.url);
    await c.close();
  } finally {
    await b.close();
    await relay.destroy();
  }
});

test('a client that stops reading is dropped, others keep being served', async () => {
  const relay = await startTestRelay({ policy: { mode: 'open' }, limits: { maxSendBufferBytes: 65536, eventBurstPerIp: 1000 } });
  const slow = await TestClient.connect(relay.url);
  const writer = await TestClient.connect(relay.url);
  try {
    await slow.req('all', { kinds: [1] });
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const big = 'x'.repeat(60_000);
    for (let i = 0; i < 400 && relay.connections() === 2; i++) {
      assert.equal((await writer.publish(sign(alice, { kind: 1, content: big + i }))).ok, true);
    }
    await waitFor(() => relay.connections() === 1, 20_000, 'the slow consumer to be dropped');
    assert.equal((await writer.publish(sign(alice, { kind: 1, content: 'after' }))).ok, true);
  } finally {
    slow.ws.terminate();
    await writer.close();
    await relay.destroy();
  }
});

test('event and filter limits: tags, content, past bound, filter values, limit cap', async () => {
  const relay = await startTestRelay({
    policy: { mode: 'open' },
    limits: { maxEventTags: 3, maxContentBytes: 10, maxPastSeconds: 3600, maxFilterValues: 2, maxLimit: 3 },
  });
  const c = await TestClient.connect(relay.url);
  try {
    const tags = await c.publish(sign(alice, { kind: 1, tags: [['t', 'a'], ['t', 'b'], ['t', 'c'], ['t', 'd']] }));
    assert.deepEqual([tags.ok, /^invalid: more than 3 tags/.test(tags.message)], [false, true]);
    const content = await c.publish(sign(alice, { kind: 1, content: 'x'.repeat(11) }));
    assert.deepEqual([content.ok, /^invalid: content longer than 10/.test(content.message)], [false, true]);
    const old = await c.publish(sign(alice, { kind: 1, created_at: Math.floor(Date.now() / 1000) - 7200 }));
    assert.deepEqual([old.ok, /^invalid: created_at is more than 3600 seconds in the past/.test(old.message)], [false, true]);

    const values = await c.req('v', { kinds: [1, 2, 3] });
    assert.match(values.closed ?? '', /^invalid: filter field kinds has more than 2 values/);
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 5; i++) assert.equal((await c.publish(sign(alice, { kind: 1, content: `ok ${i}`, created_at: now - i }))).ok, true);
    assert.equal((await c.req('capped', { kinds: [1], limit: 100 })).events.length, 3);
    assert.equal((await c.req('default', { kinds: [1] })).events.length, 3);
  } finally {
    await c.close();
    await relay.destroy();
  }
});
