// Unit tests of the relay-message helpers peers use: rate-limit wording, and the parser keeping an
// EVENT's raw JSON text as received.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRateLimitMessage, mapLimit, parseRelayMessage } from '../../src/sync/wire.js';

test('rate-limit wording', () => {
  for (const s of ['rate-limited: slow down', 'Slow down please', 'too many requests', 'you hit the rate limit']) assert.ok(isRateLimitMessage(s), s);
  for (const s of ['error: bad filter', 'restricted: nope', 'auth-required: x']) assert.ok(!isRateLimitMessage(s), s);
});

test('an EVENT keeps its raw text; malformed messages are undefined', () => {
  const raw = '{"id":"x", "kind":1,"content":"a}b"}';
  const m = parseRelayMessage(`["EVENT","r1",${raw}]`);
  assert.deepEqual(m, { type: 'EVENT', sub: 'r1', event: JSON.parse(raw), raw });
  for (const bad of ['', 'nope', '{}', '[1]', '["EVENT","r1"]', '["EVENT","r1",3]', '["EOSE"]', '["WHAT","x"]']) assert.equal(parseRelayMessage(bad), undefined, bad);
  assert.deepEqual(parseRelayMessage('["OK","ab",false,"blocked: no"]'), { type: 'OK', id: 'ab', ok: false, message: 'blocked: no' });
});

test('mapLimit runs at most n at once and rejects with the first error', async () => {
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (x) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setImmediate(r));
    seen.push(x);
    running--;
  });
  assert.equal(peak, 3);
  assert.deepEqual(seen.sort(), [1, 2, 3, 4, 5, 6, 7]);
  await assert.rejects(
    mapLimit([1, 2, 3], 2, async (x) => {
      if (x === 2) throw new Error('two');
    }),
    /two/,
  );
});
