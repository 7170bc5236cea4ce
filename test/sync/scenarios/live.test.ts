// Scenario 3 (grasp.md §4): after the historic sync, a new issue on the peer (L2 live) and a
// comment on a synced issue (L3 live) arrive locally within a second or two; so does a comment
// on the new issue (its root joins the live filters).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { comment, issue, keypair, repository, status } from '../nip34.js';
import { put, startGrasp, startPeer, waitHas, waitIdle, type TestRelay } from './setup.js';

const relays: TestRelay[] = [];
after(async () => {
  for (const r of relays.reverse()) await r.destroy();
});

test('3. live: issue, comment on a synced issue, comment on the new issue', async () => {
  const peer = await startPeer();
  const local = await startGrasp();
  relays.push(peer, local);
  const alice = keypair('alice');
  const repo = repository(alice, 'live', { services: [local.url], relays: [peer.url] });
  await put(peer, repo.all);
  await put(local, [repo.announcement]);
  await waitHas(local, repo.all);
  await waitIdle(local, peer.url);

  const bob = keypair('bob');
  const newIssue = issue(bob, repo.address, 'found live');
  let t = Date.now();
  await put(peer, [newIssue]);
  await waitHas(local, [newIssue], 2000, 'live issue');
  const issueMs = Date.now() - t;

  const synced = repo.rest.find((e) => e.kind === 1621)!;
  const c1 = comment(alice, synced, 'live comment on a synced issue');
  t = Date.now();
  await put(peer, [c1]);
  await waitHas(local, [c1], 2000, 'live L3 comment');
  const commentMs = Date.now() - t;

  await waitIdle(local, peer.url);
  const c2 = comment(alice, newIssue, 'comment on the live issue');
  const s2 = status(alice, newIssue, 1632);
  await put(peer, [c2, s2]);
  await waitHas(local, [c2, s2], 2000, 'live comment and status on the new root');
  assert.ok(issueMs < 2000 && commentMs < 2000);
});
