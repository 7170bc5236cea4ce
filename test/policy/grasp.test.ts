// Table-driven tests of the GRASP write policy (src/policy) against a real LMDB store: each rule
// of design/grasp.md §2 with accepting and refusing cases, message texts, codes and waitingFor.
// Every case gets a fresh store, the listed events are inserted through the writer, then the
// policy checks one event. The store is wrapped to record calls: only index lookups are allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { npubEncode } from 'nostr-tools/nip19';
import { makeConfig, type Config } from '../../src/config/schema.js';
import type { NostrEvent } from '../../src/nostr/event.js';
import type { Filter } from '../../src/nostr/event.js';
import type { StoreReader } from '../../src/store/types.js';
import { createPolicy, type PolicyDecision, type RejectCode, type RejectPrefix } from '../../src/policy/index.js';
import { keypair, sign, type Keypair } from '../helpers/events.js';
import { tempStore } from './temp-store.js';

// ---- people and events -----------------------------------------------------------------------

const O = keypair('policy-owner');
const M = keypair('policy-maintainer');
const M2 = keypair('policy-maintainers-maintainer');
const S = keypair('policy-stranger');
const X = keypair('policy-mallory');
const CA = keypair('policy-cycle-a');
const CB = keypair('policy-cycle-b');
const CC = keypair('policy-cycle-outsider');
const CD = keypair('policy-cycle-d');

const HOST = 'git.example.com';
const cloneOf = (who: Keypair, d: string): string[] => ['clone', `https://${HOST}/${npubEncode(who.pk)}/${d}.git`];
const RELAYS = ['relays', `wss://${HOST}`, 'wss://relay.damus.io'];
const ELSEWHERE = (d: string): string[][] => [
  ['clone', `https://github.com/someone/${d}.git`],
  ['relays', 'wss://relay.damus.io'],
];

function ann(who: Keypair, d: string, opts: { tags?: string[][]; maintainers?: Keypair[] } = {}): NostrEvent {
  const tags: string[][] = [['d', d], ['name', d], ...(opts.tags ?? [cloneOf(who, d), RELAYS])];
  if (opts.maintainers) tags.push(['maintainers', ...opts.maintainers.map((k) => k.pk)]);
  return sign(who, { kind: 30617, tags });
}
const addr = (who: Keypair, d: string): string => `30617:${who.pk}:${d}`;
const state = (who: Keypair, d: string): NostrEvent =>
  sign(who, { kind: 30618, tags: [['d', d], ['HEAD', 'ref: refs/heads/main'], ['refs/heads/main', 'c'.repeat(40)]] });
const issue = (who: Keypair, repoAddr: string): NostrEvent =>
  sign(who, { kind: 1621, tags: [['a', repoAddr], ['p', O.pk], ['subject', 'it breaks']], content: 'steps…' });

// The repository: owned by O, maintained by O and M, listing the service.
const repo = ann(O, 'repo', { maintainers: [O, M] });
const repoIssue = issue(S, addr(O, 'repo'));
const comment = sign(X, {
  kind: 1111,
  tags: [['E', repoIssue.id], ['K', '1621'], ['e', repoIssue.id], ['k', '1621'], ['P', S.pk]],
  content: 'same here',
});
const reply = sign(S, { kind: 1111, tags: [['e', comment.id], ['k', '1111']], content: 'thanks' });

// Announcements that omit the service.
const mAnn = ann(M, 'repo', { tags: ELSEWHERE('repo'), maintainers: [O, M, M2] });
const m2Ann = ann(M2, 'repo', { tags: ELSEWHERE('repo'), maintainers: [M2] });
const sAnn = ann(S, 'repo', { tags: ELSEWHERE('repo'), maintainers: [S] });

// A maintainer cycle: O lists CA; CA lists CB; CB lists CA (and CD, who has no announcement).
const cycleRoot = ann(O, 'cyc', { maintainers: [O, CA] });
const caAnn = ann(CA, 'cyc', { tags: ELSEWHERE('cyc'), maintainers: [CA, CB] });
const cbAnn = ann(CB, 'cyc', { tags: ELSEWHERE('cyc'), maintainers: [CB, CA, CD] });

// Forward references: stored events that tag an event not stored yet.
const orphanPatch = sign(S, { kind: 1617, tags: [['t', 'root']], content: 'From abc… a patch with no a tag' });
const statusFirst = sign(O, { kind: 1630, tags: [['e', orphanPatch.id, '', 'root'], ['a', addr(O, 'repo')], ['p', S.pk]] });
const orphanPr = sign(S, { kind: 1618, tags: [['subject', 'pr']], content: '' });
const commentFirst = sign(X, { kind: 1111, tags: [['E', orphanPr.id], ['K', '1618'], ['A', addr(O, 'repo')]] });
const orphanNote = sign(S, { kind: 1, tags: [], content: 'quoted later' });
const quoteFirst = sign(X, { kind: 1, tags: [['q', orphanNote.id], ['a', addr(O, 'repo')]] });
const pTagOnly = sign(S, { kind: 1, tags: [], content: 'only p-tagged' });
const pTagger = sign(X, { kind: 1, tags: [['p', pTagOnly.id], ['a', addr(O, 'repo')]] });
const article = sign(S, { kind: 30023, tags: [['d', 'notes']], content: 'design notes' });
const articleRefA = sign(X, { kind: 1111, tags: [['A', addr(O, 'repo')], ['a', `30023:${S.pk}:notes`]] });
const article2 = sign(S, { kind: 30023, tags: [['d', 'notes-2']], content: 'more notes' });
const articleRefUpperA = sign(X, { kind: 1, tags: [['a', addr(O, 'repo')], ['A', `30023:${S.pk}:notes-2`]] });

const UNKNOWN_ID = 'f'.repeat(64);

// Events accepted without relation (10317, own deletions) must not anchor anything else.
const spam = sign(X, { kind: 1, content: 'buy now' });
const spamList = sign(X, { kind: 10317, tags: [['g', `wss://${HOST}`], ['e', spam.id], ['q', spam.id], ['a', `30023:${X.pk}:spam`]] });
const spamArticle = sign(X, { kind: 30023, tags: [['d', 'spam']], content: 'buy now' });
const ownDeletion = sign(X, { kind: 5, tags: [['a', `30023:${X.pk}:old`], ['q', spam.id], ['E', spam.id]] });
const laterArticle = sign(X, { kind: 30023, tags: [['d', 'old']], content: 'newer than the deletion' });

// ---- the table ---------------------------------------------------------------------------------

type Overrides = { service?: Partial<Config['service']>; policy?: Partial<Config['policy']> };
type Want =
  | 'accept'
  | { prefix: RejectPrefix; code: RejectCode; message?: string | RegExp; waitingFor?: string[] | 'none' };

interface Case {
  name: string;
  config?: Overrides;
  stored?: NostrEvent[];
  event: NostrEvent;
  want: Want;
}

const notListed = (found: string): { prefix: RejectPrefix; code: RejectCode; message: string } => ({
  prefix: 'restricted',
  code: 'service-not-listed',
  message: `restricted: announcement must list this service (git.example.com) in both clone and relays; found ${found}`,
});
const unrelated = (waitingFor: string[] | 'none'): Want => ({
  prefix: 'restricted',
  code: 'unrelated',
  message: 'restricted: event does not reference an accepted repository or event',
  waitingFor,
});
const DELETE_OTHERS: Want = {
  prefix: 'restricted',
  code: 'delete-others',
  message: "restricted: a deletion request may only delete its author's own events",
  waitingFor: 'none',
};
const BLOCKED_AUTHOR: Want = { prefix: 'blocked', code: 'blocked-pubkey', message: 'blocked: author is blocked on this relay' };

const cases: Case[] = [
  // -- 30617: service listing
  { name: '30617 listing the service in clone and relays', event: repo, want: 'accept' },
  {
    name: '30617 listing the service in clone only',
    event: ann(S, 'half', { tags: [cloneOf(S, 'half'), ['relays', 'wss://relay.damus.io']] }),
    want: { ...notListed(`clone=[https://git.example.com/${npubEncode(S.pk)}/half.git] relays=[wss://relay.damus.io]`), waitingFor: 'none' },
  },
  {
    name: '30617 listing the service in relays only',
    event: ann(S, 'half', { tags: [['clone', 'https://github.com/s/half.git'], ['relays', `wss://${HOST}`]] }),
    want: notListed('clone=[https://github.com/s/half.git] relays=[wss://git.example.com]'),
  },
  {
    name: '30617 with hosts that merely contain ours (substring attack)',
    event: ann(S, 'evil', {
      tags: [
        ['clone', 'https://evil-git.example.com.attacker.net/x/evil.git', 'https://git.example.com.evil.net/x/evil.git'],
        ['relays', 'wss://git.example.com.evil.net', 'wss://evil-git.example.com.attacker.net/'],
      ],
    }),
    want: notListed(
      'clone=[https://evil-git.example.com.attacker.net/x/evil.git, https://git.example.com.evil.net/x/evil.git] ' +
        'relays=[wss://git.example.com.evil.net, wss://evil-git.example.com.attacker.net/]',
    ),
  },
  {
    name: '30617 with our host as a path or userinfo of another host',
    event: ann(S, 'evil2', {
      tags: [['clone', 'https://attacker.net/git.example.com/x.git', `https://${HOST}@attacker.net/x.git`], ['relays', `wss://attacker.net/${HOST}`]],
    }),
    want: { prefix: 'restricted', code: 'service-not-listed' },
  },
  {
    name: '30617 with case, default port and trailing slashes',
    event: ann(S, 'norm', { tags: [['clone', 'HTTPS://Git.Example.COM:443/npub/norm.git/'], ['relays', 'wss://GIT.example.com:443/']] }),
    want: 'accept',
  },
  {
    name: '30617 with a non-default port on our host is not ours',
    event: ann(S, 'port', { tags: [['clone', 'https://git.example.com:8443/x.git'], ['relays', 'wss://git.example.com:8443']] }),
    want: { prefix: 'restricted', code: 'service-not-listed' },
  },
  {
    name: '30617 on a host:port service',
    config: { service: { hosts: ['127.0.0.1:7777'] } },
    event: ann(S, 'local', { tags: [['clone', 'http://127.0.0.1:7777/npub/local.git'], ['relays', 'ws://127.0.0.1:7777/']] }),
    want: 'accept',
  },
  {
    name: '30617 on a host:port service naming another port',
    config: { service: { hosts: ['127.0.0.1:7777'] } },
    event: ann(S, 'local', { tags: [['clone', 'http://127.0.0.1:7777/npub/local.git'], ['relays', 'ws://127.0.0.1:7778']] }),
    want: {
      prefix: 'restricted',
      code: 'service-not-listed',
      message:
        'restricted: announcement must list this service (127.0.0.1:7777) in both clone and relays; found clone=[http://127.0.0.1:7777/npub/local.git] relays=[ws://127.0.0.1:7778]',
    },
  },
  {
    name: '30617 on a host:port service naming the default port',
    config: { service: { hosts: ['127.0.0.1:7777'] } },
    event: ann(S, 'local', { tags: [['clone', 'http://127.0.0.1/npub/local.git'], ['relays', 'ws://127.0.0.1:7777']] }),
    want: { prefix: 'restricted', code: 'service-not-listed' },
  },
  {
    name: '30617 with clone spread over several tags and relays over several tags',
    event: ann(S, 'spread', {
      tags: [
        ['clone', 'https://github.com/s/spread.git'],
        ['clone', 'https://codeberg.org/s/spread.git', `https://${HOST}/npub/spread.git`],
        ['relays', 'wss://relay.damus.io'],
        ['relays', `wss://${HOST}`],
      ],
    }),
    want: 'accept',
  },
  {
    name: '30617 with ws/wss in clone and https in relays (wrong schemes)',
    event: ann(S, 'schemes', { tags: [['clone', `wss://${HOST}/x.git`], ['relays', `https://${HOST}`]] }),
    want: { prefix: 'restricted', code: 'service-not-listed' },
  },
  {
    name: '30617 on any of several service hosts',
    config: { service: { hosts: ['git.example.com', 'git.example.org'] } },
    event: ann(S, 'multi', { tags: [['clone', 'https://git.example.org/npub/multi.git'], ['relays', `wss://${HOST}`]] }),
    want: 'accept',
  },
  {
    name: '30617 with many untrusted values: message stays bounded',
    event: ann(S, 'many', { tags: [['clone', ...Array.from({ length: 8 }, (_, i) => `https://h${i}.net/x.git`)], ['relays', `wss://${'x'.repeat(150)}.net`]] }),
    want: {
      ...notListed(
        'clone=[https://h0.net/x.git, https://h1.net/x.git, https://h2.net/x.git, https://h3.net/x.git, https://h4.net/x.git, … (+3 more)] ' +
          `relays=[${`wss://${'x'.repeat(150)}.net`.slice(0, 100)}…]`,
      ),
    },
  },

  // -- 30617: identifier
  ...['', 'a/b', 'a\\b', '.', '..', 'a\0b'].map(
    (d): Case => ({
      name: `30617 with bad identifier ${JSON.stringify(d)}`,
      event: ann(S, d),
      want: {
        prefix: 'invalid',
        code: 'bad-identifier',
        message: `invalid: repository identifier (d tag) must be non-empty, must not contain "/", "\\" or NUL and must not be "." or ".."; got ${JSON.stringify(d)}`,
      },
    }),
  ),
  {
    name: '30617 without a d tag',
    event: sign(S, { kind: 30617, tags: [cloneOf(S, 'x'), RELAYS] }),
    want: { prefix: 'invalid', code: 'bad-identifier' },
  },
  { name: '30617 with dots inside the identifier', event: ann(S, 'my.repo..v2'), want: 'accept' },

  // -- 30617: maintainer exception
  {
    name: '30617 by a maintainer that omits the service',
    stored: [repo],
    event: ann(M, 'repo', { tags: ELSEWHERE('repo'), maintainers: [O, M] }),
    want: 'accept',
  },
  {
    name: "30617 by a maintainer's maintainer (learned recursively) that omits the service",
    stored: [repo, mAnn],
    event: m2Ann,
    want: 'accept',
  },
  {
    name: "30617 by a maintainer's maintainer when the maintainer's announcement is missing",
    stored: [repo],
    event: m2Ann,
    want: { ...notListed('clone=[https://github.com/someone/repo.git] relays=[wss://relay.damus.io]'), waitingFor: [addr(O, 'repo'), addr(M, 'repo')] },
  },
  {
    name: '30617 by a maintainer before the owner (out of order): waits for the owner',
    event: ann(M, 'repo', { tags: ELSEWHERE('repo'), maintainers: [O, M] }),
    want: { prefix: 'restricted', code: 'service-not-listed', waitingFor: [addr(O, 'repo')] },
  },
  {
    name: '30617 by a non-maintainer that omits the service',
    stored: [repo],
    event: sAnn,
    want: { prefix: 'restricted', code: 'service-not-listed', waitingFor: [addr(O, 'repo'), addr(M, 'repo')] },
  },
  {
    name: '30617 that omits the service, same d stored only by a non-listing author',
    stored: [sAnn],
    event: ann(X, 'repo', { tags: ELSEWHERE('repo'), maintainers: [X] }),
    want: { prefix: 'restricted', code: 'service-not-listed', waitingFor: [addr(S, 'repo')] },
  },
  {
    name: '30617 update by the owner that drops the service',
    stored: [repo],
    event: ann(O, 'repo', { tags: ELSEWHERE('repo'), maintainers: [O, M] }),
    want: 'accept',
  },
  {
    name: '30617 maintainer exception needs the same d',
    stored: [repo],
    event: ann(M, 'other', { tags: ELSEWHERE('other'), maintainers: [O, M] }),
    want: { prefix: 'restricted', code: 'service-not-listed' },
  },
  {
    name: '30617 maintainer cycle (CA lists CB, CB lists CA) accepts members',
    stored: [cycleRoot, caAnn, cbAnn],
    event: ann(CD, 'cyc', { tags: ELSEWHERE('cyc'), maintainers: [CD] }),
    want: 'accept',
  },
  {
    name: '30617 maintainer cycle terminates and refuses an outsider',
    stored: [cycleRoot, caAnn, cbAnn],
    event: ann(CC, 'cyc', { tags: ELSEWHERE('cyc'), maintainers: [CC] }),
    want: {
      prefix: 'restricted',
      code: 'service-not-listed',
      waitingFor: [addr(O, 'cyc'), addr(CA, 'cyc'), addr(CB, 'cyc'), addr(CD, 'cyc')],
    },
  },

  // -- 30617: repository lists and archive mode
  {
    name: '30617 on the repository blocklist (npub/d)',
    config: { policy: { repoBlocklist: [`${npubEncode(O.pk)}/repo`] } },
    event: repo,
    want: { prefix: 'blocked', code: 'blocked-repo', message: 'blocked: repository "repo" of this author is blocked on this relay' },
  },
  {
    name: '30617 on the repository blocklist (bare d, any author)',
    config: { policy: { repoBlocklist: ['repo'] } },
    event: ann(S, 'repo'),
    want: { prefix: 'blocked', code: 'blocked-repo' },
  },
  {
    name: '30617 on the repository blocklist (hex pubkey, every d)',
    config: { policy: { repoBlocklist: [S.pk] } },
    event: ann(S, 'anything'),
    want: { prefix: 'blocked', code: 'blocked-repo' },
  },
  {
    name: '30617 of another repository of a blocklisted npub/d author',
    config: { policy: { repoBlocklist: [`${npubEncode(O.pk)}/repo`] } },
    event: ann(O, 'fine'),
    want: 'accept',
  },
  {
    name: '30617 not on the repository allowlist',
    config: { policy: { repoAllowlist: ['other'] } },
    event: repo,
    want: { prefix: 'restricted', code: 'not-allowed-repo', message: `restricted: repository "repo" is not on this relay's allowlist` },
  },
  { name: '30617 on the allowlist (npub)', config: { policy: { repoAllowlist: [npubEncode(O.pk)] } }, event: repo, want: 'accept' },
  { name: '30617 on the allowlist (hex/d)', config: { policy: { repoAllowlist: [`${O.pk}/repo`] } }, event: repo, want: 'accept' },
  {
    name: '30617 on the allowlist still has to list the service',
    config: { policy: { repoAllowlist: [npubEncode(S.pk)] } },
    event: sAnn,
    want: { prefix: 'restricted', code: 'service-not-listed' },
  },
  {
    name: 'blocklist beats allowlist',
    config: { policy: { repoAllowlist: [npubEncode(O.pk)], repoBlocklist: [`${O.pk}/repo`] } },
    event: repo,
    want: { prefix: 'blocked', code: 'blocked-repo' },
  },
  {
    name: 'blocklist beats archive mode all',
    config: { policy: { archive: 'all', repoBlocklist: ['repo'] } },
    event: sAnn,
    want: { prefix: 'blocked', code: 'blocked-repo' },
  },
  {
    name: '30617 by a maintainer of an allowlisted repository',
    config: { policy: { repoAllowlist: [`${npubEncode(O.pk)}/repo`] } },
    stored: [repo],
    event: ann(M, 'repo', { maintainers: [O, M] }),
    want: 'accept',
  },
  {
    name: '30617 by a non-maintainer with the same d as an allowlisted repository',
    config: { policy: { repoAllowlist: [`${npubEncode(O.pk)}/repo`] } },
    stored: [repo],
    event: ann(S, 'repo'),
    want: { prefix: 'restricted', code: 'not-allowed-repo' },
  },
  { name: 'archive all accepts an announcement that omits the service', config: { policy: { archive: 'all' } }, event: sAnn, want: 'accept' },
  {
    name: 'archive off refuses it',
    config: { policy: { archive: 'off', archiveAllowlist: ['repo'] } },
    event: sAnn,
    want: { prefix: 'restricted', code: 'service-not-listed' },
  },
  { name: 'archive allowlist (bare d) accepts', config: { policy: { archive: 'allowlist', archiveAllowlist: ['repo'] } }, event: sAnn, want: 'accept' },
  {
    name: 'archive allowlist (npub/d) accepts',
    config: { policy: { archive: 'allowlist', archiveAllowlist: [`${npubEncode(S.pk)}/repo`] } },
    event: sAnn,
    want: 'accept',
  },
  {
    name: 'archive allowlist refuses what it does not name',
    config: { policy: { archive: 'allowlist', archiveAllowlist: [`${npubEncode(O.pk)}/repo`, 'other'] } },
    event: sAnn,
    want: { prefix: 'restricted', code: 'service-not-listed' },
  },
  {
    name: 'archive all still checks the identifier',
    config: { policy: { archive: 'all' } },
    event: ann(S, '..', { tags: ELSEWHERE('x') }),
    want: { prefix: 'invalid', code: 'bad-identifier' },
  },

  // -- 30618
  { name: '30618 by the owner of a stored announcement', stored: [repo], event: state(O, 'repo'), want: 'accept' },
  { name: '30618 by a listed maintainer (no own announcement)', stored: [repo], event: state(M, 'repo'), want: 'accept' },
  { name: "30618 by a maintainer's maintainer", stored: [repo, mAnn], event: state(M2, 'repo'), want: 'accept' },
  {
    name: "30618 by a maintainer's maintainer before the maintainer's announcement",
    stored: [repo],
    event: state(M2, 'repo'),
    want: {
      prefix: 'restricted',
      code: 'not-maintainer',
      message:
        'restricted: author is not a maintainer of this repository (no stored announcement with d "repo" lists them, directly or through its maintainers)',
      waitingFor: [addr(M2, 'repo'), addr(O, 'repo'), addr(M, 'repo')],
    },
  },
  {
    name: '30618 with no announcement at all',
    event: state(O, 'repo'),
    want: {
      prefix: 'invalid',
      code: 'no-announcement',
      message: 'invalid: no announcement for this repository (no kind 30617 with d "repo" is stored)',
      waitingFor: [addr(O, 'repo')],
    },
  },
  {
    name: '30618 by a stranger',
    stored: [repo],
    event: state(S, 'repo'),
    want: { prefix: 'restricted', code: 'not-maintainer', waitingFor: [addr(S, 'repo'), addr(O, 'repo'), addr(M, 'repo')] },
  },
  {
    name: '30618 for another d than the maintained one',
    stored: [repo],
    event: state(M, 'other'),
    want: { prefix: 'invalid', code: 'no-announcement', waitingFor: [addr(M, 'other')] },
  },
  { name: '30618 through a maintainer cycle', stored: [cycleRoot, caAnn, cbAnn], event: state(CD, 'cyc'), want: 'accept' },
  {
    name: '30618 maintainer cycle terminates and refuses an outsider',
    stored: [cycleRoot, caAnn, cbAnn],
    event: state(CC, 'cyc'),
    want: { prefix: 'restricted', code: 'not-maintainer' },
  },
  {
    name: '30618 with a pure cycle and no listing root terminates',
    stored: [caAnn, cbAnn],
    event: state(CC, 'cyc'),
    want: { prefix: 'restricted', code: 'not-maintainer' },
  },
  {
    name: '30618 of a blocked repository',
    config: { policy: { repoBlocklist: [`${O.pk}/repo`] } },
    stored: [repo],
    event: state(O, 'repo'),
    want: { prefix: 'blocked', code: 'blocked-repo' },
  },

  // -- 10317
  { name: '10317 with nothing stored', event: sign(S, { kind: 10317, tags: [['g', `wss://${HOST}`]] }), want: 'accept' },

  // -- related-event rule: back references
  { name: 'issue tagging a stored repository (a)', stored: [repo], event: repoIssue, want: 'accept' },
  { name: 'issue tagging a repository that is not stored', event: repoIssue, want: unrelated([addr(O, 'repo')]) },
  { name: 'comment on an issue on a repository (E/e → issue → repository)', stored: [repo, repoIssue], event: comment, want: 'accept' },
  { name: 'reply to a comment on an issue (transitive, e only)', stored: [repo, repoIssue, comment], event: reply, want: 'accept' },
  { name: 'comment on an issue that is not stored', stored: [repo], event: comment, want: unrelated([repoIssue.id]) },
  {
    name: 'comment with an A root scope on a stored repository',
    stored: [repo],
    event: sign(S, { kind: 1111, tags: [['A', addr(O, 'repo')], ['K', '30617']] }),
    want: 'accept',
  },
  { name: 'q with an address', stored: [repo], event: sign(S, { kind: 1, tags: [['q', addr(O, 'repo')]] }), want: 'accept' },
  { name: 'q with an id', stored: [repo, repoIssue], event: sign(S, { kind: 1, tags: [['q', repoIssue.id]] }), want: 'accept' },
  {
    name: 'status (e root) on a stored patch',
    stored: [repo, statusFirst],
    event: sign(M, { kind: 1631, tags: [['e', statusFirst.id, '', 'root']] }),
    want: 'accept',
  },
  {
    name: 'malformed references are ignored, not waited for',
    event: sign(S, { kind: 1, tags: [['e', 'not-an-id'], ['a', 'nonsense'], ['a', `1:${O.pk}:`], ['q', 'x:y'], ['e'], []] }),
    want: unrelated('none'),
  },
  { name: 'unrelated note', event: sign(S, { kind: 1, content: 'gm' }), want: unrelated('none') },
  { name: 'unrelated profile', stored: [repo], event: sign(S, { kind: 0, content: '{}' }), want: unrelated('none') },

  // -- related-event rule: forward references
  { name: 'patch accepted via forward reference (#e) from a stored status', stored: [repo, statusFirst], event: orphanPatch, want: 'accept' },
  { name: 'PR accepted via forward reference (#E) from a stored comment', stored: [repo, commentFirst], event: orphanPr, want: 'accept' },
  { name: 'note accepted via forward reference (#q)', stored: [repo, quoteFirst], event: orphanNote, want: 'accept' },
  { name: 'a p tag is not a forward reference', stored: [repo, pTagger], event: pTagOnly, want: unrelated('none') },
  { name: 'addressable event accepted via forward reference (#a)', stored: [repo, articleRefA], event: article, want: 'accept' },
  { name: 'addressable event accepted via forward reference (#A)', stored: [repo, articleRefUpperA], event: article2, want: 'accept' },
  {
    name: 'forward reference by address needs the same author',
    stored: [repo, articleRefA],
    event: sign(X, { kind: 30023, tags: [['d', 'notes']] }),
    want: unrelated('none'),
  },

  // -- unanchored kinds (10317, kind 5) never relate other events
  { name: '10317 tagging an id does not admit it (forward e/q)', stored: [repo, spamList], event: spam, want: unrelated('none') },
  { name: '10317 tagging an address does not admit it (forward a)', stored: [repo, spamList], event: spamArticle, want: unrelated('none') },
  {
    name: 'a reference to a stored 10317 is not a relation',
    stored: [spamList],
    event: sign(X, { kind: 1, tags: [['a', `10317:${X.pk}:`]] }),
    want: unrelated('none'),
  },
  { name: 'own deletion tagging an id does not admit it (forward q/E)', stored: [ownDeletion], event: spam, want: unrelated('none') },
  { name: 'own deletion of an address does not admit a later version', stored: [ownDeletion], event: laterArticle, want: unrelated('none') },
  {
    name: 'a reference to a stored deletion is not a relation',
    stored: [ownDeletion],
    event: sign(X, { kind: 1, tags: [['e', ownDeletion.id]] }),
    want: unrelated('none'),
  },

  // -- kind 5
  {
    name: 'deletion of the author’s own stored issue',
    stored: [repo, repoIssue],
    event: sign(S, { kind: 5, tags: [['e', repoIssue.id], ['k', '1621']] }),
    want: 'accept',
  },
  { name: 'deletion of the author’s own address (not stored)', event: sign(O, { kind: 5, tags: [['a', addr(O, 'gone')]] }), want: 'accept' },
  {
    name: 'deletion of another author’s stored event',
    stored: [repo, repoIssue],
    event: sign(X, { kind: 5, tags: [['e', repoIssue.id], ['k', '1621']] }),
    want: DELETE_OTHERS,
  },
  {
    name: 'deletion of another author’s address',
    stored: [repo],
    event: sign(X, { kind: 5, tags: [['a', addr(O, 'repo')]] }),
    want: DELETE_OTHERS,
  },
  {
    name: 'deletion of own and another author’s events',
    stored: [repo, repoIssue, comment],
    event: sign(X, { kind: 5, tags: [['e', comment.id], ['e', repoIssue.id]] }),
    want: DELETE_OTHERS,
  },
  {
    name: 'deletion of an event that is not stored',
    event: sign(S, { kind: 5, tags: [['e', UNKNOWN_ID]] }),
    want: unrelated([UNKNOWN_ID]),
  },
  {
    name: 'deletion of an unknown event plus an own stored one (related)',
    stored: [repo, repoIssue],
    event: sign(S, { kind: 5, tags: [['e', UNKNOWN_ID], ['e', repoIssue.id]] }),
    want: 'accept',
  },
  { name: 'deletion without targets', event: sign(S, { kind: 5, tags: [['k', '1621']] }), want: unrelated('none') },

  // -- blocked authors (every kind)
  ...[
    ann(X, 'mine'),
    sign(X, { kind: 10317, tags: [['g', `wss://${HOST}`]] }),
    sign(X, { kind: 5, tags: [['a', addr(X, 'mine')]] }),
    sign(X, { kind: 1621, tags: [['a', addr(O, 'repo')]] }),
  ].map(
    (event): Case => ({
      name: `blocked author, kind ${event.kind}`,
      config: { policy: { blockedPubkeys: [npubEncode(X.pk)] } },
      stored: [repo],
      event,
      want: BLOCKED_AUTHOR,
    }),
  ),
  {
    name: 'blocked author (hex) in open mode',
    config: { policy: { mode: 'open', blockedPubkeys: [X.pk] } },
    event: sign(X, { kind: 1 }),
    want: BLOCKED_AUTHOR,
  },

  // -- open mode
  { name: 'open mode: unrelated note', config: { policy: { mode: 'open' } }, event: sign(S, { kind: 1, content: 'gm' }), want: 'accept' },
  { name: 'open mode: announcement elsewhere', config: { policy: { mode: 'open' } }, event: sAnn, want: 'accept' },
  { name: 'open mode: state without announcement', config: { policy: { mode: 'open' } }, event: state(S, 'x'), want: 'accept' },
  {
    name: 'open mode: deletion of others',
    config: { policy: { mode: 'open' } },
    stored: [repo],
    event: sign(X, { kind: 5, tags: [['a', addr(O, 'repo')]] }),
    want: 'accept',
  },
];

// ---- the runner --------------------------------------------------------------------------------

const HOSTS_DEFAULT = { hosts: [HOST] };

/** The store, recording every call; fails the test on anything that is not an index lookup. */
function recording(store: StoreReader, calls: string[]): StoreReader {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const name = String(prop);
        calls.push(name);
        if (name === 'querySync') {
          // Only tight index lookups: announcements by d, or the referrers of one tag value.
          const f = args[0] as Filter;
          const keys = Object.keys(f).sort();
          if (keys.length === 1) {
            assert.match(keys[0]!, /^#[eEqaA]$/);
          } else {
            assert.deepEqual(keys, ['#d', 'kinds'], 'querySync only by kind and #d');
            assert.deepEqual(f.kinds, [30617]);
          }
          for (const k of keys) assert.equal((f[k as `#${string}`] ?? [])!.length, 1);
          assert.ok((args[1] as number) <= 2000);
        }
        assert.ok(['get', 'has', 'getReplaceable', 'hasTagValue', 'querySync'].includes(name), `unexpected store call ${name}`);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function assertDecision(got: PolicyDecision, want: Want): void {
  if (want === 'accept') {
    assert.deepEqual(got, { action: 'accept' });
    return;
  }
  assert.equal(got.action, 'reject', `expected a reject, got ${JSON.stringify(got)}`);
  if (got.action !== 'reject') return;
  assert.equal(got.code, want.code, got.message);
  assert.equal(got.prefix, want.prefix, got.message);
  assert.ok(got.message.startsWith(`${want.prefix}: `), got.message);
  if (typeof want.message === 'string') assert.equal(got.message, want.message);
  else if (want.message instanceof RegExp) assert.match(got.message, want.message);
  if (want.waitingFor === 'none') assert.equal(got.waitingFor, undefined);
  else if (want.waitingFor !== undefined) assert.deepEqual([...(got.waitingFor ?? [])].sort(), [...want.waitingFor].sort());
}

for (const c of cases) {
  test(`policy: ${c.name}`, async () => {
    const ts = await tempStore();
    try {
      await ts.insert(...(c.stored ?? []));
      const cfg = makeConfig({ service: { ...HOSTS_DEFAULT, ...c.config?.service }, policy: { ...c.config?.policy } });
      const policy = createPolicy(cfg);
      const calls: string[] = [];
      for (const origin of ['client', 'sync'] as const) {
        assertDecision(policy.check(c.event, recording(ts.store, calls), origin), c.want);
      }
    } finally {
      await ts.destroy();
    }
  });
}

test('policy: out-of-order arrival resolves once the dependency is stored', async () => {
  const ts = await tempStore();
  try {
    const policy = createPolicy(makeConfig({ service: HOSTS_DEFAULT }));
    const check = (ev: NostrEvent) => policy.check(ev, ts.store, 'sync');
    const maintainersAnn = ann(M, 'repo', { tags: ELSEWHERE('repo'), maintainers: [O, M] });
    const mState = state(M, 'repo');

    // The maintainer's announcement and state and a comment arrive before the owner's announcement and the issue.
    const early = [maintainersAnn, mState, comment].map(check);
    for (const d of early) assert.equal(d.action, 'reject');
    const waits = early.flatMap((d) => (d.action === 'reject' ? (d.waitingFor ?? []) : []));
    assert.ok(waits.includes(addr(O, 'repo')), 'the maintainer announcement waits for the owner');
    assert.ok(waits.includes(repoIssue.id), 'the comment waits for the issue');

    await ts.insert(repo);
    assert.deepEqual(check(maintainersAnn), { action: 'accept' });
    await ts.insert(maintainersAnn);
    assert.deepEqual(check(mState), { action: 'accept' });
    assert.equal(check(comment).action, 'reject');
    assert.deepEqual(check(repoIssue), { action: 'accept' });
    await ts.insert(repoIssue);
    assert.deepEqual(check(comment), { action: 'accept' });
  } finally {
    await ts.destroy();
  }
});

test('policy: a failing store gives an error: reject, never a throw', async () => {
  const ts = await tempStore();
  try {
    const failing = new Proxy(ts.store, {
      get(target, prop, receiver) {
        if (prop === 'querySync' || prop === 'has' || prop === 'getReplaceable') {
          return () => {
            throw new Error('disk on fire');
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const policy = createPolicy(makeConfig({ service: HOSTS_DEFAULT }));
    for (const ev of [sAnn, state(S, 'repo'), repoIssue]) {
      const d = policy.check(ev, failing, 'client');
      assert.equal(d.action, 'reject');
      if (d.action === 'reject') {
        assert.equal(d.code, 'internal-error');
        assert.equal(d.prefix, 'error');
        assert.match(d.message, /^error: could not check the event against the write policy \(disk on fire\)$/);
      }
    }
  } finally {
    await ts.destroy();
  }
});
