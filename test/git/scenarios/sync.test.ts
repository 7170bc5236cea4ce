// git.md §6 scenarios 28–31 (GRASP-02 git sync): a relay Y that learns a repository's events from
// relay X by Nostr sync hunts X's clone URL and serves the same refs, HEAD and state (28); backs
// off while X's git is down, succeeds once it is up, and its hourly sweep restores a ref lost on
// disk (29); fetches a PR tip that lives only on X into refs/nostr/<id> (30); and fetches nothing
// from hostile clone URLs, leaving no scratch and recording the failures per remote (31). Real
// relays on loopback, the real git CLI, the injected clock where timers matter.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { waitFor } from '../../helpers/wait.js';
import { ManualClock } from '../../sync/clock.js';
import { commitFile, git, gitOk, keypair, prEvent, randomBlob, startGitRelay, stateEvent, workTree, type GitRelay } from '../helpers.js';
import {
  advanceUntil,
  gitSync,
  hostOf,
  meshAnnouncement,
  missingOn,
  publishTo,
  remoteOf,
  reqIds,
  sameServed,
  scratchLeft,
  served,
  servedLocally,
} from './sync-setup.js';

const owner = keypair('gsync-owner');
const contributor = keypair('gsync-contributor');
const SEC = 1000;
const MIN = 60 * SEC;
/** a hang (a fetch never killed, an engine never idle) fails the test instead of the CI job */
const LIMIT = 180_000;

const push = (work: string, remote: string, ...refspecs: string[]) => git(['push', '--porcelain', remote, ...refspecs], { cwd: work });

const relays: GitRelay[] = [];
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const r of relays.reverse()) await r.destroy().catch(() => undefined);
  for (const c of cleanups) await c();
});

/**
 * On `x`: the announcement (listing every relay of `all`), two commits (main = a, dev = b on top)
 * and a state naming them with HEAD on dev, pushed. Returns the work tree, the ids and the state.
 */
async function repoOnX(x: GitRelay, all: GitRelay[], d: string) {
  const ann = meshAnnouncement(owner, d, all);
  assert.match((await publishTo([x], ann))[0]!, /^purgatory/);
  const work = await workTree(x.repoUrl(owner, d));
  const a = await commitFile(work, 'a.txt', `${d} a\n`);
  await gitOk(['checkout', '-q', '-b', 'dev'], { cwd: work });
  const b = await commitFile(work, 'b.txt', `${d} b\n`);
  const st = stateEvent(owner, d, { 'refs/heads/main': a, 'refs/heads/dev': b }, { head: 'dev' });
  await publishTo([x], st);
  const r = await push(work, 'origin', 'main', 'dev');
  assert.equal(r.code, 0, r.stderr);
  const onX = await served(x.repoUrl(owner, d));
  assert.deepEqual(onX, { refs: { HEAD: b, 'refs/heads/dev': b, 'refs/heads/main': a }, head: 'refs/heads/dev' });
  return { ann, st, work, a, b, onX };
}

describe('28 and 30: Y learns from X by Nostr sync and hunts X', () => {
  let x: GitRelay;
  let y: GitRelay;
  const d = 'twenty-eight';
  let work = '';
  let main = '';

  test('28: Y syncs the state from X, hunts X and serves the same refs, HEAD and state within seconds', { timeout: LIMIT }, async () => {
    x = await startGitRelay();
    y = await startGitRelay({ sync: { enabled: true }, git: { syncEnabled: true, syncSyncedEventDelaySeconds: 0 } });
    relays.push(x, y);
    const setup = await repoOnX(x, [x, y], d);
    work = setup.work;
    main = setup.a;
    // the client announces to every relay it lists (ngit does); Y holds it, empty, in purgatory
    // and learns the state from X by Nostr sync (the announcement's relays name X)
    assert.match((await publishTo([y], setup.ann))[0]!, /^purgatory/);
    await waitFor(async () => sameServed(await servedLocally(y, owner, d), setup.onX), 30_000, 'Y aligned with X');
    assert.deepEqual(await served(y.repoUrl(owner, d)), setup.onX, 'Y serves what X serves');
    await waitFor(async () => (await reqIds(y, { ids: [setup.st.id] })).length === 1, 10_000, 'the state served by Y');
    assert.deepEqual(await reqIds(y, { kinds: [30617], '#d': [d] }), [setup.ann.id], 'the announcement released on Y');
    await gitSync(y).idle();
    const st = gitSync(y).status();
    assert.ok(st.fetches.ok >= 1, `a fetch from X succeeded: ${JSON.stringify(st.fetches)}`);
    assert.equal(st.fetches.failed, 0, JSON.stringify(st.remotes));
    assert.ok(st.objectsImported >= 2, `objects imported: ${st.objectsImported}`);
    assert.ok(st.released >= 1, `released: ${st.released}`);
    const remote = remoteOf(y, hostOf(x));
    assert.ok(remote !== undefined && remote.lastOkAt !== undefined, `X's URL is a healthy remote: ${JSON.stringify(st.remotes)}`);
    assert.equal(remoteOf(y, hostOf(y)), undefined, 'Y never fetches from itself');
    assert.deepEqual(scratchLeft(y), []);
  });

  test('30: a PR whose tip lives only on X reaches Y by Nostr sync; Y fetches it into refs/nostr/<id> and serves the PR', { timeout: LIMIT }, async () => {
    assert.ok(work !== '', 'needs scenario 28');
    await gitOk(['checkout', '-q', '-b', 'feature', main], { cwd: work });
    const tip = await commitFile(work, 'feature.txt', 'a feature\n');
    // ngit computes the PR's id first, pushes the tip to refs/nostr/<id>, then publishes the PR
    // naming the server that took the push in its clone tag: X only
    const pr = prEvent(contributor, owner, d, tip, x);
    const r = await push(work, 'origin', `feature:refs/nostr/${pr.id}`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await missingOn(y, owner, d, [tip]), [tip], 'the tip is not on Y');
    const okBefore = gitSync(y).status().fetches.ok;
    const msg = (await publishTo([x], pr))[0]!;
    assert.doesNotMatch(msg, /purgatory/, 'X holds the tip: the PR is stored at once');

    await waitFor(async () => (await reqIds(y, { ids: [pr.id] })).length === 1, 30_000, 'the PR served by Y');
    const onY = await served(y.repoUrl(owner, d));
    assert.equal(onY.refs[`refs/nostr/${pr.id}`], tip);
    assert.deepEqual(onY, await served(x.repoUrl(owner, d)), 'Y serves what X serves');
    await gitSync(y).idle();
    assert.ok(gitSync(y).status().fetches.ok > okBefore, 'the tip came by a fetch from X');
    // a client of Y gets the PR's commit by its ref
    const clone = (await workTree()) + '-pr';
    await gitOk(['init', '-q', '--bare', clone]);
    await gitOk(['fetch', '-q', y.repoUrl(owner, d), `refs/nostr/${pr.id}:refs/heads/pr`], { cwd: clone });
    assert.equal(await gitOk(['rev-parse', 'refs/heads/pr'], { cwd: clone }), tip);
    assert.deepEqual(scratchLeft(y), []);
  });
});

test('29: X down → Y backs off; X up → Y succeeds; a ref and its objects lost on Y come back with the hourly sweep', { timeout: LIMIT }, async () => {
  const clock = new ManualClock();
  // X restarts on its port: the ws transport (uWS cannot listen again on a port in the same process
  // while a client's connection to it lingers, test/sync/scenarios/reconnect.test.ts)
  const x = await startGitRelay({ server: { transport: 'ws' } });
  const y = await startGitRelay(
    { sync: { enabled: true }, git: { syncEnabled: true, syncSyncedEventDelaySeconds: 1 } },
    { clock, gitSync: { random: () => 0 } },
  );
  relays.push(x, y);
  const d = 'twenty-nine';
  const { ann, st, b, onX } = await repoOnX(x, [x, y], d);
  const urlY = y.repoUrl(owner, d);

  // Y learns the state from X; its first hunt is due 1 s of injected time later
  await publishTo([y], ann);
  await waitFor(() => y.store.purgatory.get(st.id) !== undefined, 30_000, 'the state synced into purgatory on Y');
  const { port, dataDir } = x;
  await x.close(); // X's git is down (connection refused)
  clock.advance(1 * SEC);
  await gitSync(y).idle();
  const down = remoteOf(y, hostOf(x));
  assert.ok(down !== undefined, `X's URL was tried: ${JSON.stringify(gitSync(y).status())}`);
  assert.ok(down.failures >= 1);
  assert.equal(down.lastErrorClass, 'refused', JSON.stringify(down));
  assert.ok(down.nextTryAt !== undefined && down.nextTryAt > clock.now(), `backoff recorded: ${JSON.stringify(down)}`);
  assert.equal(down.lastOkAt, undefined);
  assert.deepEqual((await served(urlY)).refs, {}, 'nothing on Y yet');
  assert.ok(y.store.purgatory.get(st.id) !== undefined, 'the state still waits in purgatory');
  const backoffUntil = down.nextTryAt;

  const x2 = await startGitRelay({ server: { port, transport: 'ws' } }, { dataDir });
  relays.push(x2);
  await advanceUntil(clock, [y], async () => sameServed(await servedLocally(y, owner, d), onX), {
    stepMs: 10 * SEC,
    maxMs: 10 * MIN,
    what: 'Y aligned from X after X came back',
  });
  assert.deepEqual(await served(urlY), onX);
  const up = remoteOf(y, hostOf(x))!;
  assert.ok(up.lastOkAt !== undefined && up.lastOkAt >= backoffUntil, `the URL was retried only after its backoff: ${JSON.stringify(up)}`);
  assert.deepEqual(await reqIds(y, { ids: [st.id] }), [st.id], 'the state released on Y');
  assert.deepEqual(scratchLeft(y), []);

  // lose dev and its commit on Y (behind the relay's back), then let the hourly sweep repair it
  const dir = y.git!.repos.dirOf({ owner: owner.pk, d });
  await gitOk(['update-ref', '-d', 'refs/heads/dev'], { cwd: dir });
  await gitOk(['reflog', 'expire', '--expire=now', '--all'], { cwd: dir });
  await gitOk(['gc', '-q', '--prune=now'], { cwd: dir });
  assert.deepEqual(await missingOn(y, owner, d, [b]), [b], 'dev and its commit are gone from Y');
  const okBefore = gitSync(y).status().fetches.ok;
  const lost = clock.now();
  const took = await advanceUntil(clock, [y], async () => sameServed(await servedLocally(y, owner, d), onX), {
    stepMs: 5 * MIN,
    maxMs: 3 * 60 * MIN,
    what: 'the sweep restored dev on Y',
  });
  assert.deepEqual(await served(urlY), onX);
  const after29 = gitSync(y).status();
  assert.ok(after29.fetches.ok > okBefore, 'the lost commit was fetched from X again');
  // restored by the first hourly sweep after the loss (the sweep that started within 60 min of it).
  // Not `took`: a sweep lists the repositories asynchronously after its timer fires and idle() does
  // not wait for that listing, so under load its check may only start a step or two later.
  assert.ok(after29.lastSweepAt !== undefined && after29.lastSweepAt - lost <= 60 * MIN, `restored by the first sweep (${took / MIN} min; last sweep at +${((after29.lastSweepAt ?? 0) - lost) / MIN} min)`);
  assert.deepEqual(scratchLeft(y), []);
});

/** An HTTP server that accepts requests and never answers (a stalled git server). */
async function stallServer(): Promise<{ port: number; requests: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let requests = 0;
  const srv: Server = createServer(() => void requests++);
  srv.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  return {
    port,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

test('31: hostile clone URLs fetch nothing, leave no scratch, keep the repository unchanged and are backed off', { timeout: LIMIT }, async () => {
  const clockY = new ManualClock();
  const clockZ = new ManualClock();
  const stall = await stallServer();
  cleanups.push(() => stall.close());
  // X serves a commit with a 1 MiB incompressible blob: past Y's quota
  const x = await startGitRelay();
  // Y may reach loopback; its repositories may grow by 64 KiB; fetches stall out after ~1–3 s
  const y = await startGitRelay(
    {
      git: {
        syncEnabled: true,
        syncUserEventDelaySeconds: 0,
        maxRepoBytes: 64 * 1024,
        syncFetchTimeoutSeconds: 3,
        syncLowSpeedSeconds: 1,
        syncLowSpeedBytesPerSecond: 1000,
      },
    },
    { clock: clockY },
  );
  // Z may not reach private addresses (the production default)
  const z = await startGitRelay({ git: { syncEnabled: true, syncUserEventDelaySeconds: 0, syncAllowPrivateAddresses: false } }, { clock: clockZ });
  relays.push(x, y, z);
  const d = 'thirty-one';

  const work = await workTree(x.repoUrl(owner, d));
  const canary = join(work, '..', 'ext-canary');
  const hostile = [
    `file://${work}`, // holds the wanted commit: a fetch from it would bring it
    `ext::sh -c touch% ${canary}`,
    `http://127.0.0.1:${stall.port}/${d}.git`,
  ];
  const ann = meshAnnouncement(owner, d, [x, y, z], { cloneFirst: hostile });
  await publishTo([x], ann);
  const big = await commitFile(work, 'big.bin', randomBlob(1024 * 1024));
  const st = stateEvent(owner, d, { 'refs/heads/main': big });
  await publishTo([x], st);
  const r = await push(work, 'origin', 'main');
  assert.equal(r.code, 0, r.stderr);

  // the client publishes announcement and state to Y and Z: both wait in purgatory, hunts due now
  await publishTo([y, z], ann);
  const objectsBefore = await Promise.all([y, z].map((rl) => gitOk(['count-objects', '-v'], { cwd: rl.git!.repos.dirOf({ owner: owner.pk, d }) })));
  for (const m of await publishTo([y, z], st)) assert.match(m, /^purgatory/);
  // Z first: every URL is refused before any connection is made
  clockZ.advance(0);
  await gitSync(z).idle();
  assert.equal(stall.requests(), 0, 'Z never connected to the stalled server');
  clockY.advance(0);
  await gitSync(y).idle();

  for (const rl of [y, z]) {
    const name = rl === y ? 'Y' : 'Z';
    assert.deepEqual(await missingOn(rl, owner, d, [big]), [big], `${name}: nothing fetched`);
    assert.deepEqual((await served(rl.repoUrl(owner, d))).refs, {}, `${name}: no refs`);
    assert.ok(rl.store.purgatory.get(st.id) !== undefined, `${name}: the state still waits`);
    assert.deepEqual(await reqIds(rl, { ids: [st.id] }), [], `${name}: the state is not served`);
    assert.deepEqual(scratchLeft(rl), [], `${name}: no scratch left`);
    const status = gitSync(rl).status();
    assert.equal(status.fetches.ok, 0, `${name}: ${JSON.stringify(status.fetches)}`);
    assert.ok(
      status.remotes.every((rm) => /^https?:\/\//.test(rm.url)),
      `${name}: file:// and ext:: are never tried: ${JSON.stringify(status.remotes.map((rm) => rm.url))}`,
    );
  }
  const objectsAfter = await Promise.all([y, z].map((rl) => gitOk(['count-objects', '-v'], { cwd: rl.git!.repos.dirOf({ owner: owner.pk, d }) })));
  assert.deepEqual(objectsAfter, objectsBefore, 'no object landed in either repository');
  assert.equal(existsSync(canary), false, 'the ext:: command never ran');

  // Y: the stalled server timed out, X's pack was past the quota; both backed off
  assert.ok(stall.requests() >= 1, 'Y did try the stalled server');
  const stalled = remoteOf(y, `127.0.0.1:${stall.port}`);
  assert.equal(stalled?.lastErrorClass, 'timeout', JSON.stringify(stalled));
  const tooLarge = remoteOf(y, hostOf(x));
  assert.equal(tooLarge?.lastErrorClass, 'too-large', JSON.stringify(tooLarge));
  // Z: every loopback URL refused (forbidden address)
  for (const host of [`127.0.0.1:${stall.port}`, hostOf(x), hostOf(y)]) {
    const rm = remoteOf(z, host);
    assert.equal(rm?.lastErrorClass, 'forbidden-address', `Z → ${host}: ${JSON.stringify(rm)}`);
  }
  for (const [rm, clock] of [
    [stalled!, clockY],
    [tooLarge!, clockY],
    [remoteOf(z, hostOf(x))!, clockZ],
  ] as const) {
    assert.ok(rm.failures >= 1 && rm.lastOkAt === undefined, JSON.stringify(rm));
    assert.ok(rm.nextTryAt !== undefined && rm.nextTryAt > clock.now(), `backoff recorded: ${JSON.stringify(rm)}`);
  }
});
