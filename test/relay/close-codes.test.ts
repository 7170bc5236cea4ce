// Close codes for frames the transport refuses (issue 11, item 5): a frame over the transport's
// payload limit closes with 1009 and invalid UTF-8 in a text frame with 1007, each with a reason,
// rather than a bare drop (1006). Messages over limits.maxMessageBytes but under the transport's
// limit are answered with a NOTICE and the connection stays open.
// The ws transport does this; uWebSockets.js (this build) closes such sockets natively without a
// close frame and offers no hook, so for uws the test is marked todo.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { startTestRelay } from '../helpers/relay.js';

function firstAnswer(url: string, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('error', () => {});
    ws.once('open', () => ws.send(data, { binary: false }));
    ws.once('message', (m) => {
      resolve(`message ${String(m).slice(0, 80)}`);
      ws.terminate();
    });
    ws.once('close', (code, reason) => resolve(`close ${code} ${reason.toString()}`));
    setTimeout(() => reject(new Error('no answer')), 10_000).unref();
  });
}

for (const transport of ['ws', 'uws'] as const) {
  test(`${transport}: oversized frames close with 1009, invalid UTF-8 with 1007, each with a reason`, { todo: transport === 'uws' ? 'uWS closes natively without a close frame' : false }, async () => {
    const relay = await startTestRelay({ server: { transport }, limits: { maxMessageBytes: 2048 } });
    try {
      assert.equal(await firstAnswer(relay.url, `["REQ","${'x'.repeat(3000)}"]`), 'message ["NOTICE","invalid: message is larger than 2048 bytes"]');
      assert.match(await firstAnswer(relay.url, 'x'.repeat(10_000)), /^close 1009 \S+/);
      assert.match(await firstAnswer(relay.url, Buffer.from([0x5b, 0xff, 0xfe, 0x5d])), /^close 1007 \S+/);
    } finally {
      await relay.destroy();
    }
  });
}
