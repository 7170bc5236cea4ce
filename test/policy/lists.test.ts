// Tests of the operator lists (src/policy/lists.ts) and the NIP-11 GRASP fields (src/policy/nip11.ts):
// entry forms, refusal of malformed entries at startup, and the generated texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { npubEncode } from 'nostr-tools/nip19';
import { makeConfig } from '../../src/config/schema.js';
import { createPolicy, nip11PolicyFields, PolicyListError } from '../../src/policy/index.js';
import { parsePubkey, parsePubkeyList, RepoList } from '../../src/policy/lists.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

test('parsePubkey: npub and hex (any case)', () => {
  assert.equal(parsePubkey(npubEncode(A)), A);
  assert.equal(parsePubkey(A.toUpperCase()), A);
  assert.equal(parsePubkey(` ${A} `), A);
  assert.equal(parsePubkey('npub1notvalid'), undefined);
  assert.equal(parsePubkey('abc'), undefined);
  assert.throws(() => parsePubkeyList(['npub1notvalid'], 'blockedPubkeys'), /policy\.blockedPubkeys: "npub1notvalid"/);
});

test('RepoList: npub, npub/d, hex, hex/d and bare d', () => {
  const l = new RepoList([npubEncode(A), `${npubEncode(B)}/one`, `${B.toUpperCase()}/two`, 'shared-name'], 'repoAllowlist');
  assert.equal(l.size, 4);
  assert.equal(l.matches(A, 'anything'), true, 'whole author');
  assert.equal(l.matches(B, 'one'), true, 'npub/d');
  assert.equal(l.matches(B, 'two'), true, 'hex/d');
  assert.equal(l.matches(B, 'three'), false);
  assert.equal(l.matches('c'.repeat(64), 'shared-name'), true, 'bare d, any author');
  assert.equal(l.matches('c'.repeat(64), 'one'), false);
  assert.equal(new RepoList([], 'repoAllowlist').matches(A, 'x'), false);
});

test('RepoList: malformed entries are configuration errors', () => {
  for (const bad of ['npub1zzzz', 'someone/repo', `${A}/`, `${A}/a/b`, '']) {
    assert.throws(() => new RepoList([bad], 'repoBlocklist'), PolicyListError, JSON.stringify(bad));
  }
  assert.throws(() => createPolicy(makeConfig({ policy: { repoAllowlist: ['x/y'] } })), /policy\.repoAllowlist/);
  assert.throws(() => createPolicy(makeConfig({ policy: { blockedPubkeys: ['nobody'] } })), /policy\.blockedPubkeys/);
  assert.throws(() => createPolicy(makeConfig({ service: { hosts: ['git example com'] } })), /service\.hosts: "git example com"/);
});

test('nip11PolicyFields: defaults', () => {
  const f = nip11PolicyFields(makeConfig({ service: { hosts: ['git.example.com'] } }));
  assert.deepEqual(f.supported_grasps, ['GRASP-01', 'GRASP-02']);
  assert.equal(f.curation, undefined);
  assert.match(f.repo_acceptance_criteria, /list this service \(git\.example\.com\) in both a clone URL and a relays URL/);
  assert.match(f.repo_acceptance_criteria, /maintainer/);
  assert.doesNotMatch(f.repo_acceptance_criteria, /archive|allowlist|blocked/);
});

test('nip11PolicyFields: archive mode adds GRASP-05 once; lists produce curation', () => {
  const all = nip11PolicyFields(makeConfig({ policy: { archive: 'all' } }));
  assert.deepEqual(all.supported_grasps, ['GRASP-01', 'GRASP-02', 'GRASP-05']);
  assert.match(all.repo_acceptance_criteria, /archive mode\) for any repository/);
  assert.equal(all.curation, undefined);

  const already = nip11PolicyFields(makeConfig({ service: { grasps: ['GRASP-01', 'GRASP-05'] }, policy: { archive: 'allowlist' } }));
  assert.deepEqual(already.supported_grasps, ['GRASP-01', 'GRASP-05']);

  const curated = nip11PolicyFields(
    makeConfig({
      policy: { repoAllowlist: ['good-repo'], repoBlocklist: [A, B], blockedPubkeys: [A], archive: 'allowlist', archiveAllowlist: ['old-repo'] },
    }),
  );
  assert.deepEqual(curated.curation, {
    repo_allowlist: ['good-repo'],
    repo_blocklist_entries: 2,
    blocked_pubkeys: 1,
    archive_allowlist: ['old-repo'],
  });
  assert.match(curated.repo_acceptance_criteria, /Only the repositories on the operator's allowlist are accepted\./);
  assert.match(curated.repo_acceptance_criteria, /Some repositories are blocked by the operator\./);
  assert.match(curated.repo_acceptance_criteria, /Some authors are blocked by the operator\./);
  assert.match(curated.repo_acceptance_criteria, /archive list/);
});

test('nip11PolicyFields: open mode', () => {
  const f = nip11PolicyFields(makeConfig({ policy: { mode: 'open' } }));
  assert.equal(f.repo_acceptance_criteria, 'Open relay: every valid event is accepted.');
  assert.equal(createPolicy(makeConfig({ policy: { mode: 'open' } })).mode, 'open');
});
