// A hunt starts only once its event is in purgatory (the gate's held hook): a hunt started from
// admit(), before the insert, could fetch and land first, release nothing and end, leaving the
// event waiting for the hourly sweep (seen as 4 of 200 repositories in bench/git-sync).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { NostrEvent } from '../../../src/nostr/event.js';
import { TestClient } from '../../helpers/client.js';
import { ManualClock } from '../../sync/clock.js';
import { announcement, commitFile, keypair, startGitRelay, stateEvent, workTree, type GitRelay } from '../helpers.js';

let relay: GitRelay | undefined;
after(() => relay?.destroy());

test('a state entering purgatory is hunted for only after the insert, once', async () => {
  relay = await startGitRelay({ git: { syncEnabled: true } }, { clock: new ManualClock() });
  const sync = relay.git!.sync!;
  const seen: Array<{ id: string; inPurgatory: boolean }> = [];
  const hunt = sync.hunt.bind(sync);
  sync.hunt = (ev: NostrEvent, origin) => {
    seen.push({ id: ev.id, inPurgatory: relay!.store.purgatory.get(ev.id) !== undefined });
    hunt(ev, origin);
  };
  const owner = keypair('hunt-owner');
  const client = await TestClient.connect(relay.url);
  try {
    assert.equal((await client.publish(announcement(owner, 'hunted', relay))).ok, true);
    const work = await workTree(relay.repoUrl(owner, 'hunted'));
    const tip = await commitFile(work, 'a.txt', 'x\n'); // never pushed: the state waits for it
    const st = stateEvent(owner, 'hunted', { 'refs/heads/main': tip });
    assert.match((await client.publish(st)).message, /^purgatory/);
    assert.deepEqual(seen, [{ id: st.id, inPurgatory: true }]);
  } finally {
    await client.close();
  }
});
