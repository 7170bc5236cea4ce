// Storage full, for real (issue 11, item 2): the data directory on a small tmpfs (needs root to
// mount; CI runs as root, elsewhere the test is skipped), mostly taken by a filler file. Writes
// then fail: clients get `OK false "error: storage full"`, the log has one clear line naming the
// data directory, the cause and the remedy, /metrics shows grasp_relay_store_full 1, nothing
// rejects unhandled (node:test fails the test if anything does), no raw lmdb-js error reaches
// stderr, reads keep working, and once the filler is removed writes resume by themselves.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay } from '../helpers/relay.js';
import { parseExposition } from '../ops/prom.js';

const alice = keypair('storage-full-alice');

function mountTmpfs(dir: string, size: string): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const mnt = mkdtempSync(join(tmpdir(), 'grasp-full-'));
const mounted = mountTmpfs(mnt, '8m');

test('a full disk: OK false "error: storage full", one clear log line, a gauge, reads work, writes resume', { skip: mounted ? false : 'needs root to mount a tmpfs' }, async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const consoleErrors: unknown[] = [];
  const originalConsoleError = console.error;
  console.error = (...args: unknown[]) => consoleErrors.push(args);
  const dataDir = join(mnt, 'data');
  mkdirSync(dataDir);
  const filler = join(mnt, 'filler');
  writeFileSync(filler, Buffer.alloc(5 * 1024 * 1024, 1));
  const relay = await startTestRelay({ policy: { mode: 'open' }, limits: { eventBurstPerIp: 10_000 } }, { dataDir, log: pino({ level: 'info' }, sink) });
  const c = await TestClient.connect(relay.url);
  try {
    const stored: string[] = [];
    let refusal: { ok: boolean; message: string } | undefined;
    for (let i = 0; i < 1000 && refusal === undefined; i++) {
      const e = sign(alice, { kind: 1, content: `${i} ${'x'.repeat(10_000)}` });
      const r = await c.publish(e);
      if (r.ok) stored.push(e.id);
      else refusal = r;
    }
    assert.ok(refusal, 'the disk never filled');
    assert.equal(refusal.message, 'error: storage full');
    assert.ok(stored.length > 10, `only ${stored.length} events fit`);
    // more writes while full: still refused, still one log line
    for (let i = 0; i < 3; i++) {
      const r = await c.publish(sign(alice, { kind: 1, content: `while full ${i} ${'y'.repeat(10_000)}` }));
      assert.deepEqual(r, { ok: false, message: 'error: storage full' });
    }
    const full = lines.filter((l) => String(l.msg).startsWith('storage full'));
    assert.equal(full.length, 1, JSON.stringify(lines.filter((l) => Number(l.level) >= 50)).slice(0, 2000));
    const msg = String(full[0]!.msg);
    assert.ok(msg.includes(dataDir), msg);
    assert.match(msg, /no space left/);
    assert.match(msg, /store\.mapSizeGiB/);
    assert.match(msg, /[Ff]ree space/);
    assert.equal(lines.filter((l) => l.msg === 'store commit failed').length, 0);
    let m = parseExposition(await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text());
    assert.equal(m.value('grasp_relay_store_full'), 1);

    // reads keep working
    const got = await c.req('r', { ids: stored.slice(0, 5) });
    assert.equal(got.events.length, 5);
    assert.equal(await c.count('n', { kinds: [1] }), stored.length);

    // space comes back: writes resume by themselves
    rmSync(filler);
    const after = await c.publish(sign(alice, { kind: 1, content: 'space is back' }));
    assert.deepEqual(after, { ok: true, message: '' });
    assert.ok(lines.some((l) => l.msg === 'storage writable again: writes resumed'));
    m = parseExposition(await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text());
    assert.equal(m.value('grasp_relay_store_full'), 0);
    assert.deepEqual(consoleErrors, [], 'raw lmdb-js errors on stderr');
  } finally {
    console.error = originalConsoleError;
    await c.close();
    await relay.close();
  }
});

test.after(() => {
  if (mounted) execFileSync('umount', [mnt], { stdio: 'ignore' });
  rmSync(mnt, { recursive: true, force: true });
});
