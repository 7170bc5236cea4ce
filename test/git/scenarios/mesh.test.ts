// The git sync mesh (issue 10): two relays X and Y, both named by the announcements of one
// identifier (the owner's repository and a maintainer's fork, each listing the other as a
// maintainer). Six pushes alternate between the servers and the two repositories; each time the
// client publishes the state to both relays (ngit does) but pushes to one server only, and the
// other server gets the data by git sync (the hunt of the client's state, 180 s of injected time
// later). After every push all four repositories serve identical refs and HEAD, and at the end both
// relays serve identical Nostr events.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { waitFor } from '../../helpers/wait.js';
import { ManualClock } from '../../sync/clock.js';
import { waitIdle } from '../../sync/scenarios/setup.js';
import { commitFile, git, gitOk, keypair, startGitRelay, stateEvent, workTree, type GitRelay, type Keypair } from '../helpers.js';
import { advanceUntil, gitSync, meshAnnouncement, publishTo, reqIds, sameServed, scratchLeft, served, servedLocally, type Served } from './sync-setup.js';

const owner = keypair('mesh-owner');
const maint = keypair('mesh-maintainer');
const SEC = 1000;
const MIN = 60 * SEC;
const USER_DELAY_S = 180;

const relays: GitRelay[] = [];
after(async () => {
  for (const r of relays.reverse()) await r.destroy().catch(() => undefined);
});

test('mesh: six pushes alternating between X and Y converge both repositories on both servers, and both relays serve the same events', { timeout: 300_000 }, async () => {
  const clock = new ManualClock();
  const start = () =>
    startGitRelay({ sync: { enabled: true }, git: { syncEnabled: true, syncUserEventDelaySeconds: USER_DELAY_S, syncSyncedEventDelaySeconds: 1 } }, { clock });
  const x = await start();
  const y = await start();
  relays.push(x, y);
  const d = 'mesh';
  const annO = meshAnnouncement(owner, d, [x, y], { maintainers: [maint.pk] });
  const annM = meshAnnouncement(maint, d, [x, y], { maintainers: [owner.pk] });
  for (const ann of [annO, annM]) for (const m of await publishTo([x, y], ann)) assert.match(m, /^purgatory/);

  const work = await workTree();
  const urls: string[] = [];
  for (const [rl, rn] of [
    [x, 'x'],
    [y, 'y'],
  ] as const) {
    for (const [who, wn] of [
      [owner, 'o'],
      [maint, 'm'],
    ] as const) {
      const url = rl.repoUrl(who, d);
      urls.push(url);
      await gitOk(['remote', 'add', rn + wn, url], { cwd: work });
    }
  }
  const remoteName = (rl: GitRelay, who: Keypair) => (rl === x ? 'x' : 'y') + (who === owner ? 'o' : 'm');

  // (pusher, server): every combination, alternating servers
  const steps: Array<[Keypair, GitRelay]> = [
    [owner, x],
    [maint, y],
    [maint, x],
    [owner, y],
    [owner, x],
    [maint, y],
  ];
  let dev: string | undefined;
  let last: Served | undefined;
  const latest = new Map<string, string>();
  for (const [i, [who, server]] of steps.entries()) {
    const other = server === x ? y : x;
    const tip = await commitFile(work, 'log.txt', `push ${i}\n`.repeat(i + 1));
    // dev appears at push 1, HEAD moves to it at push 3, and push 5's state drops it
    if (i === 1) {
      await gitOk(['branch', 'dev'], { cwd: work });
      dev = tip;
    }
    const refs: Record<string, string> = { 'refs/heads/main': tip };
    if (dev !== undefined && i < 5) refs['refs/heads/dev'] = dev;
    const head = i === 3 || i === 4 ? 'dev' : 'main';
    const st = stateEvent(who, d, refs, { head });
    latest.set(who.pk, st.id);
    for (const m of await publishTo([x, y], st)) assert.match(m, /^purgatory/, `push ${i}: neither server holds ${tip} yet`);
    const pushed = await git(['push', '--porcelain', remoteName(server, who), ...(i === 1 ? ['main', 'dev'] : ['main'])], { cwd: work });
    assert.equal(pushed.code, 0, `push ${i} to ${remoteName(server, who)}: ${pushed.stderr}`);
    const expected: Served = {
      refs: Object.fromEntries(Object.entries({ HEAD: refs[`refs/heads/${head}`]!, ...refs }).sort(([a], [b]) => (a < b ? -1 : 1))),
      head: `refs/heads/${head}`,
    };
    const repos = [x, y].flatMap((rl) => [owner, maint].map((who) => ({ rl, who, name: `${remoteName(rl, who)} ${rl.url}` })));
    // the server pushed to: the pushed repository and (fan-out) the other one, before the push ends
    for (const r of repos.filter((r) => r.rl === server)) assert.deepEqual(await servedLocally(r.rl, r.who, d), expected, `push ${i}: ${r.name}`);
    // the other server: nothing until its hunt (the client's state waits 180 s of injected time)
    for (const r of repos.filter((r) => r.rl === other)) assert.notDeepEqual(await servedLocally(r.rl, r.who, d), expected, `push ${i}: ${r.name} before its hunt`);

    // Nostr sync settled before time moves (its batch and NIP-77 deadlines read the same clock)
    await waitIdle(x, y.url);
    await waitIdle(y, x.url);
    clock.advance(USER_DELAY_S * SEC);
    const took = await advanceUntil(
      clock,
      [x, y],
      async () => {
        for (const r of repos) if (!sameServed(await servedLocally(r.rl, r.who, d), expected)) return false;
        return true;
      },
      { stepMs: 30 * SEC, maxMs: 10 * MIN, what: `push ${i}: all four repositories aligned` },
    );
    assert.equal(took, 0, `push ${i}: aligned by the hunt due ${USER_DELAY_S} s after the state`);
    last = expected;
  }
  // and that is what clients get over HTTP
  for (const u of urls) assert.deepEqual(await served(u), last, u);

  // identical Nostr event sets, by id: the two announcements and the latest state of each author
  const want = [annO.id, annM.id, ...latest.values()].sort();
  await waitFor(async () => JSON.stringify(await reqIds(x, {})) === JSON.stringify(await reqIds(y, {})), 10_000, 'identical event sets');
  assert.deepEqual(await reqIds(x, {}), want);
  assert.deepEqual(await reqIds(y, {}), want);
  for (const rl of [x, y]) {
    assert.deepEqual(
      rl.store.purgatory.forD(d).map((e) => `${e.event.kind}:${e.id.slice(0, 8)}`),
      [],
      `${rl.url}: nothing left waiting in purgatory`,
    );
    assert.deepEqual(scratchLeft(rl), []);
    const s = gitSync(rl).status();
    assert.equal(s.fetches.failed, 0, `${rl.url}: ${JSON.stringify(s.remotes)}`);
  }
});
