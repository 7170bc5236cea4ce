// NIP-01 over a real socket: EVENT/OK, REQ ordering and EOSE then live, CLOSE, multiple filters,
// and every kind of bad input answered with a clear prefixed message.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const alice = keypair('alice');
const bob = keypair('bob');

describe('NIP-01 protocol', () => {
  let relay: TestRelay;
  let c: TestClient;
  before(async () => {
    relay = await startTestRelay({ policy: { mode: 'open' }, limits: { maxSubscriptions: 5, maxMessageBytes: 4096, maxFilters: 4 } });
    c = await TestClient.connect(relay.url);
  });
  after(async () => {
    await c.close();
    await relay.destroy();
  });

  test('EVENT is acknowledged with OK true, a re-send with OK true duplicate:', async () => {
    const e = sign(alice, { kind: 1, content: 'hello' });
    assert.deepEqual(await c.publish(e), { ok: true, message: '' });
    const again = await c.publish(e);
    assert.equal(again.ok, true);
    assert.match(again.message, /^duplicate:/);
  });

  test('REQ returns stored events newest first, ties by lowest id, then EOSE, then live events', async () => {
    const t = 1_700_000_000;
    const evs = [
      sign(bob, { kind: 7, content: 'a', created_at: t }),
      sign(bob, { kind: 7, content: 'b', created_at: t + 5 }),
      sign(bob, { kind: 7, content: 'c', created_at: t + 5 }),
      sign(bob, { kind: 7, content: 'd', created_at: t + 2 }),
    ];
    for (const e of evs) assert.equal((await c.publish(e)).ok, true);
    const { events } = await c.req('s1', { authors: [bob.pk], kinds: [7] });
    const tied = [evs[1]!.id, evs[2]!.id].sort();
    assert.deepEqual(
      events.map((e) => e.id),
      [tied[0], tied[1], evs[3]!.id, evs[0]!.id],
    );
    const { events: limited } = await c.req('s2', { authors: [bob.pk], kinds: [7], limit: 1 });
    assert.deepEqual(limited.map((e) => e.id), [tied[0]]);
    c.send(['CLOSE', 's2']);

    const liveEv = sign(bob, { kind: 7, content: 'live' });
    const other = await TestClient.connect(relay.url);
    assert.equal((await other.publish(liveEv)).ok, true);
    const m = await c.next((x) => x[0] === 'EVENT' && x[1] === 's1');
    assert.equal((m[2] as { id: string }).id, liveEv.id);
    await other.close();
    c.send(['CLOSE', 's1']);
  });

  test('stored events are served byte-for-byte as received', async () => {
    const e = sign(alice, { kind: 1, content: 'spacing ✓ \u2028', tags: [['t', 'x']] });
    const text = `["EVENT",  {"content":${JSON.stringify(e.content)},"id":"${e.id}","pubkey":"${e.pubkey}","created_at":${e.created_at},"kind":1,"tags":[["t","x"]],"sig":"${e.sig}"}]`;
    c.sendRaw(text);
    const ok = await c.next((m) => m[0] === 'OK' && m[1] === e.id);
    assert.equal(ok[2], true);
    const raw = await new Promise<string>((resolve) => {
      const onMsg = (d: Buffer) => {
        const s = d.toString();
        if (s.startsWith('["EVENT","raw"')) {
          c.ws.off('message', onMsg);
          resolve(s);
        }
      };
      c.ws.on('message', onMsg);
      c.send(['REQ', 'raw', { ids: [e.id] }]);
    });
    assert.equal(raw, `["EVENT","raw",${text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)}]`);
    c.send(['CLOSE', 'raw']);
  });

  test('several filters are merged and deduplicated', async () => {
    const e1 = sign(alice, { kind: 30, tags: [['t', 'merge']] });
    const e2 = sign(bob, { kind: 31, tags: [['t', 'merge']] });
    await c.publish(e1);
    await c.publish(e2);
    const { events } = await c.req('m', { kinds: [30] }, { '#t': ['merge'] }, { ids: [e1.id] });
    assert.deepEqual(new Set(events.map((e) => e.id)), new Set([e1.id, e2.id]));
    assert.equal(events.length, 2);
    c.send(['CLOSE', 'm']);
  });

  test('CLOSE stops live delivery', async () => {
    await c.req('closeme', { kinds: [4242] });
    c.send(['CLOSE', 'closeme']);
    await c.req('marker', { kinds: [4243], limit: 0 }); // round trip: the CLOSE has been processed
    await c.publish(sign(alice, { kind: 4242 }));
    await c.publish(sign(alice, { kind: 4243 }));
    await c.next((m) => m[0] === 'EVENT' && m[1] === 'marker');
    assert.equal(c.received.some((m) => m[0] === 'EVENT' && m[1] === 'closeme'), false);
    c.send(['CLOSE', 'marker']);
  });

  test('a REQ with an existing id replaces that subscription', async () => {
    await c.req('rep', { kinds: [5000] });
    await c.req('rep', { kinds: [5001] });
    await c.publish(sign(alice, { kind: 5000 }));
    await c.publish(sign(alice, { kind: 5001 }));
    const m = await c.next((x) => x[0] === 'EVENT' && x[1] === 'rep');
    assert.equal((m[2] as { kind: number }).kind, 5001);
    c.send(['CLOSE', 'rep']);
  });

  test('bad input gets prefixed NOTICE / OK false / CLOSED and the connection keeps working', async () => {
    c.sendRaw('not json');
    assert.match((await c.next((m) => m[0] === 'NOTICE'))[1] as string, /^invalid: .*JSON/);
    c.sendRaw('{"a":1}');
    assert.match((await c.next((m) => m[0] === 'NOTICE'))[1] as string, /^invalid:/);
    c.send(['HELLO']);
    assert.match((await c.next((m) => m[0] === 'NOTICE'))[1] as string, /^invalid: unknown message type/);
    c.sendRaw(JSON.stringify(['EVENT', { id: 'x'.repeat(5000) }]));
    assert.match((await c.next((m) => m[0] === 'NOTICE'))[1] as string, /^invalid: message is larger than 4096/);

    const good = sign(alice, { kind: 1, content: 'tamper' });
    const badSig = { ...good, sig: good.sig.slice(0, -1) + (good.sig.endsWith('0') ? '1' : '0') };
    const r1 = await c.publish(badSig);
    assert.equal(r1.ok, false);
    assert.match(r1.message, /^invalid:/);
    const badId = { ...good, content: 'changed' };
    const r2 = await c.publish(badId);
    assert.equal(r2.ok, false);
    assert.match(r2.message, /^invalid:/);
    const r3 = await c.publish({ ...good, kind: 'one' });
    assert.match(r3.message, /^invalid: kind/);
    const r4 = await c.publish({ ...good, tags: [[1]] });
    assert.match(r4.message, /^invalid: each tag/);
    const r5 = await c.publish(sign(alice, { kind: 1, created_at: Math.floor(Date.now() / 1000) + 3600 }));
    assert.match(r5.message, /^invalid: created_at is more than/);

    const closedBadFilter = await c.req('bf', { kinds: ['x'] } as never);
    assert.match(closedBadFilter.closed ?? '', /^invalid:/);
    const closedUnknown = await c.req('bf2', { search: 'x' } as never);
    assert.match(closedUnknown.closed ?? '', /^unsupported:/);
    const tooMany = await c.req('bf3', {}, {}, {}, {}, {});
    assert.match(tooMany.closed ?? '', /^invalid: more than 4 filters/);
    c.send(['REQ', 'x'.repeat(100), {}]);
    assert.match((await c.next((m) => m[0] === 'NOTICE'))[1] as string, /^invalid: subscription id/);

    // still alive
    assert.equal((await c.publish(sign(alice, { kind: 1, content: 'still here' }))).ok, true);
  });

  test('subscriptions per connection are limited', async () => {
    const d = await TestClient.connect(relay.url);
    for (let i = 0; i < 5; i++) await d.req('sub' + i, { kinds: [1], limit: 0 });
    const r = await d.req('sub5', { kinds: [1], limit: 0 });
    assert.match(r.closed ?? '', /^blocked: too many open subscriptions/);
    await d.close();
  });

  test('AUTH is answered, not ignored', async () => {
    const e = sign(alice, { kind: 22242, tags: [['relay', relay.url]] });
    c.send(['AUTH', e]);
    const m = await c.next((x) => x[0] === 'OK' && x[1] === e.id);
    assert.equal(m[2], false);
  });
});
