// git.md §6 scenarios 14–17: purgatory over time (injected clock), across a restart, and under
// NIP-09 deletions. Events in purgatory are never served; what expires cannot authorise a push.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TestClient } from '../../helpers/client.js';
import { sign } from '../../helpers/events.js';
import { ManualClock } from '../../sync/clock.js';
import { announcement, commitFile, git, keypair, lsRemote, startGitRelay, stateEvent, workTree, type GitRelay } from '../helpers.js';

const owner = keypair('purg-owner');
const MIN = 60_000;
const HOUR = 60 * MIN;

const push = (work: string, ...refspecs: string[]) => git(['push', '--porcelain', 'origin', ...refspecs], { cwd: work });
const infoRefs = (url: string) => fetch(`${url}/info/refs?service=git-upload-pack`).then((r) => r.status);

describe('purgatory over time', () => {
  let relay: GitRelay;
  const clock = new ManualClock();
  after(() => relay?.destroy());

  test('14: an expired state cannot authorise; sync may bring it back only after the retry window; a client at once', async () => {
    relay = await startGitRelay({}, { clock });
    const client = await TestClient.connect(relay.url);
    assert.equal((await client.publish(announcement(owner, 'fourteen', relay))).ok, true);
    const work = await workTree(relay.repoUrl(owner, 'fourteen'));
    const a = await commitFile(work, 'a.txt', 'x\n');
    const st = stateEvent(owner, 'fourteen', { 'refs/heads/main': a });
    assert.match((await client.publish(st)).message, /^purgatory/);
    clock.advance(31 * MIN);
    await relay.git!.sweep();
    const r = await push(work, 'main');
    assert.notEqual(r.code, 0, 'the expired state authorises nothing');
    const raw = JSON.stringify(st);
    const viaSync = await relay.ingest.submit(st, raw, 'sync');
    assert.equal(viaSync.ok, false);
    assert.match(viaSync.message, /expired from purgatory/);
    clock.advance(6 * HOUR + MIN);
    const later = await relay.ingest.submit(st, raw, 'sync');
    assert.equal(later.ok, true, later.message);
    // a client's re-send of an expired event is admitted at once
    const st2 = stateEvent(owner, 'fourteen', { 'refs/heads/main': a });
    assert.equal((await client.publish(st2)).ok, true);
    clock.advance(31 * MIN);
    await relay.git!.sweep();
    const again = await client.publish(st2);
    assert.equal(again.ok, true, again.message);
    assert.equal((await push(work, 'main')).code, 0);
    await client.close();
  });

  test('15: an expired announcement is dormant (404), revived by a late state; without one it is dropped', async () => {
    const client = await TestClient.connect(relay.url);
    assert.equal((await client.publish(announcement(owner, 'fifteen', relay))).ok, true);
    const url = relay.repoUrl(owner, 'fifteen');
    assert.equal(await infoRefs(url), 200);
    clock.advance(31 * MIN);
    await relay.git!.sweep();
    assert.equal(await infoRefs(url), 404, 'dormant: the repository is gone');
    const work = await workTree(url);
    const a = await commitFile(work, 'a.txt', 'late\n');
    assert.equal((await client.publish(stateEvent(owner, 'fifteen', { 'refs/heads/main': a }))).ok, true);
    assert.equal(await infoRefs(url), 200, 'revived by the state');
    assert.equal((await push(work, 'main')).code, 0);

    const other = announcement(owner, 'fifteen-b', relay);
    assert.equal((await client.publish(other)).ok, true);
    const urlB = relay.repoUrl(owner, 'fifteen-b');
    clock.advance(31 * MIN);
    await relay.git!.sweep();
    clock.advance(24 * HOUR + MIN);
    await relay.git!.sweep();
    assert.equal(await infoRefs(urlB), 404);
    const back = await relay.ingest.submit(other, JSON.stringify(other), 'sync');
    assert.equal(back.ok, false, 'dropped and remembered');
    await client.close();
  });
});

test('16: purgatory survives a restart: the push after it is accepted and released', async () => {
  const first = await startGitRelay({ server: { transport: 'ws' } });
  const port = first.port;
  const dataDir = first.dataDir;
  let client = await TestClient.connect(first.url);
  assert.equal((await client.publish(announcement(owner, 'sixteen', first))).ok, true);
  const work = await workTree(first.repoUrl(owner, 'sixteen'));
  const a = await commitFile(work, 'a.txt', 'persist\n');
  const st = stateEvent(owner, 'sixteen', { 'refs/heads/main': a });
  assert.match((await client.publish(st)).message, /^purgatory/);
  await client.close();
  await first.close();
  const second = await startGitRelay({ server: { transport: 'ws', port } }, { dataDir });
  try {
    const r = await push(work, 'main');
    assert.equal(r.code, 0, r.stderr);
    client = await TestClient.connect(second.url);
    assert.equal((await client.req('q16', { ids: [st.id] })).events.length, 1);
    assert.equal((await lsRemote(second.repoUrl(owner, 'sixteen'))).get('refs/heads/main'), a);
    await client.close();
  } finally {
    await second.destroy();
  }
});

test('17: deleting a purgatory state (by e, and by a) leaves nothing to authorise the push', async () => {
  const relay = await startGitRelay();
  try {
    const client = await TestClient.connect(relay.url);
    for (const how of ['e', 'a'] as const) {
      const d = `seventeen-${how}`;
      assert.equal((await client.publish(announcement(owner, d, relay))).ok, true);
      const work = await workTree(relay.repoUrl(owner, d));
      const a = await commitFile(work, 'a.txt', `${how}\n`);
      const st = stateEvent(owner, d, { 'refs/heads/main': a });
      assert.match((await client.publish(st)).message, /^purgatory/);
      const tag = how === 'e' ? ['e', st.id] : ['a', `30618:${owner.pk}:${d}`];
      const del = sign(owner, { kind: 5, tags: [tag, ['k', '30618']] });
      const ok = await client.publish(del);
      assert.equal(ok.ok, true, ok.message);
      const r = await push(work, 'main');
      assert.notEqual(r.code, 0, `deleted by ${how}`);
      assert.equal((await lsRemote(relay.repoUrl(owner, d))).size, 0);
    }
    await client.close();
  } finally {
    await relay.destroy();
  }
});

test('retired: an announcement that drops this service leaves the repository read-only for git.retiredDays, then 404', async () => {
  const clock = new ManualClock();
  const relay = await startGitRelay({ git: { retiredDays: 7 } }, { clock });
  try {
    const client = await TestClient.connect(relay.url);
    assert.equal((await client.publish(announcement(owner, 'retiring', relay))).ok, true);
    const url = relay.repoUrl(owner, 'retiring');
    const work = await workTree(url);
    const a = await commitFile(work, 'a.txt', 'before\n');
    assert.equal((await client.publish(stateEvent(owner, 'retiring', { 'refs/heads/main': a }))).ok, true);
    assert.equal((await push(work, 'main')).code, 0);
    // the owner moves the repository elsewhere
    const moved = sign(owner, {
      kind: 30617,
      tags: [['d', 'retiring'], ['clone', 'https://elsewhere.example/retiring.git'], ['relays', 'wss://elsewhere.example']],
    });
    const ok = await client.publish(moved);
    assert.equal(ok.ok, true, ok.message);
    assert.equal((await lsRemote(url)).get('refs/heads/main'), a, 'still served');
    const b = await commitFile(work, 'a.txt', 'after\n');
    assert.equal((await client.publish(stateEvent(owner, 'retiring', { 'refs/heads/main': b }))).ok, true);
    const r = await push(work, 'main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /no longer lists this server/);
    clock.advance(7 * 24 * HOUR + MIN);
    await relay.git!.sweep();
    assert.equal(await infoRefs(url), 404);
    await client.close();
  } finally {
    await relay.destroy();
  }
});
