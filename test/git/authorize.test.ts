// authorize(): the pure push decision of git.md §2.5, rule by rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorize, newestState, type AuthorizeInput } from '../../src/git/authorize.js';
import { ZERO_OID, type RefCommand, type StateRefs } from '../../src/git/types.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const PR = '1'.repeat(64);

const state = (refs: Record<string, string>, id = 'f'.repeat(64), created_at = 100): StateRefs => ({
  id,
  author: 'e'.repeat(64),
  created_at,
  refs: new Map(Object.entries(refs)),
});

function input(commands: RefCommand[], over: Partial<AuthorizeInput> = {}): AuthorizeInput {
  return {
    repoName: 'npub1x/repo',
    commands,
    localRefs: new Map(),
    held: new Set(),
    candidates: [],
    npub: (pk) => `npub1${pk}`,
    nostr: { tipOf: () => undefined, placeholders: 0, maxPlaceholders: 100 },
    ...over,
  };
}

const push = (ref: string, nw: string, old = ZERO_OID): RefCommand => ({ old, new: nw, ref });

test('no state waiting: publish the 30618 first', () => {
  const r = authorize(input([push('refs/heads/main', A)]));
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.code, 'no-state');
  assert.match(r.reasons.get('refs/heads/main')!, /publish the 30618 first/);
});

test('a push that equals the state is accepted and names the state', () => {
  const s = state({ 'refs/heads/main': A });
  const r = authorize(input([push('refs/heads/main', A)], { candidates: [s] }));
  assert.deepEqual(r, { ok: true, state: s });
});

test('state names A, push B: both ids in the reason', () => {
  const r = authorize(input([push('refs/heads/main', B)], { candidates: [state({ 'refs/heads/main': A })] }));
  assert.equal(r.ok, false);
  if (r.ok) return;
  const why = r.reasons.get('refs/heads/main')!;
  assert.match(why, /aaaaaaa/);
  assert.match(why, /bbbbbbb/);
  assert.equal(r.code, 'state-mismatch');
});

test('a ref of the state neither pushed nor held: refused naming it; held: accepted', () => {
  const s = state({ 'refs/heads/main': A, 'refs/heads/dev': B });
  const r = authorize(input([push('refs/heads/main', A)], { candidates: [s] }));
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.code, 'missing-object');
    assert.match(r.reasons.get('refs/heads/main')!, /refs\/heads\/dev/);
    assert.match(r.summary, /push it too/);
  }
  assert.equal(authorize(input([push('refs/heads/main', A), push('refs/heads/dev', B)], { candidates: [s] })).ok, true);
  assert.equal(authorize(input([push('refs/heads/main', A)], { candidates: [s], held: new Set([B]) })).ok, true);
  // the same object pushed under another ref counts as present
  const s2 = state({ 'refs/heads/main': A, 'refs/heads/dev': A });
  assert.equal(authorize(input([push('refs/heads/main', A)], { candidates: [s2] })).ok, true);
});

test('deleting a ref the state drops agrees; leaving it is fine too (deleted at release)', () => {
  const s = state({ 'refs/heads/main': A });
  const local = new Map([['refs/heads/old', C]]);
  assert.equal(authorize(input([push('refs/heads/main', A), { old: C, new: ZERO_OID, ref: 'refs/heads/old' }], { candidates: [s], localRefs: local })).ok, true);
  assert.equal(authorize(input([push('refs/heads/main', A)], { candidates: [s], localRefs: local })).ok, true);
  // deleting a ref the state names is a mismatch
  const s2 = state({ 'refs/heads/main': A, 'refs/heads/old': C });
  assert.equal(authorize(input([{ old: C, new: ZERO_OID, ref: 'refs/heads/old' }], { candidates: [s2], localRefs: new Map([...local, ['refs/heads/main', A]]) })).ok, false);
});

test('namespaces: refs/notes, a bad refs/nostr and a branch outside the state are refused; nothing applied', () => {
  const s = state({ 'refs/heads/main': A });
  for (const ref of ['refs/notes/x', 'refs/nostr/123', 'refs/pull/1/head', 'HEAD']) {
    const r = authorize(input([push('refs/heads/main', A), push(ref, B)], { candidates: [s] }));
    assert.equal(r.ok, false, ref);
    if (!r.ok) {
      assert.equal(r.code, 'namespace');
      assert.match(r.reasons.get(ref)!, /only branches and tags/);
      assert.match(r.reasons.get('refs/heads/main')!, /not applied/);
    }
  }
  const r = authorize(input([push('refs/heads/pr/1', B)], { candidates: [s] }));
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.reasons.get('refs/heads/pr/1')!, /not in state/);
});

test('stale old values are refused; all no-op commands are accepted without a state', () => {
  const local = new Map([['refs/heads/main', A]]);
  const r = authorize(input([push('refs/heads/main', B, C)], { localRefs: local, candidates: [state({ 'refs/heads/main': B })] }));
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.reasons.get('refs/heads/main'), 'stale: fetch and retry');
  assert.deepEqual(authorize(input([push('refs/heads/main', A, A)], { localRefs: local })), { ok: true });
});

test('refs/nostr/<id>: accepted without a state; a known event with another tip refused; no deletion; placeholder cap', () => {
  assert.deepEqual(authorize(input([push(`refs/nostr/${PR}`, A)])), { ok: true });
  const known = authorize(input([push(`refs/nostr/${PR}`, A)], { nostr: { tipOf: () => B, placeholders: 0, maxPlaceholders: 100 } }));
  assert.equal(known.ok, false);
  if (!known.ok) assert.match(known.reasons.get(`refs/nostr/${PR}`)!, /names tip bbbbbbb/);
  const del = authorize(input([{ old: A, new: ZERO_OID, ref: `refs/nostr/${PR}` }], { localRefs: new Map([[`refs/nostr/${PR}`, A]]) }));
  assert.equal(del.ok, false);
  const full = authorize(input([push(`refs/nostr/${PR}`, A)], { nostr: { tipOf: () => undefined, placeholders: 100, maxPlaceholders: 100 } }));
  assert.equal(full.ok, false);
  if (!full.ok) assert.match(full.summary, /publish the PR event first/);
  // a known event's tip is no placeholder: the cap does not apply
  assert.equal(authorize(input([push(`refs/nostr/${PR}`, A)], { nostr: { tipOf: () => A, placeholders: 100, maxPlaceholders: 100 } })).ok, true);
});

test('candidates are tried in order; the newest mismatch is the diagnosis', () => {
  const newer = state({ 'refs/heads/main': B }, '2'.repeat(64), 200);
  const older = state({ 'refs/heads/main': A }, '3'.repeat(64), 100);
  const r = authorize(input([push('refs/heads/main', A)], { candidates: [newer, older] }));
  assert.deepEqual(r, { ok: true, state: older });
  const miss = authorize(input([push('refs/heads/main', C)], { candidates: [newer, older] }));
  assert.equal(miss.ok, false);
  if (!miss.ok) assert.match(miss.summary, /2222222/);
});

test('read-only repositories refuse everything', () => {
  const r = authorize(input([push('refs/heads/main', A, A)], { readOnly: 'repository is archived here (read-only)' }));
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.reasons.get('refs/heads/main'), 'repository is archived here (read-only)');
});

test('reasons are at most 200 bytes', () => {
  const long = 'x'.repeat(500);
  const r = authorize(input([push('refs/heads/main', A)], { readOnly: long }));
  if (!r.ok) assert.ok(Buffer.byteLength(r.reasons.get('refs/heads/main')!) <= 200);
});

test('newestState orders by created_at then lowest id', () => {
  const a = state({ 'refs/heads/main': A }, '5'.repeat(64), 100);
  const b = state({ 'refs/heads/main': A }, '4'.repeat(64), 100);
  const c = state({ 'refs/heads/main': A }, '6'.repeat(64), 99);
  assert.equal(newestState([a, b, c]), b);
  assert.equal(newestState([]), undefined);
});
