// Ready before serving (issue 11, item 3): the port is bound before the store and the verifier
// are open, so until the relay is ready every HTTP route answers 503 with Retry-After (and
// WebSocket upgrades are refused) — never a NIP-11 `{}` or a failing /metrics.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { makeConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { startRelay, type RelayHandle } from '../../src/main.js';
import { tempDir } from '../helpers/tmp.js';
import { rmSync } from 'node:fs';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

test('while starting, NIP-11 and /metrics answer 503 with Retry-After, never partial data', async () => {
  const port = await freePort();
  const dataDir = tempDir();
  const config = makeConfig({
    server: { port, transport: 'ws' },
    store: { dataDir },
    sync: { enabled: false },
    log: { level: 'silent' },
    // several verifier worker threads make the window between listen and ready wide enough to see
    verify: { workers: 3 },
  });
  let relay: RelayHandle | undefined;
  let failed: unknown;
  const starting = startRelay(config, { log: silentLogger }).then(
    (r) => (relay = r),
    (e: unknown) => (failed = e),
  );
  const seen = { refused: 0, unavailable: 0, ready: 0 };
  const bad: string[] = [];
  try {
    while (relay === undefined && failed === undefined) {
      for (const path of ['/', '/metrics']) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { accept: 'application/nostr+json' } });
          const body = await res.text();
          if (res.status === 503) {
            seen.unavailable++;
            if (res.headers.get('retry-after') === null) bad.push(`${path}: 503 without Retry-After`);
          } else if (res.status === 200) {
            seen.ready++;
            if (path === '/' && (JSON.parse(body) as { name?: unknown }).name === undefined) bad.push(`/: partial NIP-11 ${body}`);
            if (path === '/metrics' && !body.includes('grasp_relay_info')) bad.push('/metrics: no relay metrics');
          } else bad.push(`${path}: HTTP ${res.status}`);
        } catch {
          seen.refused++;
        }
      }
    }
    await starting;
    assert.equal(failed, undefined);
    assert.deepEqual(bad, []);
    assert.ok(seen.unavailable + seen.ready > 0, `never reached the port while starting: ${JSON.stringify(seen)}`);
    const after = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'application/nostr+json' } });
    assert.equal(after.status, 200);
    assert.equal(((await after.json()) as { name?: string }).name, 'grasp-relay');
  } finally {
    await starting;
    await relay?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
