// End-to-end: one event of every NIP-34 kind (and the refusals that matter to clients) through a
// real grasp-relay over a real WebSocket, checking the OK flag and message text a client sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { npubEncode } from 'nostr-tools/nip19';
import type { NostrEvent } from '../../src/nostr/event.js';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay } from '../helpers/relay.js';

test('policy e2e: every NIP-34 kind over a WebSocket', async () => {
  const relay = await startTestRelay();
  const client = await TestClient.connect(relay.url);
  try {
    const host = relay.config.service.hosts[0]!;
    assert.match(host, /^127\.0\.0\.1:\d+$/);
    const owner = keypair('e2e-owner');
    const maint = keypair('e2e-maintainer');
    const stranger = keypair('e2e-stranger');
    const d = 'e2e-repo';
    const repoAddr = `30617:${owner.pk}:${d}`;

    const expectOk = async (ev: NostrEvent, what: string): Promise<void> => {
      const r = await client.publish(ev);
      assert.equal(r.ok, true, `${what}: ${r.message}`);
    };
    const expectRefused = async (ev: NostrEvent, message: string | RegExp, what: string): Promise<void> => {
      const r = await client.publish(ev);
      assert.equal(r.ok, false, `${what} should be refused`);
      if (typeof message === 'string') assert.equal(r.message, message, what);
      else assert.match(r.message, message, what);
    };

    // 10317: always accepted.
    await expectOk(sign(owner, { kind: 10317, tags: [['g', `ws://${host}`]] }), '10317');

    // 30617 elsewhere, and the substring attack, refused with what was found.
    await expectRefused(
      sign(owner, { kind: 30617, tags: [['d', d], ['clone', 'https://github.com/o/r.git'], ['relays', 'wss://relay.damus.io']] }),
      `restricted: announcement must list this service (${host}) in both clone and relays; found clone=[https://github.com/o/r.git] relays=[wss://relay.damus.io]`,
      '30617 elsewhere',
    );
    const [ip, port] = host.split(':');
    await expectRefused(
      sign(owner, {
        kind: 30617,
        tags: [['d', d], ['clone', `http://${ip}.attacker.net:${port}/r.git`], ['relays', `ws://${ip}.attacker.net:${port}`]],
      }),
      /^restricted: announcement must list this service/,
      '30617 substring host',
    );

    // 30618 before its announcement.
    const st = sign(owner, { kind: 30618, tags: [['d', d], ['HEAD', 'ref: refs/heads/main'], ['refs/heads/main', 'a'.repeat(40)]] });
    await expectRefused(st, `invalid: no announcement for this repository (no kind 30617 with d "${d}" is stored)`, '30618 early');

    // The announcement, listing the service; a re-send is a duplicate with OK true.
    const repo = sign(owner, {
      kind: 30617,
      tags: [
        ['d', d],
        ['name', d],
        ['clone', `http://${host}/${npubEncode(owner.pk)}/${d}.git`],
        ['relays', `ws://${host}`],
        ['maintainers', owner.pk, maint.pk],
      ],
    });
    await expectOk(repo, '30617');
    const again = await client.publish(repo);
    assert.equal(again.ok, true);
    assert.match(again.message, /^duplicate:/);

    await expectOk(st, '30618 by the owner');
    await expectOk(
      sign(maint, { kind: 30617, tags: [['d', d], ['clone', 'https://github.com/m/r.git'], ['relays', 'wss://relay.damus.io'], ['maintainers', owner.pk, maint.pk]] }),
      '30617 by a maintainer omitting the service',
    );
    await expectOk(sign(maint, { kind: 30618, tags: [['d', d], ['refs/heads/dev', 'b'.repeat(40)]] }), '30618 by a maintainer');
    await expectRefused(
      sign(stranger, { kind: 30618, tags: [['d', d], ['refs/heads/main', 'c'.repeat(40)]] }),
      /^restricted: author is not a maintainer of this repository/,
      '30618 by a stranger',
    );

    // Patch, PR, PR update, issue, statuses, comment.
    const patch = sign(stranger, { kind: 1617, tags: [['a', repoAddr], ['p', owner.pk], ['t', 'root']], content: 'From 1 …' });
    await expectOk(patch, '1617');
    const pr = sign(stranger, { kind: 1618, tags: [['a', repoAddr], ['subject', 'feature'], ['c', 'd'.repeat(40)], ['branch-name', 'f']] });
    await expectOk(pr, '1618');
    await expectOk(sign(stranger, { kind: 1619, tags: [['E', pr.id], ['c', 'e'.repeat(40)]] }), '1619 (E only)');
    const iss = sign(stranger, { kind: 1621, tags: [['a', repoAddr], ['p', owner.pk], ['subject', 'bug']] });
    await expectOk(iss, '1621');
    for (const kind of [1630, 1631, 1632, 1633]) {
      await expectOk(sign(maint, { kind, tags: [['e', patch.id, '', 'root'], ['p', stranger.pk]] }), `status ${kind}`);
    }
    await expectOk(sign(owner, { kind: 1111, tags: [['E', iss.id], ['K', '1621'], ['e', iss.id], ['k', '1621']] }), '1111');

    // A status that arrives before its patch: the patch is then accepted through the forward reference.
    const laterPatch = sign(stranger, { kind: 1617, tags: [['t', 'root']], content: 'no a tag' });
    await expectOk(sign(owner, { kind: 1630, tags: [['e', laterPatch.id, '', 'root'], ['a', repoAddr]] }), 'status first');
    await expectOk(laterPatch, 'patch via forward reference');

    // Unrelated events and deletions of others are refused; own deletions accepted.
    await expectRefused(sign(stranger, { kind: 1, content: 'gm' }), 'restricted: event does not reference an accepted repository or event', 'kind 1');
    await expectRefused(
      sign(maint, { kind: 5, tags: [['e', iss.id], ['k', '1621']] }),
      "restricted: a deletion request may only delete its author's own events",
      'kind 5 of others',
    );
    await expectOk(sign(stranger, { kind: 5, tags: [['e', iss.id], ['k', '1621']] }), 'kind 5 own');

    const stored = await client.req('s', { kinds: [30617, 30618], '#d': [d] });
    assert.equal(stored.events.length, 4);

    // NIP-11 carries the GRASP fields web clients check before adding a server.
    const res = await fetch(relay.url.replace(/^ws/, 'http'), { headers: { Accept: 'application/nostr+json' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const doc = (await res.json()) as { supported_grasps?: string[]; repo_acceptance_criteria?: string; curation?: unknown };
    assert.ok(doc.supported_grasps?.includes('GRASP-01'));
    assert.ok(doc.repo_acceptance_criteria?.includes(`list this service (${host})`), String(doc.repo_acceptance_criteria));
    assert.equal(doc.curation, undefined);
  } finally {
    await client.close();
    await relay.destroy();
  }
});
