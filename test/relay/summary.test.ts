// Operators see one info line a minute summarising activity (driven by an injected clock).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../sync/clock.js';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay } from '../helpers/relay.js';

test('a summary line at info after a minute with activity', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const clock = new ManualClock();
  const relay = await startTestRelay({ policy: { mode: 'open' } }, { clock, log: pino({ level: 'info' }, sink) });
  const c = await TestClient.connect(relay.url);
  try {
    assert.equal((await c.publish(sign(keypair('alice'), { kind: 1, content: 'summary me' }))).ok, true);
    await c.publish({ ...sign(keypair('alice'), { kind: 1 }), content: 'tampered' });
    assert.equal(lines.filter((l) => l.msg === 'summary (last minute)').length, 0);
    clock.advance(60_000);
    const summary = lines.find((l) => l.msg === 'summary (last minute)');
    assert.ok(summary, 'no summary line');
    assert.equal(summary.level, 30);
    assert.deepEqual(summary.events, { stored: 1, 'bad-signature': 1 });
    assert.equal(summary.connections, 1);
  } finally {
    await c.close();
    await relay.destroy();
  }
});
