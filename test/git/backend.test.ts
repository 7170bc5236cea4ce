// GitBackend with the real git CLI over real HTTP: advertisement (v0/v2, HEAD), clones and
// fetches (filters, shallow, gzip), pushes accepted and refused (report-status in side-band), the
// 0000 probe with a chunked 5 MB push, size limits, content checks, admission (503/429), timeouts,
// client aborts (no git process left) and the counters.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FLUSH, pkt } from '../../src/git/pktline.js';
import { ZERO_OID } from '../../src/git/types.js';
import type { CommandSection } from '../../src/git/pktline.js';
import type { StreamRequest, StreamResponse } from '../../src/relay/transport.js';
import { skipWithoutUws } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';
import { cli, ok, processesUsing, startFixture, workRepo, type Fixture } from './backend-fixture.js';

type Transports = 'ws' | 'uws';
/** the scenarios that depend on how the transport streams run on both */
// uws only where a uWebSockets.js build loads (not on Node 24 with glibc < 2.38)
const TRANSPORTS: Transports[] = (['ws', 'uws'] as const).filter((t) => !skipWithoutUws(t));

async function withFixture(git: Parameters<typeof startFixture>[0] & { transport?: Transports }, fn: (fx: Fixture) => Promise<void>): Promise<void> {
  const { transport, ...rest } = git;
  const fx = await startFixture(rest, transport ?? 'ws');
  try {
    await fn(fx);
  } finally {
    await fx.close();
  }
}

/** An HTTP request left open: the body is written but not ended, so git (if spawned) waits on stdin. */
function openRequest(fx: Fixture, path: string, headers: Record<string, string>, first: Buffer | string) {
  let status: number | undefined;
  const chunks: Buffer[] = [];
  let ended = false;
  const req = request({ host: '127.0.0.1', port: fx.port, path, method: 'POST', headers });
  req.on('response', (res) => {
    status = res.statusCode;
    res.on('data', (b: Buffer) => chunks.push(b));
    res.on('end', () => (ended = true));
    res.on('error', () => {});
  });
  req.on('error', () => {});
  req.write(first);
  return { req, status: () => status, body: () => Buffer.concat(chunks), ended: () => ended };
}

const UP_HEADERS = { 'content-type': 'application/x-git-upload-pack-request' };

for (const t of TRANSPORTS)
test(`[${t}] info/refs: v0 with the # service= line and the allow-* and filter capabilities; v2 without; HEAD; 404/403`, async () => {
  await withFixture({ transport: t }, async (fx) => {
    const w = await workRepo(fx);
    await ok(['push', '-q', fx.url, 'main'], w.path);
    const v0 = await fetch(`${fx.url}/info/refs?service=git-upload-pack`);
    assert.equal(v0.status, 200);
    assert.equal(v0.headers.get('content-type'), 'application/x-git-upload-pack-advertisement');
    assert.match(v0.headers.get('cache-control') ?? '', /no-cache/);
    assert.equal(v0.headers.get('pragma'), 'no-cache');
    const t0 = await v0.text();
    assert.ok(t0.startsWith('001e# service=git-upload-pack\n0000'), t0.slice(0, 40));
    for (const cap of ['allow-tip-sha1-in-want', 'allow-reachable-sha1-in-want', 'filter', 'multi_ack_detailed', 'side-band-64k']) assert.ok(t0.includes(cap), cap);
    assert.ok(t0.includes(`${w.head} refs/heads/main`));
    const v2 = await fetch(`${fx.url}/info/refs?service=git-upload-pack`, { headers: { 'git-protocol': 'version=2' } });
    const t2 = await v2.text();
    assert.ok(t2.startsWith('000eversion 2\n'), t2.slice(0, 40));
    assert.ok(t2.includes('fetch=') && t2.includes('filter'));
    // a Git-Protocol header outside the allowed characters is dropped: v0
    const bad = await (await fetch(`${fx.url}/info/refs?service=git-upload-pack`, { headers: { 'git-protocol': 'version=2 x' } })).text();
    assert.ok(bad.startsWith('001e# service='));
    const rp = await fetch(`${fx.url}/info/refs?service=git-receive-pack`);
    assert.equal(rp.headers.get('content-type'), 'application/x-git-receive-pack-advertisement');
    const trp = await rp.text();
    assert.ok(trp.startsWith('001f# service=git-receive-pack\n0000'));
    assert.ok(!trp.includes('push-options'), 'push options are not advertised');
    const head = await fetch(`${fx.url}/info/refs?service=git-upload-pack`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'application/x-git-upload-pack-advertisement');
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    assert.equal((await fetch(`${fx.url}/info/refs`)).status, 404);
    assert.equal((await fetch(`${fx.url}/info/refs?service=git-upload-archive`)).status, 403);
  });
});

for (const t of TRANSPORTS)
test(`[${t}] clone v2 and v0, --filter=blob:none, --depth=1, fetch of a non-tip commit by id`, async () => {
  await withFixture({ transport: t }, async (fx) => {
    const w = await workRepo(fx);
    writeFileSync(join(w.path, 'a.txt'), 'hello\n');
    await ok(['add', 'a.txt'], w.path);
    await ok(['commit', '-q', '-m', 'second'], w.path);
    const head = await ok(['rev-parse', 'HEAD'], w.path);
    await ok(['push', '-q', fx.url, 'main'], w.path);
    const clones: Array<[string, string[]]> = [
      ['c-v2', ['clone', '-q', fx.url]],
      ['c-v0', ['-c', 'protocol.version=0', 'clone', '-q', fx.url]],
      ['c-blobless', ['clone', '-q', '--filter=blob:none', fx.url]],
      ['c-shallow', ['clone', '-q', '--depth=1', fx.url]],
    ];
    for (const [name, args] of clones) {
      await ok([...args, join(fx.dir, name)], fx.dir);
      assert.equal(await ok(['rev-parse', 'HEAD'], join(fx.dir, name)), head, name);
    }
    assert.equal(await ok(['rev-list', '--count', 'HEAD'], join(fx.dir, 'c-shallow')), '1');
    assert.equal(await ok(['config', 'remote.origin.promisor'], join(fx.dir, 'c-blobless')), 'true');
    // v0 fetch of the parent commit (not a ref tip) by id: allow-reachable-sha1-in-want
    await ok(['-c', 'protocol.version=0', 'fetch', '-q', '--depth=1', 'origin', w.head], join(fx.dir, 'c-shallow'));
    assert.equal(await ok(['cat-file', '-t', w.head], join(fx.dir, 'c-shallow')), 'commit');
  });
});

for (const t of TRANSPORTS)
test(`[${t}] push accepted: authorize sees the commands, afterPush finishes before git push returns, under the lock`, async () => {
  await withFixture({ transport: t }, async (fx) => {
    const w = await workRepo(fx);
    const seen: CommandSection[] = [];
    const events: string[] = [];
    fx.hooks = {
      withLock: async (fn) => {
        events.push('lock');
        try {
          return await fn();
        } finally {
          events.push('unlock');
        }
      },
      authorize: (s) => {
        seen.push(s);
        events.push('authorize');
        return Promise.resolve({ ok: true });
      },
      afterPush: async () => {
        // refs are as git left them when this runs
        events.push(`after:${await ok(['rev-parse', 'refs/heads/main'], fx.bare)}`);
        await new Promise((r) => setTimeout(r, 300));
        events.push('after-done');
      },
    };
    const r = await cli(['push', fx.url, 'main'], w.path);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(events, ['lock', 'authorize', `after:${w.head}`, 'after-done', 'unlock']);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]!.commands, [{ old: ZERO_OID, new: w.head, ref: 'refs/heads/main' }]);
    assert.ok(seen[0]!.capabilities.includes('report-status') || seen[0]!.capabilities.includes('report-status-v2'));
    assert.equal(await ok(['rev-parse', 'main'], fx.bare), w.head);
    const st = fx.backend.stats();
    assert.equal(st.requests['receive-pack:ok'], 1);
    assert.ok(st.bytesIn > 0 && st.bytesOut > 0);
    assert.equal(st.running, 0);
  });
});

for (const t of TRANSPORTS)
test(`[${t}] push refused: git shows [remote rejected] with the reason and the summary line; nothing stored; no report-status → 403`, async () => {
  await withFixture({ transport: t }, async (fx) => {
    const w = await workRepo(fx);
    await ok(['tag', 'v1'], w.path);
    let afterCalls = 0;
    fx.hooks = {
      withLock: (fn) => fn(),
      authorize: () => Promise.resolve({ ok: false, reasons: new Map([['refs/heads/main', 'no state from a maintainer is waiting: publish the 30618 first']]), summary: 'push refused: no matching state' }),
      afterPush: () => Promise.resolve(void afterCalls++),
    };
    const r = await cli(['push', fx.url, 'main', 'v1'], w.path);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /! \[remote rejected\] main -> main \(no state from a maintainer is waiting: publish the 30618 first\)/);
    assert.match(r.stderr, /! \[remote rejected\] v1 -> v1 \(not applied: another ref in this push was refused\)/);
    assert.match(r.stderr, /remote: grasp-relay: push refused: no matching state/);
    assert.equal(afterCalls, 0);
    assert.equal(await ok(['for-each-ref'], fx.bare), '');
    assert.equal((await ok(['count-objects'], fx.bare)).split(' ')[0], '0');
    // plain report-status (no side-band), as gitworkshop asks: raw POST
    const body = Buffer.concat([pkt(`${ZERO_OID} ${w.head} refs/heads/main\0report-status delete-refs\n`), FLUSH, Buffer.from('PACK-not-really')]);
    const res = await fetch(`${fx.url}/git-receive-pack`, { method: 'POST', headers: { 'content-type': 'application/x-git-receive-pack-request' }, body });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-git-receive-pack-result');
    const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
    assert.equal(text, '000eunpack ok\n' + pkt('ng refs/heads/main no state from a maintainer is waiting: publish the 30618 first\n').toString() + '0000');
    // no report-status capability: 403 text
    const body2 = Buffer.concat([pkt(`${ZERO_OID} ${w.head} refs/heads/main\0delete-refs\n`), FLUSH]);
    const res2 = await fetch(`${fx.url}/git-receive-pack`, { method: 'POST', headers: { 'content-type': 'application/x-git-receive-pack-request' }, body: body2 });
    assert.equal(res2.status, 403);
    assert.match(await res2.text(), /no matching state/);
    // read-only repos refuse every command without asking authorize
    let asked = 0;
    fx.hooks = { withLock: (fn) => fn(), authorize: () => Promise.resolve(void asked++).then(() => ({ ok: true as const })), afterPush: () => Promise.resolve(), readOnly: 'repository is archived: read-only' };
    const r3 = await cli(['push', fx.url, 'main'], w.path);
    assert.notEqual(r3.code, 0);
    assert.match(r3.stderr, /\[remote rejected\] main -> main \(repository is archived: read-only\)/);
    assert.equal(asked, 0);
    const st = fx.backend.stats();
    // refusals are counted, never keyed by their (free) text: /metrics labels stay bounded
    assert.deepEqual(st.refusedPushes, { push: 4 });
    assert.equal(st.requests['receive-pack:refused'], 4);
  });
});

for (const t of TRANSPORTS)
test(`[${t}] 5 MB random blob: the 0000 probe goes to git without hooks, the chunked push is accepted; over git.maxPushBytes it is refused and nothing stored`, async () => {
  await withFixture({ transport: t }, async (fx) => {
    const w = await workRepo(fx);
    writeFileSync(join(w.path, 'big.bin'), randomBytes(5 * 1024 * 1024));
    await ok(['add', 'big.bin'], w.path);
    await ok(['commit', '-q', '-m', 'big'], w.path);
    const head = await ok(['rev-parse', 'HEAD'], w.path);
    let authorized = 0;
    let after = 0;
    fx.hooks = { withLock: (fn) => fn(), authorize: () => Promise.resolve(void authorized++).then(() => ({ ok: true as const })), afterPush: () => Promise.resolve(void after++) };
    const r = await cli(['push', fx.url, 'main'], w.path);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await ok(['rev-parse', 'main'], fx.bare), head);
    assert.equal(authorized, 1, 'the probe is not authorised');
    assert.equal(after, 1);
    const st = fx.backend.stats();
    assert.equal(st.requests['receive-pack:ok'], 2, 'probe + push');
    assert.ok(st.bytesIn > 5 * 1024 * 1024);
  });
  await withFixture({ transport: t, maxPushBytes: 1024 * 1024 }, async (fx) => {
    const w = await workRepo(fx);
    writeFileSync(join(w.path, 'big.bin'), randomBytes(5 * 1024 * 1024));
    await ok(['add', 'big.bin'], w.path);
    await ok(['commit', '-q', '-m', 'big'], w.path);
    let after = 0;
    fx.hooks = { withLock: (fn) => fn(), authorize: () => Promise.resolve({ ok: true }), afterPush: () => Promise.resolve(void after++) };
    const r = await cli(['push', fx.url, 'main'], w.path);
    assert.notEqual(r.code, 0);
    assert.equal(after, 0);
    assert.equal(await ok(['for-each-ref'], fx.bare), '');
    const objects = await ok(['count-objects', '-v'], fx.bare);
    assert.match(objects, /^count: 0$/m);
    assert.match(objects, /^in-pack: 0$/m);
    await waitFor(() => fx.backend.stats().running === 0, 10_000, 'no git process running');
  });
});

for (const t of TRANSPORTS)
test(`[${t}] 300 tags: git gzips the request and the clone gets them all; corrupt gzip → 400; wrong content type, unknown encoding → 415; oversized request → 413`, async () => {
  await withFixture({ transport: t, maxRequestBytes: 64 * 1024 }, async (fx) => {
    const w = await workRepo(fx);
    // 300 annotated tags (300 distinct wants) written by one fast-import
    let stream = '';
    for (let i = 0; i < 300; i++) stream += `tag t${i}\nfrom ${w.head}\ntagger T <t@x> 1704067200 +0000\ndata 2\nt\n\n`;
    await ok(['fast-import', '--quiet'], w.path, stream);
    await ok(['push', '-q', fx.url, 'main', '--tags'], w.path);
    fx.encodings.length = 0;
    await ok(['clone', '-q', fx.url, join(fx.dir, 'c')], fx.dir);
    assert.equal((await ok(['tag'], join(fx.dir, 'c'))).split('\n').length, 300);
    assert.ok(fx.encodings.includes('gzip'), `encodings seen: ${fx.encodings.join(',')}`);
    const post = (headers: Record<string, string>, body: Buffer | string) => fetch(`${fx.url}/git-upload-pack`, { method: 'POST', headers: { ...UP_HEADERS, ...headers }, body });
    const corrupt = await post({ 'content-encoding': 'gzip' }, 'this is not gzip at all');
    assert.equal(corrupt.status, 400);
    assert.match(await corrupt.text(), /corrupt gzip/);
    const truncated = gzipSync(Buffer.concat([pkt('command=ls-refs\n'), FLUSH])).subarray(0, 12);
    assert.equal((await post({ 'content-encoding': 'gzip' }, truncated)).status, 400);
    assert.equal((await post({ 'content-type': 'text/plain' }, '0000')).status, 415);
    assert.equal((await post({ 'content-encoding': 'br' }, '0000')).status, 415);
    assert.equal((await fetch(`${fx.url}/git-receive-pack`, { method: 'POST', headers: UP_HEADERS, body: '0000' })).status, 415);
    // a gzip bomb stops at git.maxRequestBytes of decoded bytes
    // (valid, repeated want lines: git keeps reading them, so only the cap can end the request)
    const bomb = gzipSync(Buffer.concat(Array.from({ length: 80_000 }, () => pkt(`want ${w.head}\n`))));
    const big = await post({ 'content-encoding': 'gzip' }, bomb);
    assert.equal(big.status, 413);
    // a v2 ls-refs through gzip works
    const lsrefs = await post({ 'content-encoding': 'gzip', 'git-protocol': 'version=2' }, gzipSync(Buffer.concat([pkt('command=ls-refs\n'), FLUSH])));
    assert.equal(lsrefs.status, 200);
    assert.equal(lsrefs.headers.get('content-type'), 'application/x-git-upload-pack-result');
    assert.ok((await lsrefs.text()).includes(`${w.head} refs/heads/main`));
    const st = fx.backend.stats();
    assert.equal(st.requests['upload-pack:bad_request'], 2);
    assert.equal(st.requests['upload-pack:unsupported'], 2);
    assert.equal(st.requests['upload-pack:too_large'], 1);
  });
});

test('malformed and oversized command sections → 400 / 413, git not run', async () => {
  await withFixture({ maxRefUpdates: 2 }, async (fx) => {
    const post = (body: Buffer) => fetch(`${fx.url}/git-receive-pack`, { method: 'POST', headers: { 'content-type': 'application/x-git-receive-pack-request' }, body });
    const A = 'a'.repeat(40);
    assert.equal((await post(Buffer.from('00zz'))).status, 400);
    assert.equal((await post(Buffer.concat([pkt(`${ZERO_OID} ${A} refs/heads/a..b\0report-status\n`), FLUSH]))).status, 400);
    assert.equal((await post(pkt(`${ZERO_OID} ${A} refs/heads/a\0report-status\n`))).status, 400, 'body ends before the flush');
    const three = Buffer.concat([pkt(`${ZERO_OID} ${A} refs/heads/a\0report-status\n`), pkt(`${ZERO_OID} ${A} refs/heads/b\n`), pkt(`${ZERO_OID} ${A} refs/heads/c\n`), FLUSH]);
    assert.equal((await post(three)).status, 413);
  });
});

test('git failing before any output → 500 one-line text', async () => {
  await withFixture({}, async (fx) => {
    mkdirSync(fx.otherDir); // exists, not a repository
    const res = await fetch(`http://127.0.0.1:${fx.port}/other.git/git-upload-pack`, { method: 'POST', headers: UP_HEADERS, body: '0000' });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await res.text(), 'git upload-pack failed\n');
    assert.equal(fx.backend.stats().requests['upload-pack:git_error'], 1);
  });
});

test('admission: maxProcesses busy + maxQueued 0 → 503 + Retry-After; a queued request runs when the slot frees; per-IP 429', async () => {
  await withFixture({ maxProcesses: 1, maxQueued: 0 }, async (fx) => {
    const hold = openRequest(fx, '/repo.git/git-upload-pack', UP_HEADERS, '0');
    await waitFor(() => fx.backend.stats().running === 1, 10_000, 'the held request to take the slot');
    const busy = await fetch(`${fx.url}/info/refs?service=git-upload-pack`);
    assert.equal(busy.status, 503);
    assert.ok(Number(busy.headers.get('retry-after')) > 0);
    hold.req.destroy();
    await waitFor(() => fx.backend.stats().running === 0, 10_000, 'the slot to be released');
    assert.equal((await fetch(`${fx.url}/info/refs?service=git-upload-pack`)).status, 200);
    assert.equal(fx.backend.stats().requests['info-refs:busy'], 1);
  });
  await withFixture({ maxProcesses: 1, maxQueued: 1, queueWaitSeconds: 30 }, async (fx) => {
    const hold = openRequest(fx, '/repo.git/git-upload-pack', UP_HEADERS, '0');
    await waitFor(() => fx.backend.stats().running === 1, 10_000, 'the held request to take the slot');
    const queued = fetch(`${fx.url}/info/refs?service=git-upload-pack`);
    await waitFor(() => fx.backend.stats().queued === 1, 10_000, 'a queued request');
    // the queue is full: the next is refused at once
    assert.equal((await fetch(`${fx.url}/info/refs?service=git-upload-pack`)).status, 503);
    hold.req.end('000'); // a malformed end: git exits, the slot passes to the queued request
    assert.equal((await queued).status, 200);
    await waitFor(() => fx.backend.stats().running === 0 && fx.backend.stats().queued === 0, 10_000, 'idle');
  });
  await withFixture({ maxRequestsPerIp: 1 }, async (fx) => {
    const hold = openRequest(fx, '/repo.git/git-upload-pack', { ...UP_HEADERS, 'x-forwarded-for': '10.0.0.1' }, '0');
    await waitFor(() => fx.backend.stats().running === 1, 10_000, 'the held request');
    const limited = await fetch(`${fx.url}/info/refs?service=git-upload-pack`, { headers: { 'x-forwarded-for': '10.0.0.1' } });
    assert.equal(limited.status, 429);
    const other = await fetch(`${fx.url}/info/refs?service=git-upload-pack`, { headers: { 'x-forwarded-for': '10.0.0.2' } });
    assert.equal(other.status, 200);
    hold.req.destroy();
    await waitFor(() => fx.backend.stats().running === 0, 10_000, 'released');
    assert.equal((await fetch(`${fx.url}/info/refs?service=git-upload-pack`, { headers: { 'x-forwarded-for': '10.0.0.1' } })).status, 200);
    assert.equal(fx.backend.stats().requests['info-refs:rate_limited'], 1);
  });
});

test('idle timeout: no byte for git.idleTimeoutSeconds → process killed, 504', async () => {
  await withFixture({ idleTimeoutSeconds: 1 }, async (fx) => {
    const hold = openRequest(fx, '/repo.git/git-upload-pack', UP_HEADERS, '0');
    await waitFor(() => hold.ended(), 10_000, 'the timeout answer');
    assert.equal(hold.status(), 504);
    assert.equal(fx.backend.stats().requests['upload-pack:timeout'], 1);
    await waitFor(() => processesUsing(fx.bare).length === 0, 10_000, 'no git process');
    hold.req.destroy();
  });
});

test('client abort mid-clone: the git process group is killed, the slot released', async () => {
  await withFixture({}, async (fx) => {
    const w = await workRepo(fx);
    writeFileSync(join(w.path, 'big.bin'), randomBytes(8 * 1024 * 1024));
    await ok(['add', 'big.bin'], w.path);
    await ok(['commit', '-q', '-m', 'big'], w.path);
    const head = await ok(['rev-parse', 'HEAD'], w.path);
    await ok(['push', '-q', fx.url, 'main'], w.path);
    // a v0 fetch that reads one chunk of the pack, then stops reading and goes away
    const body = Buffer.concat([pkt(`want ${head} side-band-64k ofs-delta\n`), FLUSH, pkt('done\n')]);
    const req = request({ host: '127.0.0.1', port: fx.port, path: '/repo.git/git-upload-pack', method: 'POST', headers: UP_HEADERS });
    const gotFirst = new Promise<void>((resolve) =>
      req.on('response', (res) => {
        res.once('data', () => {
          res.pause();
          resolve();
        });
      }),
    );
    req.on('error', () => {});
    req.end(body);
    await gotFirst;
    const pids = processesUsing(fx.bare);
    assert.ok(pids.length >= 1, 'git is running while the client is stalled');
    req.destroy();
    await waitFor(() => processesUsing(fx.bare).length === 0, 15_000, 'every git process of the request gone');
    await waitFor(() => fx.backend.stats().running === 0, 5_000, 'slot released');
    assert.equal(fx.backend.stats().requests['upload-pack:aborted'], 1);
  });
});

test('backpressure: git output is not read while write() returns false, and resumes on drain', async () => {
  await withFixture({}, async (fx) => {
    const w = await workRepo(fx);
    writeFileSync(join(w.path, 'big.bin'), randomBytes(4 * 1024 * 1024));
    await ok(['add', 'big.bin'], w.path);
    await ok(['commit', '-q', '-m', 'big'], w.path);
    const head = await ok(['rev-parse', 'HEAD'], w.path);
    await ok(['push', '-q', fx.url, 'main'], w.path);
    // drive the backend directly with a response that is always "full" until drained
    let writes = 0;
    let bytes = 0;
    let full = true;
    const drains: Array<() => void> = [];
    const aborts: Array<() => void> = [];
    let status = 0;
    let ended = false;
    const res: StreamResponse = {
      writeHead: (s) => void (status = s),
      write: (c) => {
        writes++;
        bytes += c.length;
        return !full;
      },
      onDrain: (cb) => void drains.push(cb),
      end: () => void (ended = true),
      destroy: () => {},
      onAborted: (cb) => void aborts.push(cb),
      aborted: false,
    };
    const body = Readable.from([Buffer.concat([pkt(`want ${head} side-band-64k ofs-delta\n`), FLUSH, pkt('done\n')])]);
    const req: StreamRequest = { method: 'POST', path: '/repo.git/git-upload-pack', query: '', ip: '127.0.0.9', header: (n) => (n === 'content-type' ? UP_HEADERS['content-type'] : ''), body };
    fx.backend.uploadPack(req, res, fx.bare);
    await waitFor(() => writes === 1, 15_000, 'the first write');
    assert.equal(status, 200);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(writes, 1, 'nothing more is read from git while the response is full');
    full = false;
    for (const d of drains) d();
    await waitFor(() => ended, 30_000, 'the whole pack');
    assert.ok(bytes > 4 * 1024 * 1024, `pack bytes ${bytes}`);
    assert.equal(fx.backend.stats().requests['upload-pack:ok'], 1);
  });
});

test('client abort mid-push: receive-pack killed, the lock and the slot released, afterPush not run', async () => {
  await withFixture({}, async (fx) => {
    const w = await workRepo(fx);
    const events: string[] = [];
    fx.hooks = {
      withLock: async (fn) => {
        events.push('lock');
        try {
          return await fn();
        } finally {
          events.push('unlock');
        }
      },
      authorize: () => Promise.resolve({ ok: true }),
      afterPush: () => Promise.resolve(void events.push('after')),
    };
    // the command section and the start of a pack, then nothing: receive-pack waits for the rest
    const first = Buffer.concat([pkt(`${ZERO_OID} ${w.head} refs/heads/main\0report-status side-band-64k\n`), FLUSH, Buffer.from('PACK')]);
    const hold = openRequest(fx, '/repo.git/git-receive-pack', { 'content-type': 'application/x-git-receive-pack-request' }, first);
    await waitFor(() => processesUsing(fx.bare).length > 0 && fx.backend.stats().running === 1, 10_000, 'receive-pack running');
    assert.deepEqual(events, ['lock']);
    hold.req.destroy();
    await waitFor(() => events.includes('unlock'), 15_000, 'the lock released');
    await waitFor(() => processesUsing(fx.bare).length === 0 && fx.backend.stats().running === 0, 15_000, 'no git process, slot free');
    assert.deepEqual(events, ['lock', 'unlock']);
    assert.equal(await ok(['for-each-ref'], fx.bare), '');
    assert.equal(fx.backend.stats().requests['receive-pack:aborted'], 1);
  });
});
