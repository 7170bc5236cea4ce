// The git sync scheduler on a real relay (real git, real LMDB, injected clock, a loopback
// fetcher): hunt delays (180 s client / 1 s synced), the 20 s → 2 min backoff until purgatory
// expiry, the reset on a new event, global and per-host limits, the jittered hourly sweep that
// restores a deleted ref with no git process per aligned repository, and local-first imports.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { GitSync } from '../../../src/git/sync/types.js';
import type { NostrEvent } from '../../../src/nostr/event.js';
import { TestClient } from '../../helpers/client.js';
import { sign } from '../../helpers/events.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { ManualClock } from '../../sync/clock.js';
import { announcement, commitFile, gitOk, keypair, lsRemote, startGitRelay, stateEvent, workTree, type GitRelay, type Keypair } from '../helpers.js';
import { LoopbackFetcher, seeded } from './fetchers.js';

const run = promisify(execFile);
const SEC = 1000;
const MIN = 60 * SEC;
const owner = keypair('gsync-owner');
const other = keypair('gsync-other');

// every GRASP_RELAY_* variable is cleared: the config under test is the one written here
for (const k of Object.keys(process.env)) if (k.startsWith('GRASP_RELAY_')) delete process.env[k];

const submitSync = async (relay: GitRelay, ev: NostrEvent) => {
  const r = await relay.ingest.submit(ev, JSON.stringify(ev), 'sync');
  assert.equal(r.ok, true, r.message);
  return r;
};

/** Advance the clock in steps, letting git sync finish what each step started. */
async function advance(clock: ManualClock, sync: GitSync, ms: number, step = 5 * SEC): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await sync.idle();
  }
}

const syncConfig = (extra: Record<string, unknown> = {}) => ({
  git: { syncEnabled: true, syncBackoffBaseSeconds: 1, syncBackoffMaxSeconds: 1, ...extra },
});

describe('hunts', () => {
  const clock = new ManualClock();
  const fetcher = new LoopbackFetcher(clock);
  let relay: GitRelay;
  after(() => relay?.destroy());

  test('a client state is hunted after 180 s, then every 20 s → 40 s → 80 s → 2 min until it expires', async () => {
    relay = await startGitRelay(syncConfig(), { clock, gitSync: { fetcher, random: seeded(1) } });
    fetcher.repos = relay.git!.repos;
    const sync = relay.git!.sync!;
    assert.ok(sync, 'git.syncEnabled creates the engine');
    const client = await TestClient.connect(relay.url);
    const x = 'https://x.example/owner/hunt.git';
    assert.equal((await client.publish(announcement(owner, 'hunt', relay, { extraClone: [x] }))).ok, true);
    const work = await workTree();
    const a = await commitFile(work, 'a.txt', 'hunted\n');
    const t0 = clock.now();
    assert.match((await client.publish(stateEvent(owner, 'hunt', { 'refs/heads/main': a }))).message, /^purgatory/);
    await client.close();
    // steps of 20 s: every delay here is a multiple of it, so each fetch is seen at its exact time
    await advance(clock, sync, 160 * SEC, 20 * SEC);
    assert.equal(fetcher.calls.length, 0, 'nothing before the client delay');
    await advance(clock, sync, 20 * SEC, 20 * SEC);
    assert.equal(fetcher.calls.length, 1);
    assert.deepEqual(fetcher.calls[0], { url: x, want: [a], at: t0 + 180 * SEC, repo: `${owner.pk.slice(0, 8)}/hunt` });
    // the relay's own clone URL is never a source; the state stays in purgatory: backoff until it expires
    await advance(clock, sync, 32 * MIN, 20 * SEC);
    const times = fetcher.calls.map((c) => (c.at - t0) / SEC);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.deepEqual(gaps.slice(0, 5), [20, 40, 80, 120, 120]);
    assert.ok(gaps.every((g) => g <= 120), `gaps ${gaps}`);
    assert.ok(times.at(-1)! < 30 * 60, `no hunt past the purgatory expiry (last at ${times.at(-1)} s)`);
    assert.ok(times.at(-1)! >= 30 * 60 - 120, `hunted until the expiry (last at ${times.at(-1)} s)`);
    const st = sync.status();
    assert.equal(st.fetches.failed, fetcher.calls.length);
    assert.equal(st.remotes[0]?.url, x);
    assert.equal(st.remotes[0]?.lastErrorClass, 'not-found');
    const n = fetcher.calls.length;
    await advance(clock, sync, 10 * MIN, MIN);
    assert.equal(fetcher.calls.length, n, 'the hunt ended with the purgatory event');
  });

  test('a synced state is hunted after 1 s; a new event for the repository resets the backoff; the data lands and is released', async () => {
    const sync = relay.git!.sync!;
    const x = 'https://x.example/owner/reset.git';
    await submitSync(relay, announcement(owner, 'reset', relay, { extraClone: [x] }));
    const work = await workTree();
    const a = await commitFile(work, 'a.txt', 'one\n');
    fetcher.calls.length = 0;
    const t0 = clock.now();
    await submitSync(relay, stateEvent(owner, 'reset', { 'refs/heads/main': a }));
    await advance(clock, sync, 70 * SEC, SEC);
    assert.deepEqual(
      fetcher.calls.map((c) => (c.at - t0) / SEC),
      [1, 21, 61],
    );
    const b = await commitFile(work, 'b.txt', 'two\n');
    const s2 = stateEvent(owner, 'reset', { 'refs/heads/main': b });
    await submitSync(relay, s2);
    await advance(clock, sync, 30 * SEC, SEC);
    assert.deepEqual(
      fetcher.calls.map((c) => (c.at - t0) / SEC),
      [1, 21, 61, 71, 91],
      'reset: 1 s after the new event, then 20 s (not 80 s after the third try)',
    );
    assert.deepEqual(fetcher.calls.at(-1)!.want, [b], 'the newer state replaced the older one in purgatory');
    // the remote comes up: the next try lands the data, the newest state is released
    fetcher.sources.set(x, work);
    await advance(clock, sync, 40 * SEC, SEC); // the next try: 40 s after the one at 91 s
    const refs = await lsRemote(relay.repoUrl(owner, 'reset'));
    assert.equal(refs.get('refs/heads/main'), b);
    const client = await TestClient.connect(relay.url);
    const { events } = await client.req('s', { ids: [s2.id] });
    assert.equal(events.length, 1, 'the state is released from purgatory and served');
    await client.close();
    assert.ok(sync.status().released >= 2, 'the state and the announcement were released');
    assert.ok(sync.status().objectsImported >= 1);
    const n = fetcher.calls.length;
    await advance(clock, sync, 5 * MIN);
    assert.equal(fetcher.calls.length, n, 'nothing more to hunt');
  });
  test('a new event during a check: its own first attempt comes 1 s later, then the backoff starts over', async () => {
    const sync = relay.git!.sync!;
    const x = 'https://x.example/owner/during.git';
    await submitSync(relay, announcement(owner, 'during', relay, { extraClone: [x] }));
    const work = await workTree();
    const a = await commitFile(work, 'a.txt', 'one\n');
    fetcher.calls.length = 0;
    fetcher.hold = true;
    const t0 = clock.now();
    await submitSync(relay, stateEvent(owner, 'during', { 'refs/heads/main': a }));
    clock.advance(SEC);
    await waitFor(() => fetcher.active.has(x), 10_000, 'the first fetch');
    const b = await commitFile(work, 'b.txt', 'two\n');
    await submitSync(relay, stateEvent(owner, 'during', { 'refs/heads/main': b }));
    fetcher.hold = false;
    fetcher.release(x);
    await sync.idle();
    await advance(clock, sync, 30 * SEC, SEC);
    assert.deepEqual(
      fetcher.calls.map((c) => [(c.at - t0) / SEC, c.want[0]]),
      [
        [1, a],
        [2, b],
        [22, b],
      ],
    );
  });
});

describe('limits', () => {
  const clock = new ManualClock();
  const fetcher = new LoopbackFetcher(clock);
  let relay: GitRelay;
  after(() => relay?.destroy());

  test('at most syncConcurrency fetches, at most syncPerHostConcurrency per host; a busy host is retried later', async () => {
    relay = await startGitRelay(syncConfig({ syncConcurrency: 2, syncPerHostConcurrency: 1 }), { clock, gitSync: { fetcher, random: seeded(2) } });
    fetcher.repos = relay.git!.repos;
    fetcher.hold = true;
    const sync = relay.git!.sync!;
    const url = (d: string) => (d === 'l1' || d === 'l2' ? `https://h1.example/${d}.git` : `https://${d}.example/${d}.git`);
    const work = await workTree();
    for (const d of ['l1', 'l2', 'l3', 'l4']) {
      await submitSync(relay, announcement(owner, d, relay, { extraClone: [url(d)] }));
      const c = await commitFile(work, `${d}.txt`, d);
      await submitSync(relay, stateEvent(owner, d, { 'refs/heads/main': c }));
    }
    clock.advance(SEC);
    await waitFor(() => fetcher.active.size === 2, 10_000, 'two fetches');
    const first = [...fetcher.active].sort();
    assert.ok(first.includes(url('l1')) || first.includes(url('l2')));
    assert.ok(!(first.includes(url('l1')) && first.includes(url('l2'))), 'one fetch per host at a time');
    assert.equal(sync.status().running, 2);
    for (const u of first) fetcher.release(u);
    await waitFor(() => fetcher.calls.length >= 3 && fetcher.active.size >= 1, 10_000, 'the next fetch');
    for (let i = 0; i < 20 && fetcher.calls.length < 4; i++) {
      for (const u of fetcher.active) fetcher.release(u);
      clock.advance(5 * SEC);
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => fetcher.calls.length >= 4, 10_000, 'every repository fetched');
    for (const u of fetcher.active) fetcher.release(u);
    fetcher.hold = false;
    await sync.idle();
    assert.deepEqual(new Set(fetcher.calls.slice(0, 4).map((c) => c.url)), new Set(['l1', 'l2', 'l3', 'l4'].map(url)));
    assert.equal(fetcher.maxActive, 2, 'never more than syncConcurrency at once');
    assert.ok(sync.status().fetches.skipped >= 1, 'the busy host was skipped');
  });

  test('close() aborts a fetch in progress and resolves', async () => {
    const sync = relay.git!.sync!;
    fetcher.hold = true;
    await submitSync(relay, announcement(owner, 'l5', relay, { extraClone: ['https://h5.example/l5.git'] }));
    const work = await workTree();
    const c = await commitFile(work, 'l5.txt', 'l5');
    await submitSync(relay, stateEvent(owner, 'l5', { 'refs/heads/main': c }));
    const n = fetcher.calls.length;
    clock.advance(SEC);
    await waitFor(() => fetcher.calls.length > n, 10_000, 'a fetch');
    await sync.close();
    assert.equal(fetcher.active.size, 0);
    assert.equal(sync.status().running, 0);
  });
});

describe('the hourly sweep', () => {
  const clock = new ManualClock();
  const fetcher = new LoopbackFetcher(clock);
  let relay: GitRelay;
  after(() => relay?.destroy());

  test('each repository is checked once an hour at a jittered offset; a deleted ref is restored; an aligned repository costs one git process', async () => {
    // a git wrapper logging every command the relay runs
    const dir = tempDir();
    const log = join(dir, 'git.log');
    const wrapper = join(dir, 'git');
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec git "$@"\n`);
    chmodSync(wrapper, 0o755);
    relay = await startGitRelay(syncConfig({ binary: wrapper }), { clock, gitSync: { fetcher, random: seeded(3) } });
    fetcher.repos = relay.git!.repos;
    const sync = relay.git!.sync!;
    const start = clock.now();
    const client = await TestClient.connect(relay.url);
    const names = ['s1', 's2', 's3', 's4'];
    for (const d of names) {
      assert.equal((await client.publish(announcement(owner, d, relay))).ok, true);
      const work = await workTree(relay.repoUrl(owner, d));
      const c = await commitFile(work, 'f.txt', d);
      await client.publish(stateEvent(owner, d, { 'refs/heads/main': c }));
      await gitOk(['push', '-q', 'origin', 'main'], { cwd: work });
    }
    await client.close();
    const repos = relay.git!.repos;
    const main = async (d: string) => (await repos.refs({ owner: owner.pk, d })).get('refs/heads/main');
    for (const d of names) assert.ok(await main(d), `${d} pushed`);
    // the hunts scheduled by the client states find everything there
    await advance(clock, sync, 4 * MIN, MIN);
    for (const d of names) {
      const r = { owner: owner.pk, d };
      const cur = (await repos.refs(r)).get('refs/heads/main')!;
      await repos.update(r, [{ ref: 'refs/heads/main', old: cur, new: '0'.repeat(40) }]);
    }
    // the first sweep cycle began at start with no repository; the next one begins an hour later
    await advance(clock, sync, start + 60 * MIN - clock.now(), MIN);
    const restoredAt = new Map<string, number>();
    for (let m = 0; m <= 60; m++) {
      for (const d of names) if (!restoredAt.has(d) && (await main(d)) !== undefined) restoredAt.set(d, m);
      await advance(clock, sync, MIN, MIN);
    }
    assert.equal(restoredAt.size, names.length, 'every deleted ref restored within the hour');
    const minutes = [...restoredAt.values()];
    assert.ok(new Set(minutes).size >= 3, `checks spread over the hour (minutes ${minutes})`);
    assert.ok(Math.max(...minutes) - Math.min(...minutes) >= 15, `spread (minutes ${minutes})`);
    assert.equal(fetcher.calls.length, 0, 'nothing fetched: the objects were held');
    // cost of checking aligned repositories
    writeFileSync(log, '');
    const t = process.hrtime.bigint();
    await sync.sweep();
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    // refs and HEAD are read from the repositories' files: an aligned repository spawns no git process
    assert.equal(lines.length, 0, lines.join('\n'));
    // baseline in the same run: the same number of bare `for-each-ref` processes through the wrapper
    const b0 = process.hrtime.bigint();
    for (const d of names) await run(wrapper, [`--git-dir=${repos.dirOf({ owner: owner.pk, d })}`, 'for-each-ref']);
    const base = Number(process.hrtime.bigint() - b0) / 1e6;
    console.log(`# sweep of ${names.length} aligned repositories: ${ms.toFixed(1)} ms = ${(ms / base).toFixed(2)}x ${names.length} bare for-each-ref (${base.toFixed(1)} ms)`);
    assert.ok(sync.status().lastSweepAt !== undefined && sync.status().nextSweepAt! > clock.now());
  });

  test('resync reports progress over every hosted repository', async () => {
    const sync = relay.git!.sync!;
    const p = sync.resync();
    assert.equal(p.finished, false);
    await waitFor(() => sync.status().resync?.finished === true, 20_000, 'resync');
    assert.deepEqual(sync.status().resync, { total: 4, done: 4, aligned: 4, missing: 0, finished: true });
  });
});

describe('local first', () => {
  const clock = new ManualClock();
  const fetcher = new LoopbackFetcher(clock);
  let relay: GitRelay;
  after(() => relay?.destroy());

  test("a state waiting for one repository is served from another hosted repository of the identifier, without any fetch", async () => {
    relay = await startGitRelay(syncConfig(), { clock, gitSync: { fetcher, random: seeded(4) } });
    fetcher.repos = relay.git!.repos;
    const sync = relay.git!.sync!;
    const client = await TestClient.connect(relay.url);
    const d = 'shared';
    const b: Keypair = other;
    assert.equal((await client.publish(announcement(owner, d, relay))).ok, true);
    assert.equal((await client.publish(announcement(b, d, relay, { extraClone: ['https://x.example/b/shared.git'] }))).ok, true);
    const work = await workTree(relay.repoUrl(owner, d));
    const c = await commitFile(work, 'f.txt', 'shared\n');
    // b's state first: no hosted repository holds c yet → purgatory, hunted in 180 s
    const sb = stateEvent(b, d, { 'refs/heads/main': c });
    assert.match((await client.publish(sb)).message, /^purgatory/);
    // the owner's state and push: b's repository does not list the owner, so fan-out leaves it alone
    assert.match((await client.publish(stateEvent(owner, d, { 'refs/heads/main': c }))).message, /^purgatory/);
    await gitOk(['push', '-q', 'origin', 'main'], { cwd: work });
    assert.equal((await lsRemote(relay.repoUrl(b, d))).get('refs/heads/main'), undefined);
    await advance(clock, sync, 180 * SEC, 30 * SEC);
    assert.equal((await lsRemote(relay.repoUrl(b, d))).get('refs/heads/main'), c, "imported from the owner's repository");
    const { events } = await client.req('s', { ids: [sb.id] });
    assert.equal(events.length, 1, "b's state released");
    assert.equal(fetcher.calls.length, 0, 'no network');
    await client.close();
  });

  test('two repositories of one identifier waiting for the same data: one fetch, the other imports it locally', async () => {
    const sync = relay.git!.sync!;
    const d = 'forked';
    const x = 'https://x.example/forked.git';
    await submitSync(relay, announcement(owner, d, relay, { extraClone: [x] }));
    await submitSync(relay, announcement(other, d, relay, { extraClone: [x] }));
    const work = await workTree();
    const c = await commitFile(work, 'f.txt', 'forked\n');
    fetcher.sources.set(x, work);
    await submitSync(relay, stateEvent(owner, d, { 'refs/heads/main': c }));
    await submitSync(relay, stateEvent(other, d, { 'refs/heads/main': c }));
    await advance(clock, sync, 2 * SEC, SEC);
    for (const k of [owner, other]) assert.equal((await lsRemote(relay.repoUrl(k, d))).get('refs/heads/main'), c);
    assert.equal(fetcher.calls.length, 1, 'checks of one identifier run one after the other');
  });
});

describe('PR tips and quota', () => {
  const clock = new ManualClock();
  const fetcher = new LoopbackFetcher(clock);
  let relay: GitRelay;
  let quota: GitRelay | undefined;
  after(async () => {
    await relay?.destroy();
    await quota?.destroy();
  });

  /** An announced repository with a pushed, released state; returns the work tree. */
  async function hostedWithData(r: GitRelay, d: string, extraClone: string[] = []): Promise<string> {
    const client = await TestClient.connect(r.url);
    assert.equal((await client.publish(announcement(owner, d, r, { extraClone }))).ok, true);
    const work = await workTree(r.repoUrl(owner, d));
    const c = await commitFile(work, 'f.txt', `${d}\n`);
    await client.publish(stateEvent(owner, d, { 'refs/heads/main': c }));
    await gitOk(['push', '-q', 'origin', 'main'], { cwd: work });
    await client.close();
    return work;
  }

  test("a PR's tip is fetched from the PR's own clone URL first into refs/nostr/<id>; a deleted PR ref is restored by the sweep", async () => {
    relay = await startGitRelay(syncConfig(), { clock, gitSync: { fetcher, random: seeded(5) } });
    fetcher.repos = relay.git!.repos;
    const sync = relay.git!.sync!;
    const repoUrl = 'https://x.example/owner/prs.git';
    const work = await hostedWithData(relay, 'prs', [repoUrl]);
    await advance(clock, sync, 4 * MIN, MIN); // the state's hunt finds its data here
    fetcher.calls.length = 0;
    const fork = 'https://fork.example/other/prs.git';
    await gitOk(['checkout', '-q', '-b', 'feature'], { cwd: work });
    const tip = await commitFile(work, 'feature.txt', 'a feature\n');
    fetcher.sources.set(fork, work);
    const pr = sign(other, {
      kind: 1618,
      tags: [
        ['a', `30617:${owner.pk}:prs`],
        ['p', owner.pk],
        ['subject', 'a feature'],
        ['c', tip],
        ['clone', fork],
      ],
      content: 'please pull',
    });
    assert.match((await submitSync(relay, pr)).message, /^purgatory/);
    await advance(clock, sync, 2 * SEC, SEC);
    assert.deepEqual(
      fetcher.calls.map((c) => [c.url, c.want]),
      [[fork, [tip]]],
      "the PR's clone URL first, and it delivered",
    );
    const ref = `refs/nostr/${pr.id}`;
    assert.equal((await lsRemote(relay.repoUrl(owner, 'prs'))).get(ref), tip);
    const client = await TestClient.connect(relay.url);
    assert.equal((await client.req('s', { ids: [pr.id] })).events.length, 1, 'the PR is released');
    await client.close();
    // the ref disappears on disk: the sweep writes it again from the objects already held
    const r = { owner: owner.pk, d: 'prs' };
    await relay.git!.repos.update(r, [{ ref, old: tip, new: '0'.repeat(40) }]);
    await sync.sweep();
    assert.equal((await relay.git!.repos.refs(r)).get(ref), tip);
    assert.equal(fetcher.calls.length, 1, 'no fetch for it');
  });

  test('no fetch for a repository at git.maxRepoBytes', async () => {
    const qfetcher = new LoopbackFetcher(clock);
    quota = await startGitRelay(syncConfig({ maxRepoBytes: 1 }), { clock, gitSync: { fetcher: qfetcher, random: seeded(6) } });
    qfetcher.repos = quota.git!.repos;
    const sync = quota.git!.sync!;
    const url = 'https://x.example/owner/full.git';
    const work = await hostedWithData(quota, 'full', [url]);
    qfetcher.sources.set(url, work);
    const next = await commitFile(work, 'g.txt', 'more\n');
    await submitSync(quota, stateEvent(owner, 'full', { 'refs/heads/main': next }));
    const skipped = sync.status().fetches.skipped;
    await advance(clock, sync, 30 * SEC, SEC);
    assert.equal(qfetcher.calls.length, 0, 'the repository is over its size limit');
    assert.ok(sync.status().fetches.skipped > skipped);
  });
});
