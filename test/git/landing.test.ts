// The repository web page and the 404 page (src/git/landing.ts): content, escaping of every
// value, web client links from templates, the nostr:// URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, MAX_REFS_SHOWN, nostrUrl, renderNotFound, renderRepoPage, webClientLinks, type RepoPageInfo } from '../../src/git/landing.js';

const NPUB = 'npub1' + 'q'.repeat(58);
const OID = '0123456789abcdef0123456789abcdef01234567';

const base = (over: Partial<RepoPageInfo> = {}): RepoPageInfo => ({
  npub: NPUB,
  d: 'my-repo',
  name: 'My Repo',
  description: 'A repository.',
  cloneUrl: `https://relay.example.com/${NPUB}/my-repo.git`,
  nostrUrl: nostrUrl(NPUB, 'relay.example.com', 'my-repo'),
  waiting: false,
  head: 'refs/heads/main',
  refs: [
    ['refs/heads/main', OID],
    ['refs/tags/v1.0', OID],
  ],
  webLinks: webClientLinks(['https://gitworkshop.dev/{npub}/{relay}/{d}'], NPUB, 'relay.example.com', 'my-repo'),
  ...over,
});

test('escapeHtml', () => {
  assert.equal(escapeHtml(`<a href="x" onclick='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
});

test('nostrUrl and webClientLinks: substitution, d percent-encoded, only http(s)', () => {
  assert.equal(nostrUrl(NPUB, 'relay.example.com', 'my repo'), `nostr://${NPUB}/relay.example.com/my%20repo`);
  assert.deepEqual(webClientLinks(['https://gitworkshop.dev/{npub}/{relay}/{d}'], NPUB, 'relay.example.com:8080', 'a b/c?d'), [
    { label: 'gitworkshop.dev', href: `https://gitworkshop.dev/${NPUB}/relay.example.com:8080/a%20b%2Fc%3Fd` },
  ]);
  const links = webClientLinks(
    ['javascript:alert({d})', 'not a url {d}', 'http://a.example/{d}?r={relay}&n={npub}', 'https://b.example/{d}/{d}'],
    NPUB,
    'r.example',
    'x',
  );
  assert.deepEqual(links, [
    { label: 'a.example', href: `http://a.example/x?r=r.example&n=${NPUB}` },
    { label: 'b.example', href: 'https://b.example/x/x' },
  ]);
  assert.deepEqual(webClientLinks([], NPUB, 'r', 'x'), []);
});

test('renderRepoPage: name, description, clone command, nostr URL, HEAD, refs, links', () => {
  const html = renderRepoPage(base());
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<title>My Repo · grasp-relay<\/title>/);
  assert.match(html, /<h1>My Repo<\/h1>/);
  assert.ok(html.includes('A repository.'));
  assert.ok(html.includes(`git clone https://relay.example.com/${NPUB}/my-repo.git`));
  assert.ok(html.includes(`nostr://${NPUB}/relay.example.com/my-repo`));
  assert.ok(html.includes('HEAD → <code>main</code>'));
  assert.ok(html.includes('refs/tags/v1.0'));
  assert.ok(html.includes(OID.slice(0, 12)));
  assert.ok(html.includes(`href="https://gitworkshop.dev/${NPUB}/relay.example.com/my-repo"`));
  assert.ok(!/waiting for git data/i.test(html));

  const waiting = renderRepoPage(base({ waiting: true, refs: [], head: undefined, name: undefined, description: undefined, webLinks: [] }));
  assert.match(waiting, /Waiting for git data/);
  assert.match(waiting, /No refs yet/);
  assert.match(waiting, /<h1>my-repo<\/h1>/); // d when there is no name
  assert.ok(!waiting.includes('HEAD →'));
  assert.ok(!waiting.includes('<h2>Browse</h2>'));
});

test('renderRepoPage: every value is escaped', () => {
  const evil = `<script>alert("x")</script>'&`;
  const html = renderRepoPage(
    base({
      d: evil,
      name: evil,
      description: evil,
      cloneUrl: `https://h/${evil}`,
      nostrUrl: `nostr://${evil}`,
      head: `refs/heads/${evil}`,
      refs: [[`refs/heads/${evil}`, `${evil}${OID}`]],
      webLinks: [{ label: evil, href: `https://x/"${evil}` }],
      npub: evil,
    }),
  );
  assert.ok(!html.includes('<script>'), html);
  assert.ok(!html.includes('"x"'));
  assert.ok(!html.includes(`"${evil}`));
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;'));
  // the only tags are the page's own
  const tags = new Set([...html.matchAll(/<\/?([a-z0-9!]+)/gi)].map((m) => m[1]!.toLowerCase()));
  for (const t of tags) assert.ok(['!doctype', 'html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'p', 'pre', 'code', 'a', 'ul', 'li', 'table', 'tr', 'td', 'footer', 'strong'].includes(t), t);
  const nf = renderNotFound(evil);
  assert.ok(!nf.includes('<script>'));
  assert.ok(nf.includes('&lt;script&gt;'));
});

test('renderRepoPage: long ref lists are capped', () => {
  const refs: Array<[string, string]> = Array.from({ length: MAX_REFS_SHOWN + 50 }, (_, i) => [`refs/tags/t${i}`, OID]);
  const html = renderRepoPage(base({ refs }));
  assert.equal((html.match(/<tr>/g) ?? []).length, MAX_REFS_SHOWN);
  assert.ok(html.includes('… and 50 more.'));
});

test('renderNotFound: says what is not hosted', () => {
  const html = renderNotFound(`${NPUB}/nothing`);
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /Repository not found/);
  assert.ok(html.includes(`${NPUB}/nothing`));
  assert.match(html, /not hosted on this server/);
});
