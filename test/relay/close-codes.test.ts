// Close codes for frames the transport refuses (issue 11, item 5): a frame over the transport's
// payload limit closes with 1009 and invalid UTF-8 in a text frame with 1007, each with a reason,
// rather than a bare drop (1006). Messages over limits.maxMessageBytes but under the transport's
// limit are answered with a NOTICE and the connection stays open.
// The ws transport does both. With uWebSockets.js the relay ends an oversized message itself (uWS's
// own limit is set higher, transport-uws.ts); invalid UTF-8 is dropped by uWS natively before any
// handler runs, without a close frame, so that one case is marked todo for uws.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { uwsPayloadLength } from '../../src/relay/transport-uws.js';
import { skipWithoutUws, startTestRelay } from '../helpers/relay.js';

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
  test(`${transport}: oversized frames close with 1009, invalid UTF-8 with 1007, each with a reason`, { skip: skipWithoutUws(transport) }, async (t) => {
    const relay = await startTestRelay({ server: { transport }, limits: { maxMessageBytes: 2048 } });
    try {
      await t.test('over maxMessageBytes, under the transport limit: NOTICE, connection open', async () => {
        assert.equal(await firstAnswer(relay.url, `["REQ","${'x'.repeat(3000)}"]`), 'message ["NOTICE","invalid: message is larger than 2048 bytes"]');
      });
      await t.test('over the transport limit: 1009 with a reason', async () => {
        assert.equal(await firstAnswer(relay.url, 'x'.repeat(10_000)), 'close 1009 message too big: the limit is 4096 bytes');
      });
      // uWS validates UTF-8 before any handler runs and drops the socket without a close frame
      await t.test('invalid UTF-8: 1007 with a reason', { todo: transport === 'uws' ? 'uWS drops invalid UTF-8 natively (1006), before any handler' : false }, async () => {
        assert.match(await firstAnswer(relay.url, Buffer.from([0x5b, 0xff, 0xfe, 0x5d])), /^close 1007 \S+/);
      });
    } finally {
      await relay.destroy();
    }
  });
}

test('uWS buffers at most 4× the transport limit, and never more than 8 MiB beyond it', () => {
  assert.equal(uwsPayloadLength(4096), 16_384);
  assert.equal(uwsPayloadLength(2 * 1024 * 1024), 8 * 1024 * 1024);
  assert.equal(uwsPayloadLength(4 * 1024 * 1024), 12 * 1024 * 1024);
});
