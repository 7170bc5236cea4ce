// Git sync end to end with the real fetcher: two relays on loopback. X holds a repository and its
// state; the same announcement and a state reach Y as synced events (origin sync), wait in Y's
// purgatory, and Y's hunt fetches the data from X's clone URL over smart HTTP and releases them.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { NostrEvent } from '../../../src/nostr/event.js';
import { TestClient } from '../../helpers/client.js';
import { sign } from '../../helpers/events.js';
import { waitFor } from '../../helpers/wait.js';
import { ManualClock } from '../../sync/clock.js';
import { commitFile, gitOk, keypair, lsRemote, startGitRelay, stateEvent, workTree, type GitRelay } from '../helpers.js';

const owner = keypair('gsync-e2e-owner');

for (const k of Object.keys(process.env)) if (k.startsWith('GRASP_RELAY_')) delete process.env[k];

describe('git sync between two relays', () => {
  let x: GitRelay | undefined;
  let y: GitRelay | undefined;
  after(async () => {
    await y?.destroy();
    await x?.destroy();
  });

  test('a state waiting in Y for data that X serves is fetched from X and released', async () => {
    const clock = new ManualClock();
    x = await startGitRelay();
    y = await startGitRelay({ git: { syncEnabled: true } }, { clock });
    const d = 'e2e';
    // one announcement naming both servers, published to X by its owner
    const ann = sign(owner, {
      kind: 30617,
      tags: [
        ['d', d],
        ['name', d],
        ['clone', x.repoUrl(owner, d), y.repoUrl(owner, d)],
        ['relays', x.url, y.url],
        ['maintainers', owner.pk],
      ],
    });
    const cx = await TestClient.connect(x.url);
    assert.equal((await cx.publish(ann)).ok, true);
    const work = await workTree(x.repoUrl(owner, d));
    const c1 = await commitFile(work, 'a.txt', 'one\n');
    await gitOk(['checkout', '-q', '-b', 'dev'], { cwd: work });
    const c2 = await commitFile(work, 'b.txt', 'two\n');
    const st = stateEvent(owner, d, { 'refs/heads/main': c1, 'refs/heads/dev': c2, 'refs/tags/v1': c1 });
    assert.match((await cx.publish(st)).message, /^purgatory/);
    await gitOk(['push', '-q', 'origin', 'main', 'dev', `${c1}:refs/tags/v1`], { cwd: work });
    await cx.close();
    const onX = await lsRemote(x.repoUrl(owner, d));
    assert.equal(onX.get('refs/heads/dev'), c2);

    // Y receives both by Nostr sync: purgatory, hunted 1 s later from X's clone URL
    const submit = async (ev: NostrEvent) => (await y!.ingest.submit(ev, JSON.stringify(ev), 'sync')).message;
    assert.match(await submit(ann), /^purgatory/);
    assert.match(await submit(st), /^purgatory/);
    const sync = y.git!.sync!;
    clock.advance(1000);
    await sync.idle();
    await waitFor(async () => (await lsRemote(y!.repoUrl(owner, d))).get('refs/heads/dev') === c2, 20_000, 'Y serves the state');
    const onY = await lsRemote(y.repoUrl(owner, d));
    for (const ref of ['refs/heads/main', 'refs/heads/dev', 'refs/tags/v1']) assert.equal(onY.get(ref), onX.get(ref), ref);
    assert.equal(onY.get('HEAD'), c1);
    const cy = await TestClient.connect(y.url);
    assert.equal((await cy.req('s', { ids: [st.id, ann.id] })).events.length, 2, 'state and announcement released on Y');
    await cy.close();
    const status = sync.status();
    assert.equal(status.fetches.ok, 1);
    assert.deepEqual(
      status.remotes.map((r) => [r.url, r.fetches, r.failures]),
      [[x.repoUrl(owner, d), 1, 0]],
    );
    assert.ok(status.released >= 2);
  });
});
