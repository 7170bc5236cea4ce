// End to end as the real clients behave (clients.md, git.md §7 and scenario 34): an ngit-shaped
// session (announce, poll info/refs, state before data, push, clone by a second user, a PR tip
// under refs/nostr/<id> then its 1618, fetched by id) and a gitworkshop-shaped browser session
// (NIP-11, v0 advertisement without custom headers, preflight, shallow filtered upload-pack in
// side-band, a refused push that asked only report-status).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TestClient } from '../../helpers/client.js';
import { announcement, commitFile, git, gitOk, keypair, prEvent, startGitRelay, stateEvent, workTree, type GitRelay } from '../helpers.js';

const maintainer = keypair('ngit-user');
const contributor = keypair('ngit-contributor');
const ZERO = '0'.repeat(40);
const pkt = (s: string): string => (Buffer.byteLength(s) + 4).toString(16).padStart(4, '0') + s;

/** Split a pkt-line stream into its packets (flush = null). */
function packets(buf: Buffer): Array<Buffer | null> {
  const out: Array<Buffer | null> = [];
  let i = 0;
  while (i + 4 <= buf.length) {
    const len = parseInt(buf.subarray(i, i + 4).toString('latin1'), 16);
    if (len === 0) {
      out.push(null);
      i += 4;
      continue;
    }
    out.push(buf.subarray(i + 4, i + len));
    i += len;
  }
  return out;
}

describe('clients as they are', () => {
  let relay: GitRelay;
  after(() => relay?.destroy());

  test('ngit: announce → info/refs at once → state → push → second user clones HEAD → PR tip then 1618 → fetched by id', async () => {
    relay = await startGitRelay();
    const client = await TestClient.connect(relay.url);
    const d = 'ngit-project';
    assert.equal((await client.publish(announcement(maintainer, d, relay))).ok, true);
    const url = relay.repoUrl(maintainer, d);
    // ngit polls info/refs right after the OK: it must answer at once
    const adv = await fetch(`${url}/info/refs?service=git-upload-pack`);
    assert.equal(adv.status, 200);
    await adv.text();
    const work = await workTree(url);
    const head = await commitFile(work, 'README.md', '# project\n');
    await gitOk(['checkout', '-q', '-b', 'trunk'], { cwd: work });
    // the state goes to the relay before the git data exists
    const st = stateEvent(maintainer, d, { 'refs/heads/main': head, 'refs/heads/trunk': head }, { head: 'trunk' });
    const ok = await client.publish(st);
    assert.equal(ok.ok, true);
    const recv = await fetch(`${url}/info/refs?service=git-receive-pack`);
    assert.equal(recv.status, 200);
    await recv.text();
    const p = await git(['push', '--force', 'origin', 'main', 'trunk'], { cwd: work });
    assert.equal(p.code, 0, p.stderr);
    // a second user clones and lands on the state's HEAD
    const second = join(await workTree(), 'second');
    await gitOk(['clone', '-q', url, second]);
    assert.equal(await gitOk(['symbolic-ref', 'HEAD'], { cwd: second }), 'refs/heads/trunk');
    assert.equal(await gitOk(['rev-parse', 'HEAD'], { cwd: second }), head);
    // a PR: the tip goes to refs/nostr/<id> first, then the 1618
    await gitOk(['checkout', '-q', '-b', 'pr/feature'], { cwd: second });
    const tip = await commitFile(second, 'feature.txt', 'feature\n');
    const pr = prEvent(contributor, maintainer, d, tip, relay);
    const pp = await git(['push', 'origin', `pr/feature:refs/nostr/${pr.id}`], { cwd: second });
    assert.equal(pp.code, 0, pp.stderr);
    const prOk = await client.publish(pr);
    assert.equal(prOk.ok, true, prOk.message);
    assert.doesNotMatch(prOk.message, /purgatory/);
    // anyone fetches the PR tip by id (libgit2 speaks protocol v0)
    const third = await workTree(url);
    const f = await git(['-c', 'protocol.version=0', 'fetch', '-q', 'origin', tip], { cwd: third });
    assert.equal(f.code, 0, f.stderr);
    assert.equal(await gitOk(['cat-file', '-t', tip], { cwd: third }), 'commit');
    await client.close();
  });

  test('34 gitworkshop: NIP-11, v0 advertisement, preflight, shallow filtered upload-pack in side-band, unbanded ng', async () => {
    const nip11 = (await (await fetch(`${relay.http}/`, { headers: { accept: 'application/nostr+json' } })).json()) as { supported_grasps?: string[] };
    assert.ok(nip11.supported_grasps?.includes('GRASP-01'));
    const url = relay.repoUrl(maintainer, 'ngit-project');
    const adv = await fetch(`${url}/info/refs?service=git-upload-pack`);
    assert.equal(adv.headers.get('access-control-allow-origin'), '*');
    const text = await adv.text();
    for (const cap of ['multi_ack_detailed', 'side-band-64k', 'shallow', 'object-format=sha1', 'filter', 'symref=HEAD:refs/heads/trunk']) assert.ok(text.includes(cap), cap);
    const head = /([0-9a-f]{40}) HEAD/.exec(text)![1]!;
    const pre = await fetch(`${url}/git-upload-pack`, {
      method: 'OPTIONS',
      headers: { origin: 'https://gitworkshop.dev', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /content-type/i);
    const body =
      pkt(`want ${head} ofs-delta no-progress multi_ack_detailed side-band-64k filter agent=gitworkshop\n`) +
      pkt('deepen 1\n') +
      pkt('filter blob:none\n') +
      '0000' +
      pkt('done\n');
    const res = await fetch(`${url}/git-upload-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-upload-pack-request', accept: 'application/x-git-upload-pack-result', origin: 'https://gitworkshop.dev' },
      body,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-git-upload-pack-result');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const pk = packets(Buffer.from(await res.arrayBuffer()));
    assert.ok(pk.some((p) => p !== null && p.toString('latin1').startsWith('shallow ')), 'shallow section');
    assert.ok(pk.some((p) => p !== null && p[0] === 1 && p.subarray(1, 5).toString('latin1') === 'PACK'), 'pack in band 1');

    // a browser push asking only report-status delete-refs, refused: plain report-status with ng
    const work = await workTree(url);
    const c = await commitFile(work, 'web.txt', 'from the browser\n');
    const push = await fetch(`${url}/git-receive-pack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-git-receive-pack-request', accept: 'application/x-git-receive-pack-result' },
      body: pkt(`${ZERO} ${c} refs/heads/web\0report-status delete-refs\n`) + '0000',
    });
    assert.equal(push.status, 200);
    assert.equal(push.headers.get('content-type'), 'application/x-git-receive-pack-result');
    const rp = packets(Buffer.from(await push.arrayBuffer()));
    assert.equal(rp[0]?.toString(), 'unpack ok\n');
    assert.match(rp[1]?.toString() ?? '', /^ng refs\/heads\/web .+\n$/);
    assert.equal(rp[rp.length - 1], null);
  });
});

test('git and Node only: grasp-relay repo key / announce / state, then git push and clone back (the README walk-through)', async () => {
  const { spawn } = await import('node:child_process');
  const bin = new URL('../../../../bin/grasp-relay.js', import.meta.url).pathname;
  const run = (args: string[], env: Record<string, string>, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const clean: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GRASP_RELAY_') && k !== 'NOSTR_SECRET_KEY') clean[k] = v;
      const c = spawn(process.execPath, [bin, ...args], { env: { ...clean, ...env }, ...(cwd !== undefined ? { cwd } : {}) });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      c.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const relay = await startGitRelay();
  try {
    const key = await run(['repo', 'key'], {});
    assert.equal(key.code, 0, key.stderr);
    const sk = key.stdout.trim();
    assert.match(sk, /^[0-9a-f]{64}$/);
    const env = { NOSTR_SECRET_KEY: sk };
    const ann = await run(['repo', 'announce', 'hello', '--relay', relay.url], env);
    assert.equal(ann.code, 0, ann.stderr + ann.stdout);
    assert.match(ann.stdout, /accepted: purgatory/);
    const url = /clone URL: (\S+)/.exec(ann.stdout)![1]!;
    const work = await workTree();
    await commitFile(work, 'README', 'hello\n');
    const st = await run(['repo', 'state', 'hello', '--relay', relay.url], env, work);
    assert.equal(st.code, 0, st.stderr + st.stdout);
    assert.ok(st.stdout.includes(`git push ${url} main`), st.stdout);
    const p = await git(['push', url, 'main'], { cwd: work });
    assert.equal(p.code, 0, p.stderr);
    const copy = join(await workTree(), 'copy');
    await gitOk(['clone', '-q', url, copy]);
    assert.equal(await gitOk(['rev-parse', 'HEAD'], { cwd: copy }), await gitOk(['rev-parse', 'HEAD'], { cwd: work }));
    const noKey = await run(['repo', 'announce', 'x', '--relay', relay.url], {});
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /NOSTR_SECRET_KEY/);
  } finally {
    await relay.destroy();
  }
});
