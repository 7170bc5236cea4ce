// Scenario 13 (grasp.md §4): two grasp-relay instances whose repositories list each other
// converge to identical stores under concurrent client writes to both; nothing is lost.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NostrEvent } from '../../../src/nostr/event.js';
import { announcement, addressOf, comment, issue, keypair, state, status } from '../nip34.js';
import { waitFor } from '../../helpers/wait.js';
import { ids, put, startGrasp, type TestRelay } from './setup.js';

const relays: TestRelay[] = [];
after(async () => {
  for (const r of relays.reverse()) await r.destroy();
});

test('13. two instances listing each other converge under concurrent writes', async () => {
  const a = await startGrasp();
  const b = await startGrasp();
  relays.push(a, b);
  const owner = keypair('owner13');
  const ann1 = announcement(owner, 'shared', { services: [a.url, b.url] });
  const ann2 = announcement(keypair('other13'), 'second', { services: [a.url, b.url] });
  // the client publishes the announcement to every relay it lists; the second only to A
  await put(a, [ann1, ann2]);
  await put(b, [ann1]);
  const addr1 = addressOf(owner, 'shared');
  const addr2 = addressOf(keypair('other13'), 'second');

  const written: NostrEvent[] = [ann1, ann2];
  const writer = async (relay: TestRelay, who: string, n: number): Promise<void> => {
    const k = keypair(who);
    for (let i = 0; i < n; i++) {
      const iss = issue(k, i % 2 === 0 ? addr1 : addr2, `${who} ${i}`);
      const c = comment(k, iss, `${who} comment ${i}`);
      const s = status(k, iss, 1630);
      // an issue on the second repo may not have reached B yet: only publish what B accepts
      const batch = [iss, c, s];
      for (const e of batch) {
        const r = await relay.ingest.submit(e, JSON.stringify(e), 'client');
        if (r.ok) written.push(e);
      }
    }
  };
  await Promise.all([writer(a, 'wa', 15), writer(b, 'wb', 15), put(a, [state(owner, 'shared')]).then(() => undefined)]);
  const st = a.store.getReplaceable(30618, owner.pk, 'shared');
  if (st) written.push(st.event);
  assert.ok(written.length >= 2 + 15 * 3);

  try {
    await waitFor(
      () => {
        const x = ids(a);
        const y = ids(b);
        return x.size === y.size && [...x].every((id) => y.has(id)) && written.every((e) => x.has(e.id));
      },
      20_000,
      'identical id sets',
    );
  } catch (e) {
    const x = ids(a);
    const y = ids(b);
    const kinds = (s: Set<string>, o: Set<string>, r: TestRelay) => [...s].filter((id) => !o.has(id)).map((id) => r.store.get(id)?.event.kind);
    const lost = written.filter((w) => !x.has(w.id) || !y.has(w.id)).map((w) => `${w.kind}:${x.has(w.id)}/${y.has(w.id)}`);
    throw new Error(
      `${(e as Error).message}: only A ${JSON.stringify(kinds(x, y, a))}, only B ${JSON.stringify(kinds(y, x, b))}, lost ${JSON.stringify(lost)}; ` +
        JSON.stringify([a.sync?.status().totals, b.sync?.status().totals]),
      { cause: e },
    );
  }
  assert.deepEqual([...ids(a)].sort(), [...ids(b)].sort());
});
