// Engine-level tests with an in-memory store and ingest against the misbehaving fake peer:
// targets from the store at start, REQ paging, never syncing from ourselves, disconnecting a
// relay nothing wants, persisted state, status shape. No relay process needed: fast.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeConfig, type SyncConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { SyncEngine } from '../../src/sync/index.js';
import { ManualClock } from './clock.js';
import { FakePeer } from './fake-peer.js';
import { MemStore, memIngest, type MemPolicy } from './mem.js';
import type { RetryOptions } from '../../src/sync/retry.js';
import type { NostrEvent } from '../../src/nostr/event.js';
import { announcement, comment, issue, keypair, repository } from './nip34.js';
import { waitFor } from '../helpers/wait.js';

const SELF = 'ws://127.0.0.1:1';
const fakes: FakePeer[] = [];
const engines: SyncEngine[] = [];
after(async () => {
  for (const e of engines) await e.stop();
  for (const f of fakes) await f.close();
});

function setup(sync: Partial<SyncConfig> = {}, opts: { policy?: MemPolicy; retry?: Partial<RetryOptions> } = {}) {
  const store = new MemStore();
  const ingest = memIngest(store, opts.policy);
  const clock = new ManualClock();
  const config = makeConfig({ service: { hosts: ['127.0.0.1:1'] }, sync: { enabled: true, ...sync } });
  const engine = new SyncEngine({
    store: store.asStore(),
    ingest,
    config,
    clock,
    log: silentLogger,
    random: () => 0.5,
    ...(opts.retry !== undefined ? { retry: opts.retry } : {}),
  });
  engines.push(engine);
  return { store, ingest, clock, engine };
}

test('targets are derived from the store at start; REQ paging gets everything; self is never a peer', async () => {
  const fake = await FakePeer.start();
  fakes.push(fake);
  fake.behaviour = { neg: 'neg-err', req: 'ok', ignoreFilters: false, maxPerReq: 4 };
  const repo = repository(keypair('mem'), 'mem', { services: [SELF], relays: [fake.url] });
  const more = Array.from({ length: 12 }, (_, i) => issue(keypair('m2'), repo.address, `i${i}`));
  const cmts = more.map((x) => comment(keypair('m3'), x));
  for (const e of [...repo.all, ...more, ...cmts]) fake.events.push(e);
  const { store, engine } = setup();
  await store.insert(repo.announcement, JSON.stringify(repo.announcement));
  await engine.start();
  assert.deepEqual(
    engine.status().peers.map((p) => p.url),
    [fake.url],
  );
  await waitFor(() => [...repo.all, ...more, ...cmts].every((e) => store.has(e.id)), 5000, 'all events');
  const st = engine.status();
  assert.equal(st.peers[0]!.nip77, 'no');
  assert.equal(st.peers[0]!.state, 'connected');
  assert.ok(st.totals.received >= repo.all.length + more.length + cmts.length);
  assert.equal(typeof JSON.stringify(st), 'string');
  await waitFor(() => engine.peer(fake.url)!.idle, 5000, 'idle');
  assert.equal(engine.status().peers[0]!.pendingBatches, 0);
});

test('a relay nothing wants any more is disconnected; bootstrap relays stay', async () => {
  const fake = await FakePeer.start();
  const boot = await FakePeer.start();
  fakes.push(fake, boot);
  const { store, ingest, engine } = setup({ bootstrapRelays: [boot.url + '/'] });
  await engine.start();
  assert.deepEqual(
    engine.status().peers.map((p) => p.url),
    [boot.url],
  );
  const owner = keypair('moving');
  const a1 = announcement(owner, 'mv', { services: [SELF], relays: [fake.url] });
  await ingest.submit(a1, JSON.stringify(a1), 'client');
  assert.ok(engine.peer(fake.url) !== undefined);
  await waitFor(() => fake.connections === 1, 5000, 'connected');
  // a newer version that no longer lists the fake relay
  const a2 = announcement(owner, 'mv', { services: [SELF], created_at: a1.created_at + 10 });
  await store.insert(a2, JSON.stringify(a2));
  await ingest.submit(a2, JSON.stringify(a2), 'client').catch(() => undefined);
  // the mem ingest stores nothing twice: feed the engine the accepted event directly
  (engine as unknown as { onAccepted(e: typeof a2): void }).onAccepted(a2);
  assert.equal(engine.peer(fake.url), undefined);
  assert.ok(engine.peer(boot.url) !== undefined);
});

test('state persists in meta; a restart within 15 minutes is a quick reconnect', async () => {
  const fake = await FakePeer.start();
  fakes.push(fake);
  fake.behaviour = { neg: 'notice', req: 'ok', ignoreFilters: false, maxPerReq: 1000 };
  const repo = repository(keypair('persist'), 'persist', { services: [SELF], relays: [fake.url] });
  for (const e of repo.all) fake.events.push(e);
  const s = setup();
  await s.store.insert(repo.announcement, JSON.stringify(repo.announcement));
  await s.engine.start();
  await waitFor(() => repo.all.every((e) => s.store.has(e.id)) && s.engine.peer(fake.url)!.idle, 5000, 'synced');
  await s.engine.stop();
  const saved = s.store.getMeta<{ confirmed: string[]; disconnectedAt: number; nip77: string }>(`sync:peer:${fake.url}`);
  assert.ok(saved !== undefined && saved.confirmed.length >= 1 + 1 + 3);
  assert.equal(saved.nip77, 'no');
  assert.equal(saved.disconnectedAt, s.clock.now());

  s.clock.advance(10 * 60_000);
  const engine2 = new SyncEngine({
    store: s.store.asStore(),
    ingest: memIngest(s.store),
    config: makeConfig({ service: { hosts: ['127.0.0.1:1'] }, sync: { enabled: true } }),
    clock: s.clock,
    log: silentLogger,
  });
  engines.push(engine2);
  await engine2.start();
  const p = engine2.peer(fake.url)!;
  await waitFor(() => p.state === 'connected' && p.idle, 5000, 'reconnected');
  assert.equal(p.lastMode, 'quick');
  const since = fake.seen('REQ').filter((m) => (m[2] as { since?: number }).since !== undefined);
  assert.ok(since.length > 0, 'catch-up used since');
  assert.equal((since[0]![2] as { since: number }).since, Math.floor((saved.disconnectedAt - 15 * 60_000) / 1000));
});

test('NIP-42: AUTH answered with the relay key when configured; without one, auth-required is a refusal', async () => {
  const fake = await FakePeer.start();
  fakes.push(fake);
  fake.behaviour = { neg: 'notice', req: 'ok', ignoreFilters: false, maxPerReq: 1000, auth: true };
  const repo = repository(keypair('authrepo'), 'authrepo', { services: [SELF], relays: [fake.url] });
  for (const e of repo.all) fake.events.push(e);

  // without a key: filters refused, batches complete (no retry loop), nothing fetched
  const a = setup();
  await a.store.insert(repo.announcement, JSON.stringify(repo.announcement));
  await a.engine.start();
  const pa = a.engine.peer(fake.url)!;
  await waitFor(() => pa.idle, 5000, 'idle without auth');
  assert.equal(pa.stats.failedBatches, 0);
  assert.equal(a.store.events.size, 1);
  await a.engine.stop();

  // with the relay key
  const relayKey = keypair('relay-key');
  const store = new MemStore();
  await store.insert(repo.announcement, JSON.stringify(repo.announcement));
  const engine = new SyncEngine({
    store: store.asStore(),
    ingest: memIngest(store),
    config: makeConfig({ service: { hosts: ['127.0.0.1:1'] }, sync: { enabled: true } }),
    clock: new ManualClock(),
    log: silentLogger,
    secretKey: relayKey.sk,
  });
  engines.push(engine);
  await engine.start();
  await waitFor(() => repo.all.every((e) => store.has(e.id)), 5000, 'all events after AUTH');
  assert.ok(fake.authPubkeys.includes(relayKey.pk));
});

/** A tiny dependency policy: announcements always; anything else needs its a/E/e target stored. */
const depPolicy: MemPolicy = (ev: NostrEvent, store) => {
  if (ev.kind === 30617) return { action: 'accept' };
  const refs = ev.tags.filter((t) => ['a', 'E', 'e'].includes(t[0]!)).map((t) => t[1]!);
  const ok = refs.some((r) => (r.includes(':') ? [...store.events.values()].some((s) => `30617:${s.event.pubkey}:${s.event.tags.find((t) => t[0] === 'd')?.[1]}` === r) : store.has(r)));
  return ok ? { action: 'accept' } : { action: 'reject', prefix: 'restricted', code: 'unrelated', message: 'restricted: unrelated', waitingFor: refs };
};

for (const mode of ['full events', 'ids only (refetched from the peer)'] as const) {
  test(`retry set: dependents first, all accepted once the dependency arrives — ${mode}`, async () => {
    const fake = await FakePeer.start();
    fakes.push(fake);
    // every REQ answers with everything, dependents first
    fake.behaviour = { neg: 'notice', req: 'ok', ignoreFilters: true, maxPerReq: 1000 };
    const owner = keypair('dep-owner');
    const ann = announcement(owner, 'dep', { services: [SELF], relays: [fake.url] });
    const iss = issue(keypair('dep-r'), `30617:${owner.pk}:dep`);
    const c1 = comment(keypair('dep-c'), iss);
    const c2 = comment(keypair('dep-c2'), c1);
    for (const e of [c2, c1, iss, ann]) fake.events.push(e);
    const trigger = announcement(keypair('dep-trigger'), 'trigger', { services: [SELF], relays: [fake.url] });
    const s = setup({}, { policy: depPolicy, ...(mode === 'full events' ? {} : { retry: { fullTtlMs: 0 } }) });
    await s.store.insert(trigger, JSON.stringify(trigger));
    await s.engine.start();
    await waitFor(() => [ann, iss, c1, c2].every((e) => s.store.has(e.id)), 5000, 'everything accepted');
    assert.ok(s.engine.status().totals.rejected >= 1);
    assert.equal(s.engine.status().totals.retryWaiting, 0);
    const byIds = fake.seen('REQ').filter((m) => (m[2] as { ids?: string[] }).ids !== undefined).length;
    if (mode === 'full events') assert.equal(byIds, 0);
    else assert.ok(byIds >= 1, `refetched by id (${byIds})`);
  });
}

test('a NEG-MSG we cannot decode: REQ for that filter, everything still arrives', async () => {
  const fake = await FakePeer.start();
  fakes.push(fake);
  fake.behaviour = { neg: 'garbage', req: 'ok', ignoreFilters: false, maxPerReq: 1000 };
  const repo = repository(keypair('neggarbage'), 'neggarbage', { services: [SELF], relays: [fake.url] });
  for (const e of repo.all) fake.events.push(e);
  const { store, engine } = setup();
  await store.insert(repo.announcement, JSON.stringify(repo.announcement));
  await engine.start();
  await waitFor(() => repo.all.every((e) => store.has(e.id)) && engine.peer(fake.url)!.idle, 5000, 'all events');
  assert.equal(engine.peer(fake.url)!.stats.failedBatches, 0);
});

test('ids held in purgatory (git.md §2.4) count as held: never fetched into the write path again', async () => {
  const fake = await FakePeer.start();
  fakes.push(fake);
  fake.behaviour = { neg: 'neg-err', req: 'ok', ignoreFilters: false, maxPerReq: 4 };
  const repo = repository(keypair('purg'), 'purg', { services: [SELF], relays: [fake.url] });
  const issues = Array.from({ length: 5 }, (_, i) => issue(keypair('purg2'), repo.address, `p${i}`));
  for (const e of [...repo.all, ...issues]) fake.events.push(e);
  const seen = new Set<string>();
  const { store, engine } = setup({}, { policy: (ev) => (seen.add(ev.id), { action: 'accept' }) });
  const held = issues[2]!;
  store.held.add(held.id);
  await store.insert(repo.announcement, JSON.stringify(repo.announcement));
  await engine.start();
  const others = [...repo.all, ...issues].filter((e) => e !== held);
  await waitFor(() => others.every((e) => store.has(e.id)), 5000, 'the other events');
  await waitFor(() => engine.peer(fake.url)!.idle, 5000, 'idle');
  assert.equal(store.has(held.id), false);
  assert.equal(seen.has(held.id), false, 'the held id never reached the write path');
});

test('an announcement held in purgatory (git.md §2.4) makes its relays sync targets, so its state can arrive', async () => {
  const fake = await FakePeer.start();
  fakes.push(fake);
  fake.behaviour = { neg: 'neg-err', req: 'ok', ignoreFilters: false, maxPerReq: 50 };
  const repo = repository(keypair('held-ann'), 'held', { services: [SELF], relays: [fake.url] });
  const st = repo.rest.find((e) => e.kind === 30618)!;
  fake.events.push(st);
  const seen = new Set<string>();
  const { store, engine } = setup({}, { policy: (ev) => (seen.add(ev.id), { action: 'accept' }) });
  store.heldAnnouncements.push(repo.announcement);
  await engine.start();
  assert.deepEqual(
    engine.status().peers.map((p) => p.url),
    [fake.url],
  );
  await waitFor(() => seen.has(st.id), 5000, 'the state of the held announcement');
});
