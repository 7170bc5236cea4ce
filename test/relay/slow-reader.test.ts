// Bounded memory per client (issue 11, item 1): a client that opens many subscriptions and never
// reads makes the relay hold at most limits.maxSendBufferBytes plus one event for it (socket
// buffer + stored events in hand), over both transports; once it reads it gets every event. A
// client the relay does drop is logged at info with its address, bytes and reason, and counted.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { skipWithoutUws, startTestRelay } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';
import { parseExposition } from '../ops/prom.js';

const alice = keypair('slow-reader-alice');
const LIMIT = 256 * 1024;
const EVENTS = 300;
const CONTENT = 8_000;
const SUBS = 20;

const rawSocket = (c: TestClient): Socket => (c.ws as unknown as { _socket: Socket })._socket;
const pause = (c: TestClient): void => {
  rawSocket(c).pause();
};
const resume = (c: TestClient): void => {
  rawSocket(c).resume();
};

for (const transport of (['uws', 'ws'] as const).filter((t) => !skipWithoutUws(t))) {
  test(`${transport}: ${SUBS} REQs from a client that does not read hold at most maxSendBufferBytes + one event`, async () => {
    const relay = await startTestRelay({ policy: { mode: 'open' }, server: { transport }, limits: { maxSendBufferBytes: LIMIT } });
    const w = await TestClient.connect(relay.url);
    const slow = await TestClient.connect(relay.url, { perMessageDeflate: false });
    try {
      let biggest = 0;
      for (let i = 0; i < EVENTS; i++) {
        const e = sign(alice, { kind: 1, content: `${i} ${'x'.repeat(CONTENT)}` });
        biggest = Math.max(biggest, JSON.stringify(e).length);
        w.send(['EVENT', e]);
      }
      await waitFor(() => w.received.filter((m) => m[0] === 'OK').length === EVENTS, 30_000, 'every OK');
      await w.close();

      pause(slow);
      for (let s = 0; s < SUBS; s++) slow.send(['REQ', `s${s}`, { kinds: [1] }]);
      // 20 × 2.4 MB is far more than the kernel's socket buffers: the relay must stall, bounded
      let peak = 0;
      const sample = (): void => {
        peak = Math.max(peak, relay.sendBuffered().max);
      };
      await waitFor(
        () => {
          sample();
          return relay.sendBuffered().max > LIMIT / 2 || relay.connections() < 1;
        },
        30_000,
        'the relay to fill the slow client’s send buffer',
      );
      // keep sampling while the relay would keep queueing if it did not wait for room
      const until = Date.now() + 500;
      await waitFor(
        () => {
          sample();
          return Date.now() > until;
        },
        5_000,
        'sampling',
      );
      assert.equal(relay.connections(), 1, 'the slow reader must not be dropped by the stored-event path');
      assert.ok(peak <= LIMIT + biggest + 200, `held ${peak} bytes for one connection, bound ${LIMIT} + one event (${biggest})`);

      resume(slow);
      for (let s = 0; s < SUBS; s++) await slow.next((m) => m[0] === 'EOSE' && m[1] === `s${s}`, 60_000);
      for (let s = 0; s < SUBS; s++) {
        const n = slow.received.filter((m) => m[0] === 'EVENT' && m[1] === `s${s}`).length;
        assert.equal(n, EVENTS, `subscription s${s} got ${n} events`);
      }
    } finally {
      slow.ws.terminate();
      await relay.destroy();
    }
  });

  test(`${transport}: a dropped slow consumer is logged at info with ip, bytes and reason, and counted in /metrics`, async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const relay = await startTestRelay(
      { policy: { mode: 'open' }, server: { transport }, limits: { maxSendBufferBytes: 65536, eventBurstPerIp: 1000 } },
      { log: pino({ level: 'info' }, sink) },
    );
    const slow = await TestClient.connect(relay.url);
    const writer = await TestClient.connect(relay.url);
    try {
      await slow.req('live', { kinds: [1] });
      pause(slow);
      const big = 'x'.repeat(60_000);
      for (let i = 0; i < 400 && relay.connections() === 2; i++) await writer.publish(sign(alice, { kind: 1, content: big + i }));
      await waitFor(() => relay.connections() === 1, 20_000, 'the slow consumer to be dropped');
      const drops = lines.filter((l) => l.msg === 'dropping slow consumer: send buffer full');
      assert.equal(drops.length, 1, JSON.stringify(lines.slice(-5)));
      assert.equal(drops[0]!.level, 30);
      assert.equal(drops[0]!.reason, 'slow-consumer-live');
      assert.match(String(drops[0]!.ip), /127\.0\.0\.1/);
      assert.ok(Number(drops[0]!.bytes) > 65536, `bytes ${String(drops[0]!.bytes)}`);
      const m = parseExposition(await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text());
      assert.equal(m.value('grasp_relay_connections_dropped_total', { reason: 'slow-consumer-live' }), 1);
      assert.equal(m.types.get('grasp_relay_send_buffered_bytes'), 'gauge');
    } finally {
      slow.ws.terminate();
      await writer.close();
      await relay.destroy();
    }
  });
}
