// git.md §6 scenarios 32–33: bounded git processes (queue, 503 + Retry-After), pushes to one
// repository serialised by its lock (the loser is told to fetch), and a client that goes away
// mid-clone leaves no git process behind.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { TestClient } from '../../helpers/client.js';
import { waitFor } from '../../helpers/wait.js';
import { announcement, commitFile, git, gitOk, keypair, randomBlob, startGitRelay, stateEvent, workTree, type GitRelay } from '../helpers.js';

const owner = keypair('limits-owner');

async function hostedRepo(relay: GitRelay, d: string, blobBytes = 0): Promise<{ url: string; work: string }> {
  const client = await TestClient.connect(relay.url);
  assert.equal((await client.publish(announcement(owner, d, relay))).ok, true);
  const url = relay.repoUrl(owner, d);
  const work = await workTree(url);
  const head = await commitFile(work, 'a.bin', blobBytes > 0 ? randomBlob(blobBytes) : 'small\n');
  assert.equal((await client.publish(stateEvent(owner, d, { 'refs/heads/main': head }))).ok, true);
  const r = await git(['push', 'origin', 'main'], { cwd: work });
  assert.equal(r.code, 0, r.stderr);
  await client.close();
  return { url, work };
}

test('32: 20 parallel clones through 4 processes all succeed; with no queue the excess gets 503 + Retry-After', async () => {
  const relay = await startGitRelay({ git: { maxProcesses: 4, maxRequestsPerIp: 64 } });
  try {
    const { url } = await hostedRepo(relay, 'busy');
    const base = await workTree();
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => git(['clone', '-q', url, join(base, `c${i}`)])));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
  } finally {
    await relay.destroy();
  }
  const tight = await startGitRelay({ git: { maxProcesses: 1, maxQueued: 0, maxRequestsPerIp: 64 } });
  try {
    const { url } = await hostedRepo(tight, 'tight', 4 * 1024 * 1024);
    const statuses = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(`${url}/info/refs?service=git-upload-pack`).then(async (r) => ({ status: r.status, retry: r.headers.get('retry-after'), body: await r.text() })),
      ),
    );
    const refused = statuses.filter((s) => s.status === 503);
    assert.ok(refused.length > 0, `some requests refused: ${statuses.map((s) => s.status).join(',')}`);
    for (const s of refused) assert.match(s.retry ?? '', /^\d+$/);
  } finally {
    await tight.destroy();
  }
});

test('32: two concurrent pushes to one repository are serialised; the loser is told its view is stale', async () => {
  const relay = await startGitRelay();
  try {
    const { url, work } = await hostedRepo(relay, 'race');
    const other = await workTree(url);
    await gitOk(['fetch', '-q', 'origin'], { cwd: other });
    await gitOk(['reset', '-q', '--hard', 'origin/main'], { cwd: other });
    const a = await commitFile(work, 'x.txt', 'from A\n');
    const b = await commitFile(other, 'y.txt', 'from B\n');
    const client = await TestClient.connect(relay.url);
    // both states are valid signed states; only one can be applied on top of the current refs
    assert.equal((await client.publish(stateEvent(owner, 'race', { 'refs/heads/main': a }))).ok, true);
    assert.equal((await client.publish(stateEvent(owner, 'race', { 'refs/heads/main': b }))).ok, true);
    const [ra, rb] = await Promise.all([git(['push', '--porcelain', 'origin', 'main'], { cwd: work }), git(['push', '--porcelain', 'origin', 'main'], { cwd: other })]);
    const ok = [ra, rb].filter((r) => r.code === 0);
    assert.equal(ok.length, 1, `${ra.stderr}\n${rb.stderr}`);
    const loser = ra.code === 0 ? rb : ra;
    assert.match(loser.stderr + loser.stdout, /stale|fetch first|rejected/);
    await client.close();
  } finally {
    await relay.destroy();
  }
});

test('33: a client aborting mid-clone leaves no git process and frees the slot', async () => {
  const relay = await startGitRelay({ git: { maxProcesses: 1 } });
  try {
    const { url } = await hostedRepo(relay, 'abort', 8 * 1024 * 1024);
    const adv = await (await fetch(`${url}/info/refs?service=git-upload-pack`)).text();
    const head = /([0-9a-f]{40}) refs\/heads\/main/.exec(adv)![1]!;
    const pkt = (s: string) => (Buffer.byteLength(s) + 4).toString(16).padStart(4, '0') + s;
    const body = pkt(`want ${head} side-band-64k ofs-delta\n`) + '0000' + pkt('done\n');
    await new Promise<void>((resolve, reject) => {
      const req = request(`${url}/git-upload-pack`, { method: 'POST', headers: { 'content-type': 'application/x-git-upload-pack-request' } });
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy(); // go away after the first bytes of the pack
          resolve();
        });
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      req.setTimeout(20_000, () => reject(new Error('no response')));
      req.end(body);
    });
    await waitFor(() => relay.git!.backend.stats().running === 0, 15_000, 'git process gone');
    const again = await fetch(`${url}/info/refs?service=git-upload-pack`);
    assert.equal(again.status, 200);
    await again.text();
  } finally {
    await relay.destroy();
  }
});
