// git.md §6 scenarios 1, 3–11 and 13: announcements create empty repositories held in purgatory,
// pushes are authorised by signed states (30618) from the recursive maintainer set, and a push
// that aligns the repository releases the state and the announcement. Real relays on loopback,
// the real git CLI; ★ scenarios over both transports.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TestClient } from '../../helpers/client.js';
import { skipWithoutUws } from '../../helpers/relay.js';
import {
  announcement,
  commitFile,
  git,
  gitOk,
  keypair,
  lsRemote,
  startGitRelay,
  stateEvent,
  workTree,
  type GitRelay,
} from '../helpers.js';

const owner = keypair('git-owner');
const maint = keypair('git-maintainer');
const kay = keypair('git-maintainers-maintainer');
const stranger = keypair('git-stranger');

interface Setup {
  relay: GitRelay;
  client: TestClient;
  url: string;
  work: string;
}

async function setup(relay: GitRelay, d: string, opts: { maintainers?: string[] } = {}): Promise<Setup> {
  const client = await TestClient.connect(relay.url);
  const ann = announcement(owner, d, relay, opts);
  const ok = await client.publish(ann);
  assert.equal(ok.ok, true, ok.message);
  assert.match(ok.message, /^purgatory: /);
  const url = relay.repoUrl(owner, d);
  return { relay, client, url, work: await workTree(url) };
}

const push = (work: string, ...refspecs: string[]) => git(['push', '--porcelain', 'origin', ...refspecs], { cwd: work });

for (const transport of ['uws', 'ws'] as const) {
  describe(`★ over ${transport}`, { skip: skipWithoutUws(transport) }, () => {
    let relay: GitRelay;
    after(() => relay?.destroy());

    test('1: a new announcement is held in purgatory and its empty repository clones at once on main', async () => {
      relay = await startGitRelay({}, { transport });
      const { client, url } = await setup(relay, 'one');
      const stored = await client.req('q1', { kinds: [30617] });
      assert.equal(stored.events.length, 0, 'a purgatory announcement is not served');
      const dest = (await workTree()) + '-clone';
      const r = await git(['clone', url, dest]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /empty repository/);
      assert.equal(await gitOk(['symbolic-ref', 'HEAD'], { cwd: dest }), 'refs/heads/main');
      await client.close();
    });

    test('3: without a state the push is refused with the reason; nothing changes', async () => {
      const { client, url, work } = await setup(relay, 'three');
      await commitFile(work, 'a.txt', 'hello\n');
      const r = await push(work, 'main');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr + r.stdout, /remote rejected|\[rejected\]|!/);
      assert.match(r.stderr + r.stdout, /publish the 30618 first/);
      assert.equal((await lsRemote(url)).size, 0);
      await client.close();
    });

    test('4: owner state then the matching push: accepted, state and announcement released, refs and HEAD per state', async () => {
      const { client, url, work } = await setup(relay, 'four');
      const a = await commitFile(work, 'a.txt', 'four\n');
      await gitOk(['branch', 'dev'], { cwd: work });
      const st = stateEvent(owner, 'four', { 'refs/heads/main': a, 'refs/heads/dev': a }, { head: 'dev' });
      const ok = await client.publish(st);
      assert.equal(ok.ok, true, ok.message);
      assert.match(ok.message, /^purgatory: /);
      const r = await push(work, 'main', 'dev');
      assert.equal(r.code, 0, r.stderr);
      const states = await client.req('q4', { kinds: [30618], '#d': ['four'] });
      assert.deepEqual(states.events.map((e) => e.id), [st.id]);
      const anns = await client.req('q4a', { kinds: [30617], '#d': ['four'] });
      assert.equal(anns.events.length, 1);
      const refs = await lsRemote(url);
      assert.equal(refs.get('refs/heads/main'), a);
      assert.equal(refs.get('refs/heads/dev'), a);
      const sym = await gitOk(['ls-remote', '--symref', url, 'HEAD']);
      assert.match(sym, /ref: refs\/heads\/dev\tHEAD/);
      await client.close();
    });
  });
}

describe('push authorisation', () => {
  let relay: GitRelay;
  after(() => relay?.destroy());

  test('5: a state naming A refuses a push of B, with both ids; the state stays in purgatory', async () => {
    relay = await startGitRelay();
    const { client, url, work } = await setup(relay, 'five');
    const a = await commitFile(work, 'a.txt', 'A\n');
    const b = await commitFile(work, 'a.txt', 'B\n');
    const st = stateEvent(owner, 'five', { 'refs/heads/main': a });
    assert.equal((await client.publish(st)).ok, true);
    const r = await push(work, 'main');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, new RegExp(a.slice(0, 7)));
    assert.match(r.stderr + r.stdout, new RegExp(b.slice(0, 7)));
    assert.equal((await lsRemote(url)).size, 0);
    assert.equal((await client.req('q5', { ids: [st.id] })).events.length, 0, 'still in purgatory');
    await client.close();
  });

  test('6: a listed maintainer and a maintainer of that maintainer may authorise; a stranger may not', async () => {
    const { client, url, work } = await setup(relay, 'six', { maintainers: [maint.pk] });
    // the maintainer's own announcement lists K (it does not list this service: accepted by the maintainer exception)
    const mAnn = announcement(maint, 'six', relay, { maintainers: [kay.pk] });
    assert.equal((await client.publish(mAnn)).ok, true);
    const a = await commitFile(work, 'a.txt', 'by maintainer\n');
    assert.equal((await client.publish(stateEvent(maint, 'six', { 'refs/heads/main': a }))).ok, true);
    assert.equal((await push(work, 'main')).code, 0);
    const b = await commitFile(work, 'a.txt', 'by K\n');
    assert.equal((await client.publish(stateEvent(kay, 'six', { 'refs/heads/main': b }))).ok, true);
    const rk = await push(work, 'main');
    assert.equal(rk.code, 0, rk.stderr);
    assert.equal((await lsRemote(url)).get('refs/heads/main'), b);
    const c = await commitFile(work, 'a.txt', 'by a stranger\n');
    const bad = await client.publish(stateEvent(stranger, 'six', { 'refs/heads/main': c }));
    assert.equal(bad.ok, false);
    const rs = await push(work, 'main');
    assert.notEqual(rs.code, 0);
    assert.equal((await lsRemote(url)).get('refs/heads/main'), b);
    await client.close();
  });

  test('7: a state with two branches needs both: main alone is refused naming dev; both are accepted', async () => {
    const { client, url, work } = await setup(relay, 'seven');
    const a = await commitFile(work, 'a.txt', 'main\n');
    await gitOk(['checkout', '-q', '-b', 'dev'], { cwd: work });
    const b = await commitFile(work, 'b.txt', 'dev\n');
    await gitOk(['checkout', '-q', 'main'], { cwd: work });
    assert.equal((await client.publish(stateEvent(owner, 'seven', { 'refs/heads/main': a, 'refs/heads/dev': b }))).ok, true);
    const r1 = await push(work, 'main');
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr + r1.stdout, /refs\/heads\/dev/);
    assert.equal((await lsRemote(url)).size, 0);
    const r2 = await push(work, 'main', 'dev');
    assert.equal(r2.code, 0, r2.stderr);
    const refs = await lsRemote(url);
    assert.equal(refs.get('refs/heads/main'), a);
    assert.equal(refs.get('refs/heads/dev'), b);
    await client.close();
  });

  test('8: objects the repository already holds count: push main only, the relay sets dev', async () => {
    const { client, url, work } = await setup(relay, 'eight');
    const b = await commitFile(work, 'b.txt', 'B\n');
    assert.equal((await client.publish(stateEvent(owner, 'eight', { 'refs/heads/main': b }))).ok, true);
    assert.equal((await push(work, 'main')).code, 0);
    const a2 = await commitFile(work, 'a.txt', 'A prime\n');
    const st2 = stateEvent(owner, 'eight', { 'refs/heads/main': a2, 'refs/heads/dev': b });
    assert.equal((await client.publish(st2)).ok, true);
    const r = await push(work, 'main');
    assert.equal(r.code, 0, r.stderr);
    const refs = await lsRemote(url);
    assert.equal(refs.get('refs/heads/main'), a2);
    assert.equal(refs.get('refs/heads/dev'), b);
    assert.equal((await client.req('q8', { ids: [st2.id] })).events.length, 1, 'state released');
    await client.close();
  });

  test('9: a branch the state drops is deleted at release', async () => {
    const { client, url, work } = await setup(relay, 'nine');
    const a = await commitFile(work, 'a.txt', 'one\n');
    assert.equal((await client.publish(stateEvent(owner, 'nine', { 'refs/heads/main': a, 'refs/heads/old': a }))).ok, true);
    assert.equal((await push(work, 'main', 'main:old')).code, 0);
    assert.equal((await lsRemote(url)).get('refs/heads/old'), a);
    const a2 = await commitFile(work, 'a.txt', 'two\n');
    assert.equal((await client.publish(stateEvent(owner, 'nine', { 'refs/heads/main': a2 }))).ok, true);
    const r = await push(work, 'main');
    assert.equal(r.code, 0, r.stderr);
    const refs = await lsRemote(url);
    assert.equal(refs.get('refs/heads/main'), a2);
    assert.equal(refs.has('refs/heads/old'), false);
    await client.close();
  });

  test('10: refs outside the state and the namespaces are refused, each with its reason; nothing applied', async () => {
    const { client, url, work } = await setup(relay, 'ten');
    const a = await commitFile(work, 'a.txt', 'ten\n');
    assert.equal((await client.publish(stateEvent(owner, 'ten', { 'refs/heads/main': a }))).ok, true);
    for (const [spec, why] of [
      ['main:refs/notes/x', /only branches and tags/],
      ['main:refs/heads/pr/1', /not in state/],
      ['main:refs/nostr/123', /only branches and tags/],
    ] as const) {
      const r = await push(work, spec);
      assert.notEqual(r.code, 0, spec);
      assert.match(r.stderr + r.stdout, why, spec);
    }
    assert.equal((await lsRemote(url)).size, 0);
    await client.close();
  });

  test('11: a receive-pack whose commands change nothing is accepted without a state', async () => {
    const { client, url, work } = await setup(relay, 'eleven');
    const a = await commitFile(work, 'a.txt', 'x\n');
    assert.equal((await client.publish(stateEvent(owner, 'eleven', { 'refs/heads/main': a }))).ok, true);
    assert.equal((await push(work, 'main')).code, 0);
    const line = `${a} ${a} refs/heads/main\0report-status\n`;
    const pkt = (s: string) => (Buffer.byteLength(s) + 4).toString(16).padStart(4, '0') + s;
    const res = await fetch(`${url}/git-receive-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-receive-pack-request' },
      body: pkt(line) + '0000',
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /unpack ok/);
    assert.match(text, /ok refs\/heads\/main/);
    await client.close();
  });

  test('13: a state whose data is present is stored at once and HEAD moves before the OK; a ref-less state changes nothing', async () => {
    const { client, url, work } = await setup(relay, 'thirteen');
    const a = await commitFile(work, 'a.txt', 'x\n');
    await gitOk(['branch', 'develop'], { cwd: work });
    assert.equal((await client.publish(stateEvent(owner, 'thirteen', { 'refs/heads/main': a, 'refs/heads/develop': a }))).ok, true);
    assert.equal((await push(work, 'main', 'develop')).code, 0);
    const st2 = stateEvent(owner, 'thirteen', { 'refs/heads/main': a, 'refs/heads/develop': a }, { head: 'develop' });
    const ok = await client.publish(st2);
    assert.equal(ok.ok, true);
    assert.doesNotMatch(ok.message, /purgatory/);
    assert.match(await gitOk(['ls-remote', '--symref', url, 'HEAD']), /ref: refs\/heads\/develop\tHEAD/);
    const none = stateEvent(owner, 'thirteen', {});
    const ok2 = await client.publish(none);
    assert.equal(ok2.ok, true);
    assert.doesNotMatch(ok2.message, /purgatory/);
    assert.match(await gitOk(['ls-remote', '--symref', url, 'HEAD']), /ref: refs\/heads\/develop\tHEAD/);
    assert.equal((await lsRemote(url)).get('refs/heads/main'), a);
    await client.close();
  });
});
