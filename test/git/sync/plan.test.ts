// Unit tests of git sync's plan (pure): which ids are checked (none for an aligned repository),
// what is missing per item and what is fixed without a fetch, and the ordered source URLs of an
// item (members' clone URLs with the owner's first, then the others; a PR's own first; http(s)
// only; this service excluded; normalised, de-duplicated, capped).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StateRefs } from '../../../src/git/types.js';
import { itemSources, normalizeCloneUrl, oidsToCheck, planMissing, repoSources, type RepoFacts } from '../../../src/git/sync/plan.js';
import { parseHostSpec, type HostSpec } from '../../../src/policy/index.js';
import { keypair, sign } from '../../helpers/events.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const T = 'd'.repeat(40);
const ID1 = '1'.repeat(64);
const ID2 = '2'.repeat(64);
const PR = '3'.repeat(64);

const state = (id: string, created_at: number, refs: Record<string, string>, head?: string): StateRefs => ({
  id,
  author: 'x',
  created_at,
  refs: new Map(Object.entries(refs)),
  ...(head !== undefined ? { head } : {}),
});

const facts = (f: Partial<RepoFacts>): RepoFacts => ({ refs: new Map(), head: 'refs/heads/main', authoritative: undefined, waiting: [], prs: [], ...f });

test('an aligned repository with its PR refs checks no object at all', () => {
  const a = state(ID1, 10, { 'refs/heads/main': A, 'refs/tags/v1': B }, 'refs/heads/main');
  const f = facts({
    refs: new Map([
      ['refs/heads/main', A],
      ['refs/tags/v1', B],
      [`refs/nostr/${PR}`, T],
    ]),
    authoritative: a,
    prs: [{ id: PR, tip: T, clone: [], inPurgatory: false }],
  });
  assert.deepEqual(oidsToCheck(f), []);
  assert.deepEqual(planMissing(f, new Set()), { items: [], fix: false });
});

test('not aligned with A(R): its ids are checked; missing ones make an item, held ones a local fix', () => {
  const a = state(ID1, 10, { 'refs/heads/main': A, 'refs/heads/dev': B });
  const f = facts({ refs: new Map([['refs/heads/main', A]]), authoritative: a });
  assert.deepEqual(new Set(oidsToCheck(f)), new Set([A, B]));
  const p = planMissing(f, new Set([B]));
  assert.equal(p.fix, false);
  assert.deepEqual(p.items, [{ kind: 'state', id: ID1, oids: [B], purgatory: false }]);
  // a ref deleted on disk whose object is still held: realign without fetching
  assert.deepEqual(planMissing(f, new Set()), { items: [], fix: true });
  // HEAD alone differs from the state's
  const h = facts({ refs: new Map([['refs/heads/main', A]]), head: 'refs/heads/dev', authoritative: state(ID1, 10, { 'refs/heads/main': A }, 'refs/heads/main') });
  assert.deepEqual(oidsToCheck(h), [A]);
  assert.equal(planMissing(h, new Set()).fix, true);
});

test('waiting states come first (newest first), then A(R), then PRs; purgatory items carry their expiry', () => {
  const a = state(ID1, 10, { 'refs/heads/main': A });
  const w = state(ID2, 20, { 'refs/heads/main': C });
  const f = facts({
    refs: new Map([['refs/heads/main', B]]),
    authoritative: a,
    waiting: [{ state: w, expiresAt: 5000 }],
    prs: [
      { id: PR, tip: T, clone: ['https://pr.example/r.git'], inPurgatory: true, expiresAt: 7000 },
      { id: '4'.repeat(64), tip: B, clone: [], inPurgatory: false },
    ],
  });
  assert.deepEqual(new Set(oidsToCheck(f)), new Set([A, C, T, B]));
  const p = planMissing(f, new Set([A, C, T]));
  assert.deepEqual(
    p.items.map((i) => [i.kind, i.id, i.purgatory, i.expiresAt]),
    [
      ['state', ID2, true, 5000],
      ['state', ID1, false, undefined],
      ['pr', PR, true, 7000],
    ],
  );
  assert.deepEqual(p.items[2]!.prClone, ['https://pr.example/r.git']);
  assert.equal(p.fix, true, 'the stored PR whose tip is held lacks its refs/nostr ref');
  // a waiting state whose data is all here is a fix (settle releases it), not an item
  assert.deepEqual(planMissing(f, new Set([A, T])).items.map((i) => i.id), [ID1, PR]);
  assert.equal(planMissing(facts({ waiting: [{ state: w, expiresAt: 1 }] }), new Set()).fix, true);
});

const hosts: HostSpec[] = ['relay.example:8080'].map((h) => parseHostSpec(h)!);
const opts = { hosts, allowHttp: true, max: 8 };

test('normalising clone URLs: http(s) only, no credentials, lower-case host, default port and trailing slash dropped', () => {
  assert.equal(normalizeCloneUrl('HTTPS://Git.Example.com:443/o/r.git/', true), 'https://git.example.com/o/r.git');
  assert.equal(normalizeCloneUrl('http://git.example.com:8080/r.git#frag', true), 'http://git.example.com:8080/r.git');
  assert.equal(normalizeCloneUrl('http://git.example.com/r.git', false), undefined, 'http refused when syncAllowHttp is off');
  for (const bad of ['file:///etc/passwd', 'ext::sh -c touch% /tmp/pwned', 'git://example.com/r.git', 'ssh://git@example.com/r.git', 'git@example.com:r.git', 'https://user:pw@example.com/r.git', 'https://', '/local/path', '']) {
    assert.equal(normalizeCloneUrl(bad, true), undefined, bad);
  }
});

test('repository sources: the owner first, then members, then the other announcers; this service excluded; de-duplicated', () => {
  const owner = keypair('plan-owner');
  const member = keypair('plan-member');
  const other = keypair('plan-other');
  const ann = (k: typeof owner, ...clone: string[]) => sign(k, { kind: 30617, tags: [['d', 'r'], ['clone', ...clone]] });
  const anns = new Map([
    [other.pk, ann(other, 'https://other.example/r.git')],
    [member.pk, ann(member, 'https://member.example/r.git', 'https://OWNER.example/r.git/')],
    [owner.pk, ann(owner, 'https://owner.example/r.git', 'http://relay.example:8080/npub/r.git', 'file:///srv/r.git')],
  ]);
  const urls = repoSources(owner.pk, new Set([owner.pk, member.pk]), anns, opts);
  assert.deepEqual(urls, ['https://owner.example/r.git', 'https://member.example/r.git', 'https://other.example/r.git']);
});

test('item sources: a PR clone URL first, then the repository, at most syncMaxUrlsPerItem', () => {
  const repoUrls = ['https://a.example/r.git', 'https://b.example/r.git', 'https://c.example/r.git'];
  assert.deepEqual(itemSources({ prClone: ['https://fork.example/r.git', 'https://b.example/r.git/'] }, repoUrls, opts), [
    'https://fork.example/r.git',
    'https://b.example/r.git',
    'https://a.example/r.git',
    'https://c.example/r.git',
  ]);
  assert.deepEqual(itemSources({}, repoUrls, { ...opts, max: 2 }), repoUrls.slice(0, 2));
  assert.deepEqual(itemSources({ prClone: ['http://relay.example:8080/x.git'] }, [], opts), [], 'this service is never a source');
});
