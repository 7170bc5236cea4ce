// Live EVENT frames on both transports under bursts: many subscriptions over several connections,
// hundreds of events published without waiting, so a burst's frames outgrow uWS's frame slab
// (src/live/frames.ts) and it is reused between bursts. Every subscription must get every event
// exactly once, each frame intact (the event as published, under its own subscription id).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { skipWithoutUws, startTestRelay } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';
import type { NostrEvent } from '../../src/nostr/event.js';

const CONNECTIONS = 4;
const SUBS_PER_CONNECTION = 5;
const EVENTS = 300;

for (const transport of ['uws', 'ws'] as const) {
  test(`${transport}: bursts of live frames arrive intact, once per subscription`, { skip: skipWithoutUws(transport), timeout: 120_000 }, async () => {
    const relay = await startTestRelay({ policy: { mode: 'open' }, server: { transport }, limits: { eventBurstPerIp: 100_000, eventsPerMinutePerIp: 1_000_000 } });
    const alice = keypair('alice');
    const clients: TestClient[] = [];
    try {
      for (let c = 0; c < CONNECTIONS; c++) clients.push(await TestClient.connect(relay.url));
      for (const [c, client] of clients.entries()) {
        for (let s = 0; s < SUBS_PER_CONNECTION; s++) {
          // sub ids of different lengths: frames of different sizes, back to back in the slab
          client.send(['REQ', `c${c}-s${s}-${'x'.repeat(s * 7)}`, { kinds: [1], authors: [alice.pk], limit: 0 }]);
          await client.next((m) => m[0] === 'EOSE');
        }
      }
      const writer = await TestClient.connect(relay.url);
      clients.push(writer);
      const published = new Map<string, NostrEvent>();
      for (let i = 0; i < EVENTS; i++) {
        const e = sign(alice, { kind: 1, content: `${i} ${'é'.repeat(200 + (i % 50) * 20)}` });
        published.set(e.id, JSON.parse(JSON.stringify(e)) as NostrEvent);
        writer.send(['EVENT', e]);
      }
      await waitFor(() => writer.received.filter((m) => m[0] === 'OK').length === EVENTS, 60_000, 'OK for every event');
      assert.ok(writer.received.every((m) => m[0] !== 'OK' || m[2] === true), 'all accepted');
      const want = CONNECTIONS * SUBS_PER_CONNECTION * EVENTS;
      const deliveries = (): number => clients.slice(0, CONNECTIONS).reduce((n, c) => n + c.received.filter((m) => m[0] === 'EVENT').length, 0);
      await waitFor(() => deliveries() >= want, 60_000, `${want} deliveries`);
      for (const [c, client] of clients.slice(0, CONNECTIONS).entries()) {
        for (let s = 0; s < SUBS_PER_CONNECTION; s++) {
          const sub = `c${c}-s${s}-${'x'.repeat(s * 7)}`;
          const got = client.received.filter((m) => m[0] === 'EVENT' && m[1] === sub).map((m) => m[2] as NostrEvent);
          assert.equal(got.length, EVENTS, `${sub}: ${got.length} events`);
          assert.equal(new Set(got.map((e) => e.id)).size, EVENTS, `${sub}: each event once`);
          for (const e of got) assert.deepEqual(e, published.get(e.id), `${sub}: event ${e.id} intact`);
        }
        assert.equal(client.received.filter((m) => m[0] === 'EVENT').length, SUBS_PER_CONNECTION * EVENTS, 'no stray frames');
      }
    } finally {
      for (const c of clients) await c.close();
      await relay.destroy();
    }
  });
}
