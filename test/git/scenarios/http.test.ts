// git.md §6 scenarios 2, 12, 22–26: the smart-HTTP surface as git and browsers meet it —
// advertisements v0 and v2, large pushes (probe + chunked) and the push size cap, CORS on every
// response, the web page and hostile paths, partial and shallow clones, gzip, odd identifiers.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { npubEncode } from 'nostr-tools/nip19';
import { after, describe, test } from 'node:test';
import { TestClient } from '../../helpers/client.js';
import { skipWithoutUws } from '../../helpers/relay.js';
import { announcement, commitFile, git, gitOk, keypair, lsRemote, randomBlob, startGitRelay, stateEvent, workTree, type GitRelay } from '../helpers.js';

const owner = keypair('http-owner');
const push = (work: string, ...refspecs: string[]) => git(['push', '--porcelain', 'origin', ...refspecs], { cwd: work });

/** An announced repository whose state and push have landed. */
async function hostedRepo(relay: GitRelay, d: string, files = 1): Promise<{ url: string; work: string; head: string }> {
  const client = await TestClient.connect(relay.url);
  assert.equal((await client.publish(announcement(owner, d, relay))).ok, true);
  const url = relay.repoUrl(owner, d);
  const work = await workTree(url);
  let head = '';
  for (let i = 0; i < files; i++) head = await commitFile(work, `f${i}.txt`, `file ${i}\n`.repeat(50));
  assert.equal((await client.publish(stateEvent(owner, d, { 'refs/heads/main': head }))).ok, true);
  const r = await push(work, 'main');
  assert.equal(r.code, 0, r.stderr);
  await client.close();
  return { url, work, head };
}

/** A GET with a raw path, exactly as written (fetch would normalise it). */
function rawGet(port: number, path: string): Promise<{ status: number; head: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let data = '';
    sock.on('data', (b) => (data += b.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => {
      const m = /^HTTP\/1\.1 (\d+)/.exec(data);
      resolve({ status: m ? Number(m[1]) : 0, head: data.split('\r\n\r\n')[0] ?? '' });
    });
  });
}

const CORS = (h: Headers | Record<string, string | string[] | undefined>, what: string) => {
  const get = (k: string) => (h instanceof Headers ? h.get(k) : (h[k] as string | undefined)) ?? '';
  assert.equal(get('access-control-allow-origin'), '*', what);
  assert.match(get('access-control-allow-methods'), /GET/, what);
  assert.match(get('access-control-allow-methods'), /POST/, what);
  assert.match(get('access-control-allow-headers'), /Content-Type/i, what);
};

for (const transport of ['uws', 'ws'] as const) {
  describe(`★ over ${transport}`, { skip: skipWithoutUws(transport) }, () => {
    let relay: GitRelay;
    let repo: { url: string; work: string; head: string };
    after(() => relay?.destroy());

    test('2: info/refs v0 carries the service line and the capabilities; v2 starts with version 2', async () => {
      relay = await startGitRelay({}, { transport });
      repo = await hostedRepo(relay, 'two', 3);
      const v0 = await fetch(`${repo.url}/info/refs?service=git-upload-pack`);
      assert.equal(v0.status, 200);
      assert.equal(v0.headers.get('content-type'), 'application/x-git-upload-pack-advertisement');
      const t0 = await v0.text();
      assert.match(t0, /^001e# service=git-upload-pack\n0000/);
      for (const cap of ['allow-tip-sha1-in-want', 'allow-reachable-sha1-in-want', 'filter', 'multi_ack_detailed', 'side-band-64k', 'shallow', 'object-format=sha1', 'symref=HEAD:refs/heads/main']) {
        assert.ok(t0.includes(cap), cap);
      }
      const v2 = await fetch(`${repo.url}/info/refs?service=git-upload-pack`, { headers: { 'git-protocol': 'version=2' } });
      const t2 = await v2.text();
      assert.match(t2, /^000eversion 2\n/);
      assert.doesNotMatch(t2, /# service=/);
    });

    test('12: a 5 MB incompressible push (probe + chunked) is accepted', async () => {
      const client = await TestClient.connect(relay.url);
      assert.equal((await client.publish(announcement(owner, 'twelve', relay))).ok, true);
      const work = await workTree(relay.repoUrl(owner, 'twelve'));
      const big = await commitFile(work, 'blob.bin', randomBlob(5 * 1024 * 1024));
      assert.equal((await client.publish(stateEvent(owner, 'twelve', { 'refs/heads/main': big }))).ok, true);
      const r = await push(work, 'main');
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await lsRemote(relay.repoUrl(owner, 'twelve'))).get('refs/heads/main'), big);
      await client.close();
    });

    test('22: OPTIONS answers 204 and every response carries CORS', async () => {
      for (const path of ['/', '/npub1x/x.git/info/refs', new URL(`${repo.url}/git-upload-pack`).pathname]) {
        const r = await fetch(`${relay.http}${path}`, { method: 'OPTIONS', headers: { origin: 'https://gitworkshop.dev', 'access-control-request-method': 'POST' } });
        assert.equal(r.status, 204, path);
        CORS(r.headers, `OPTIONS ${path}`);
      }
      const responses: Array<[string, Response]> = [
        ['GET /', await fetch(`${relay.http}/`)],
        ['404 repo', await fetch(`${relay.http}/${npubEncode(owner.pk)}/nothing-here.git/info/refs?service=git-upload-pack`)],
        ['405', await fetch(`${repo.url}/info/refs?service=git-upload-pack`, { method: 'POST', body: 'x' })],
        ['info/refs', await fetch(`${repo.url}/info/refs?service=git-upload-pack`)],
        ['NIP-11', await fetch(`${relay.http}/`, { headers: { accept: 'application/nostr+json' } })],
      ];
      for (const [what, r] of responses) {
        CORS(r.headers, what);
        await r.arrayBuffer();
      }
      assert.equal(responses[1]![1].status, 404);
      assert.equal(responses[2]![1].status, 405);
    });

    test('24: partial and shallow clones, and fetching a non-tip commit by id over protocol v0', async () => {
      const dest = join(await workTree(), 'partial');
      const r1 = await git(['clone', '-q', '--filter=blob:none', repo.url, dest]);
      assert.equal(r1.code, 0, r1.stderr);
      const shallow = join(await workTree(), 'shallow');
      const r2 = await git(['clone', '-q', '--depth=1', repo.url, shallow]);
      assert.equal(r2.code, 0, r2.stderr);
      const r3 = await git(['fetch', '-q', '--filter=tree:0', 'origin'], { cwd: shallow });
      assert.equal(r3.code, 0, r3.stderr);
      const first = (await gitOk(['rev-list', '--max-parents=0', 'HEAD'], { cwd: repo.work })).trim();
      const fresh = await workTree(repo.url);
      const r4 = await git(['-c', 'protocol.version=0', 'fetch', '-q', 'origin', first], { cwd: fresh });
      assert.equal(r4.code, 0, r4.stderr);
    });
  });
}

describe('limits, pages and hostile paths', () => {
  let relay: GitRelay;
  after(() => relay?.destroy());

  test('12b: a push over git.maxPushBytes is refused and nothing is stored', async () => {
    relay = await startGitRelay({ git: { maxPushBytes: 1024 * 1024 } });
    const client = await TestClient.connect(relay.url);
    assert.equal((await client.publish(announcement(owner, 'twelve-b', relay))).ok, true);
    const url = relay.repoUrl(owner, 'twelve-b');
    const work = await workTree(url);
    const big = await commitFile(work, 'blob.bin', randomBlob(3 * 1024 * 1024));
    assert.equal((await client.publish(stateEvent(owner, 'twelve-b', { 'refs/heads/main': big }))).ok, true);
    const r = await push(work, 'main');
    assert.notEqual(r.code, 0);
    assert.equal((await lsRemote(url)).size, 0);
    await client.close();
  });

  test('23: the repository page, the 404 page, and hostile paths that never touch the disk', async () => {
    const { url } = await hostedRepo(relay, 'twentythree');
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.ok(html.includes(url), 'the clone URL is on the page');
    const missing = await fetch(`${relay.http}/${npubEncode(owner.pk)}/unknown.git`);
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /text\/html/);
    await missing.text();
    const bad = await git(['clone', `${relay.http}/invalid/path`, join(await workTree(), 'x')]);
    assert.notEqual(bad.code, 0);
    // a canary repository just outside the git root must survive every traversal attempt
    const canary = join(relay.dataDir, 'canary.git');
    mkdirSync(canary, { recursive: true });
    writeFileSync(join(canary, 'HEAD'), 'ref: refs/heads/main\n');
    const npub = npubEncode(owner.pk);
    for (const p of [
      `/${npub}/..%2F..%2Fcanary.git/info/refs?service=git-upload-pack`,
      `/${npub}/..%252F..%252Fcanary.git/info/refs?service=git-upload-pack`,
      `/${npub}/%00.git/info/refs?service=git-upload-pack`,
      `/${npub}/../../canary.git/info/refs?service=git-upload-pack`,
      `/${npub}/..`,
      `/${npub}/%2e%2e/info/refs?service=git-upload-pack`,
      `/${npub.toUpperCase()}/twentythree.git/info/refs?service=git-upload-pack`,
      `/${npub}/twentythree.git/objects/info/packs`,
      `/${npub}/twentythree.git/HEAD`,
      `/${npub}/twentythree.git/info/refs`,
    ]) {
      const r = await rawGet(relay.port, p);
      assert.equal(r.status, 404, p);
    }
    assert.ok(existsSync(join(canary, 'HEAD')));
  });

  test('25: 300 tags clone and fetch (git gzips the request); a corrupt gzip body is a 400', async () => {
    const client = await TestClient.connect(relay.url);
    assert.equal((await client.publish(announcement(owner, 'tags', relay))).ok, true);
    const url = relay.repoUrl(owner, 'tags');
    const work = await workTree(url);
    const refs: Record<string, string> = {};
    let last = '';
    for (let i = 0; i < 300; i++) {
      last = await commitFile(work, 'n.txt', `${i}\n`);
      await gitOk(['tag', `v${i}`], { cwd: work });
      refs[`refs/tags/v${i}`] = last;
    }
    refs['refs/heads/main'] = last;
    assert.equal((await client.publish(stateEvent(owner, 'tags', refs))).ok, true);
    const r = await push(work, 'main', '--tags');
    assert.equal(r.code, 0, r.stderr);
    const dest = join(await workTree(), 'tags-clone');
    assert.equal((await git(['clone', '-q', url, dest])).code, 0);
    // a fetch with many haves makes git gzip its request
    const partial = await workTree(url);
    await gitOk(['fetch', '-q', 'origin', 'refs/tags/v10:refs/tags/v10'], { cwd: partial });
    const f = await git(['fetch', '-q', '--tags', 'origin'], { cwd: partial });
    assert.equal(f.code, 0, f.stderr);
    const corrupt = await fetch(`${url}/git-upload-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' },
      body: Buffer.concat([gzipSync(Buffer.from('0000')).subarray(0, 8), Buffer.from('garbage-not-gzip')]),
    });
    assert.equal(corrupt.status, 400);
    await client.close();
  });

  test('26: an identifier with a space clones by its percent-encoded URL and lives in my%20repo.git', async () => {
    const { url, head } = await hostedRepo(relay, 'my repo');
    assert.ok(url.endsWith('/my%20repo.git'));
    const dest = join(await workTree(), 'spaced');
    assert.equal((await git(['clone', '-q', url, dest])).code, 0);
    assert.equal(await gitOk(['rev-parse', 'HEAD'], { cwd: dest }), head);
    assert.ok(existsSync(join(relay.git!.root, npubEncode(owner.pk), 'my%20repo.git')));
  });

  test('22b: a refused WebSocket upgrade (429) carries CORS too', async () => {
    const limited = await startGitRelay({ limits: { maxConnectionsPerIp: 1 } });
    try {
      const first = await TestClient.connect(limited.url);
      const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
        const req = request(`${limited.http}/`, {
          headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
        });
        req.on('response', (res) => {
          assert.equal(res.statusCode, 429);
          res.resume();
          resolve(res.headers);
        });
        req.on('upgrade', () => reject(new Error('upgraded')));
        req.on('error', reject);
        req.end();
      });
      CORS(headers, '429');
      await first.close();
    } finally {
      await limited.destroy();
    }
  });
});
