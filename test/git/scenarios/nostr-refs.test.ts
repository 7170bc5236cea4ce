// git.md §6 scenarios 18–21 and 27: pull-request tips under refs/nostr/<event-id> (placeholders
// that expire, claimed by a PR with the same tip, refused with another), and fan-out of a
// released state to another owner's repository of the same identifier.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TestClient } from '../../helpers/client.js';
import { ManualClock } from '../../sync/clock.js';
import { announcement, commitFile, git, gitOk, keypair, lsRemote, prEvent, startGitRelay, stateEvent, workTree, type GitRelay } from '../helpers.js';

const owner = keypair('nref-owner');
const contributor = keypair('nref-contributor');
const fork = keypair('nref-fork-owner');
const MIN = 60_000;

const push = (work: string, ...refspecs: string[]) => git(['push', '--porcelain', 'origin', ...refspecs], { cwd: work });

/** An announced repository with one released state on main; returns its work tree. */
async function released(relay: GitRelay, client: TestClient, d: string): Promise<{ work: string; url: string; base: string }> {
  assert.equal((await client.publish(announcement(owner, d, relay))).ok, true);
  const url = relay.repoUrl(owner, d);
  const work = await workTree(url);
  const base = await commitFile(work, 'base.txt', 'base\n');
  assert.equal((await client.publish(stateEvent(owner, d, { 'refs/heads/main': base }))).ok, true);
  const r = await push(work, 'main');
  assert.equal(r.code, 0, r.stderr);
  return { work, url, base };
}

describe('refs/nostr/<event-id>', () => {
  let relay: GitRelay;
  const clock = new ManualClock();
  after(() => relay?.destroy());

  test('18: a tip pushed for an unknown id is listed, then removed after 20 minutes', async () => {
    relay = await startGitRelay({}, { clock });
    const client = await TestClient.connect(relay.url);
    const { work, url } = await released(relay, client, 'eighteen');
    await gitOk(['checkout', '-q', '-b', 'feature'], { cwd: work });
    const tip = await commitFile(work, 'f.txt', 'feature\n');
    const id = 'ab'.repeat(32);
    const r = await push(work, `feature:refs/nostr/${id}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await lsRemote(url)).get(`refs/nostr/${id}`), tip);
    clock.advance(21 * MIN);
    await relay.git!.sweep();
    assert.equal((await lsRemote(url)).has(`refs/nostr/${id}`), false);
    await client.close();
  });

  test('19: tip first, then the PR with that tip: stored at once, the ref stays', async () => {
    const client = await TestClient.connect(relay.url);
    const { work, url } = await released(relay, client, 'nineteen');
    await gitOk(['checkout', '-q', '-b', 'feature'], { cwd: work });
    const tip = await commitFile(work, 'f.txt', 'nineteen\n');
    const pr = prEvent(contributor, owner, 'nineteen', tip, relay);
    assert.equal((await push(work, `feature:refs/nostr/${pr.id}`)).code, 0);
    const ok = await client.publish(pr);
    assert.equal(ok.ok, true, ok.message);
    assert.doesNotMatch(ok.message, /purgatory/);
    assert.equal((await client.req('q19', { ids: [pr.id] })).events.length, 1);
    clock.advance(21 * MIN);
    await relay.git!.sweep();
    assert.equal((await lsRemote(url)).get(`refs/nostr/${pr.id}`), tip);
    await client.close();
  });

  test('20: a wrong tip is removed when the PR arrives; pushing it again is refused; the right one is accepted', async () => {
    const client = await TestClient.connect(relay.url);
    const { work, url } = await released(relay, client, 'twenty');
    await gitOk(['checkout', '-q', '-b', 'feature'], { cwd: work });
    const right = await commitFile(work, 'f.txt', 'right\n');
    await gitOk(['checkout', '-q', '-b', 'wrong', 'main'], { cwd: work });
    await commitFile(work, 'w.txt', 'wrong\n');
    const pr = prEvent(contributor, owner, 'twenty', right, relay);
    assert.equal((await push(work, `wrong:refs/nostr/${pr.id}`)).code, 0);
    const ok = await client.publish(pr);
    assert.equal(ok.ok, true);
    assert.match(ok.message, /^purgatory/);
    assert.equal((await lsRemote(url)).has(`refs/nostr/${pr.id}`), false, 'wrong tip removed');
    const again = await push(work, `+wrong:refs/nostr/${pr.id}`);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr + again.stdout, /names tip/);
    const good = await push(work, `feature:refs/nostr/${pr.id}`);
    assert.equal(good.code, 0, good.stderr);
    assert.equal((await client.req('q20', { ids: [pr.id] })).events.length, 1, 'PR served');
    await client.close();
  });

  test('21: PR first (purgatory), then its tip: the PR is served', async () => {
    const client = await TestClient.connect(relay.url);
    const { work } = await released(relay, client, 'twentyone');
    await gitOk(['checkout', '-q', '-b', 'feature'], { cwd: work });
    const tip = await commitFile(work, 'f.txt', 'twentyone\n');
    const pr = prEvent(contributor, owner, 'twentyone', tip, relay);
    assert.match((await client.publish(pr)).message, /^purgatory/);
    assert.equal((await client.req('q21a', { ids: [pr.id] })).events.length, 0);
    assert.equal((await push(work, `feature:refs/nostr/${pr.id}`)).code, 0);
    assert.equal((await client.req('q21b', { ids: [pr.id] })).events.length, 1);
    await client.close();
  });
});

test("27: a state released for one owner's repository aligns the other owner's repository of the same identifier", async () => {
  const relay = await startGitRelay();
  try {
    const client = await TestClient.connect(relay.url);
    assert.equal((await client.publish(announcement(owner, 'shared', relay))).ok, true);
    const forkAnn = announcement(fork, 'shared', relay, { maintainers: [owner.pk] });
    assert.match((await client.publish(forkAnn)).message, /^purgatory/);
    const work = await workTree(relay.repoUrl(owner, 'shared'));
    const a = await commitFile(work, 'a.txt', 'shared\n');
    assert.equal((await client.publish(stateEvent(owner, 'shared', { 'refs/heads/main': a }))).ok, true);
    assert.equal((await push(work, 'main')).code, 0);
    const forkRefs = await lsRemote(relay.repoUrl(fork, 'shared'));
    assert.equal(forkRefs.get('refs/heads/main'), a);
    assert.match(await gitOk(['ls-remote', '--symref', relay.repoUrl(fork, 'shared'), 'HEAD']), /ref: refs\/heads\/main\tHEAD/);
    assert.equal((await client.req('q27', { ids: [forkAnn.id] })).events.length, 1, "the fork's announcement is released");
    await client.close();
  } finally {
    await relay.destroy();
  }
});
