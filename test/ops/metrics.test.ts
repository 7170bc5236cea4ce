// GET /metrics on a real relay: Prometheus names and types, counters that move when a client
// publishes, queries and disconnects, separate registries per relay, and the config switches.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';
import { parseExposition, scrape } from './prom.js';

let relay: TestRelay;
before(async () => {
  relay = await startTestRelay({ policy: { mode: 'open' } });
});
after(async () => {
  await relay?.destroy();
});

test('exposes the documented metrics with Prometheus types and base units', async () => {
  const res = await fetch(`http://127.0.0.1:${relay.port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const m = parseExposition(await res.text());
  const expected: Record<string, string> = {
    grasp_relay_info: 'gauge',
    grasp_relay_start_time_seconds: 'gauge',
    grasp_relay_connections: 'gauge',
    grasp_relay_connections_closed_total: 'counter',
    grasp_relay_messages_total: 'counter',
    grasp_relay_events_total: 'counter',
    grasp_relay_store_events: 'gauge',
    grasp_relay_store_bytes: 'gauge',
    grasp_relay_req_duration_seconds: 'histogram',
    grasp_relay_memory_bytes: 'gauge',
    process_resident_memory_bytes: 'gauge',
    nodejs_eventloop_lag_seconds: 'gauge',
  };
  for (const [name, type] of Object.entries(expected)) {
    // prom-client writes counter TYPE lines under the full name (with _total)
    assert.equal(m.types.get(name), type, `${name} should be a ${type}`);
    assert.ok((m.help.get(name) ?? '').length > 0, `${name} has HELP`);
  }
  // naming conventions: every grasp_relay counter ends in _total, no unit-less durations
  for (const [name, type] of m.types) {
    if (!name.startsWith('grasp_relay_')) continue;
    if (type === 'counter') assert.match(name, /_total$/, name);
    assert.doesNotMatch(name, /_(ms|milliseconds|kb|mb)(_|$)/, name);
  }
  const info = m.all('grasp_relay_info')[0]!;
  assert.equal(info.value, 1);
  assert.equal(info.labels.version, '0.1.0');
  assert.equal(info.labels.policy_mode, 'open');
  assert.equal(info.labels.verify_backend, relay.verifier.backend);
  assert.ok(['uws', 'ws'].includes(info.labels.transport!), info.labels.transport);
  assert.equal(m.value('grasp_relay_start_time_seconds'), Math.floor(relay.startedAt / 1000));
  // every write-path outcome is present from the start (0), so rate() works before the first event
  for (const outcome of ['stored', 'duplicate', 'invalid', 'bad-signature', 'policy', 'store-refused', 'error']) {
    assert.equal(typeof m.value('grasp_relay_events_total', { outcome }), 'number', outcome);
  }
  // the resident set split (Linux): anonymous + file-backed = RSS, within what changes between reads
  if (process.platform === 'linux') {
    const anon = m.value('grasp_relay_memory_bytes', { kind: 'anonymous' })!;
    const file = m.value('grasp_relay_memory_bytes', { kind: 'file' })!;
    const rss = m.value('process_resident_memory_bytes')!;
    assert.ok(anon > 10 * 1024 * 1024 && file > 1024 * 1024, `anonymous ${anon}, file ${file}`);
    assert.ok(Math.abs(anon + file - rss) < 0.25 * rss, `anonymous ${anon} + file ${file} vs RSS ${rss}`);
  }
  // no sync engine on this relay: no peer series
  assert.equal(m.types.has('grasp_relay_peer_up'), false);
  // the git half is off on this relay: no git series
  assert.deepEqual([...m.types.keys()].filter((n) => n.startsWith('grasp_relay_git_')), []);
});

test('counters move with client traffic; gauges follow connections and the store', async () => {
  const before = await scrape(relay.port);
  const v = (m: typeof before, name: string, labels: Record<string, string> = {}) => m.value(name, labels) ?? 0;

  const client = await TestClient.connect(relay.url);
  await waitFor(() => relay.connections() === 1, 5000, 'connection registered');
  const alice = keypair('ops-metrics-alice');
  const events = [1, 2, 3].map((i) => sign(alice, { kind: 1, content: `metrics ${i}` }));
  for (const e of events) assert.equal((await client.publish(e)).ok, true);
  assert.equal((await client.publish(events[0]!)).ok, true); // duplicate
  const bad = { ...sign(alice, { kind: 1, content: 'signed' }), content: 'tampered' };
  assert.equal((await client.publish(bad)).ok, false); // id does not match
  const { events: got } = await client.req('q', { authors: [alice.pk] });
  assert.equal(got.length, 3);
  client.sendRaw('not json');
  await client.next((x) => x[0] === 'NOTICE');

  const during = await scrape(relay.port);
  assert.equal(v(during, 'grasp_relay_connections'), 1);
  assert.equal(v(during, 'grasp_relay_messages_total', { type: 'EVENT' }) - v(before, 'grasp_relay_messages_total', { type: 'EVENT' }), 5);
  assert.equal(v(during, 'grasp_relay_messages_total', { type: 'REQ' }) - v(before, 'grasp_relay_messages_total', { type: 'REQ' }), 1);
  assert.equal(v(during, 'grasp_relay_messages_total', { type: 'invalid' }) - v(before, 'grasp_relay_messages_total', { type: 'invalid' }), 1);
  assert.equal(v(during, 'grasp_relay_events_total', { outcome: 'stored' }) - v(before, 'grasp_relay_events_total', { outcome: 'stored' }), 3);
  assert.equal(v(during, 'grasp_relay_events_total', { outcome: 'duplicate' }) - v(before, 'grasp_relay_events_total', { outcome: 'duplicate' }), 1);
  const refusedBefore = v(before, 'grasp_relay_events_total', { outcome: 'invalid' }) + v(before, 'grasp_relay_events_total', { outcome: 'bad-signature' });
  const refusedDuring = v(during, 'grasp_relay_events_total', { outcome: 'invalid' }) + v(during, 'grasp_relay_events_total', { outcome: 'bad-signature' });
  assert.equal(refusedDuring - refusedBefore, 1);
  assert.equal(v(during, 'grasp_relay_store_events') - v(before, 'grasp_relay_store_events'), 3);
  assert.equal(v(during, 'grasp_relay_store_events'), relay.store.stats().events);
  assert.ok(v(during, 'grasp_relay_store_bytes') > 0);
  // the REQ was timed: one more observation, its sum grew, buckets are cumulative
  assert.equal(v(during, 'grasp_relay_req_duration_seconds_count') - v(before, 'grasp_relay_req_duration_seconds_count'), 1);
  assert.ok(v(during, 'grasp_relay_req_duration_seconds_sum') > v(before, 'grasp_relay_req_duration_seconds_sum'));
  const buckets = during.all('grasp_relay_req_duration_seconds_bucket');
  assert.ok(buckets.length >= 10);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, 'cumulative buckets');
  assert.equal(buckets.at(-1)!.labels.le, '+Inf');
  assert.equal(buckets.at(-1)!.value, v(during, 'grasp_relay_req_duration_seconds_count'));

  await client.close();
  await waitFor(() => relay.connections() === 0, 5000, 'connection gone');
  const afterClose = await scrape(relay.port);
  assert.equal(v(afterClose, 'grasp_relay_connections'), 0);
  assert.equal(v(afterClose, 'grasp_relay_connections_closed_total') - v(during, 'grasp_relay_connections_closed_total'), 1);
});

test('two relays in one process keep separate registries', async () => {
  const other = await startTestRelay({ policy: { mode: 'open' } });
  try {
    const c = await TestClient.connect(other.url);
    assert.equal((await c.publish(sign(keypair('ops-metrics-bob'), { kind: 1, content: 'only on the other relay' }))).ok, true);
    await c.close();
    const mine = await scrape(relay.port);
    const theirs = await scrape(other.port);
    assert.equal(theirs.value('grasp_relay_events_total', { outcome: 'stored' }), 1);
    assert.equal(theirs.value('grasp_relay_store_events'), 1);
    assert.equal(mine.value('grasp_relay_store_events'), relay.store.stats().events);
    assert.notEqual(mine.value('grasp_relay_start_time_seconds'), undefined);
  } finally {
    await other.destroy();
  }
});

test('metrics.enabled = false: no /metrics; metrics.statusPage = false: plain GET /, no /status', async () => {
  const off = await startTestRelay({ metrics: { enabled: false, statusPage: false } });
  try {
    assert.equal((await fetch(`http://127.0.0.1:${off.port}/metrics`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${off.port}/status`)).status, 404);
    const home = await fetch(`http://127.0.0.1:${off.port}/`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type') ?? '', /^text\/plain/);
    // NIP-11 is unaffected
    const nip11 = await fetch(`http://127.0.0.1:${off.port}/`, { headers: { accept: 'application/nostr+json' } });
    assert.equal(((await nip11.json()) as { name: string }).name, 'grasp-relay');
  } finally {
    await off.destroy();
  }
});
