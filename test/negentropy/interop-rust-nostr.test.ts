// Interop with rust-nostr (nostr-sdk 0.43, WASM build, offline): its Client runs a NIP-77 sync
// (dry run) against a local WebSocket server whose NEG-* messages go to our Nip77Sessions. In
// Node the SDK's only local database that keeps events is IndexedDB (absent), so the client side
// is empty: the relay's whole set must come back as "remote", over several rounds when our
// frame size limit cuts the replies. The client runs in a child process (rust-nostr-client.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { makeConfig } from '../../src/config/schema.js';
import { buildItems } from '../../src/negentropy/index.js';
import { Nip77Sessions } from '../../src/relay/nip77.js';
import { makeSets, nip77OnlyStore } from './helpers.js';

const CLIENT = fileURLToPath(new URL('./rust-nostr-client.js', import.meta.url));

function runClient(url: string): Promise<{ local: string[]; remote: string[]; failed: string[] }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLIENT, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // 'close', not 'exit': stdout may still hold unread output when the process has exited
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`rust-nostr client exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out) as { local: string[]; remote: string[]; failed: string[] });
      } catch (e) {
        reject(new Error(`rust-nostr client printed no complete report (${(e as Error).message}): ${out.slice(0, 200)}`));
      }
    });
  });
}

for (const frameSizeLimit of [0, 4096]) {
  test(`rust-nostr Client.sync (dry run) against our NIP-77 handler, frameSizeLimit ${frameSizeLimit}`, async () => {
    const sets = makeSets(3000, 0, 4321 + frameSizeLimit, 'few');
    const items = buildItems(sets.a);
    const store = nip77OnlyStore((_f, max) => (items.count > max ? 'too-many' : items));
    const cfg = makeConfig({ negentropy: { frameSizeLimit } }).negentropy;
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const seen: string[] = [];
    wss.on('connection', (ws) => {
      const neg = new Nip77Sessions(store, cfg, (json) => {
        const m = JSON.parse(json) as unknown[];
        if (cfg.frameSizeLimit && m[0] === 'NEG-MSG') assert.ok(String(m[2]).length / 2 <= cfg.frameSizeLimit);
        seen.push(String(m[0]));
        ws.send(json);
      });
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as unknown[];
        if (typeof msg[0] === 'string' && msg[0].startsWith('NEG-')) neg.handle(msg);
        else if (msg[0] === 'REQ') ws.send(JSON.stringify(['EOSE', msg[1]]));
      });
      ws.on('close', () => neg.close());
    });
    try {
      const report = await runClient(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
      assert.deepEqual(report.failed, []);
      assert.deepEqual(report.local, []);
      assert.deepEqual([...report.remote].sort(), sets.a.map((p) => p[1]).sort());
      assert.ok(!seen.includes('NEG-ERR'));
      if (frameSizeLimit) assert.ok(seen.filter((t) => t === 'NEG-MSG').length > 1, 'several rounds under the frame limit');
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
}
