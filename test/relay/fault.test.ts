// A bug inside a message handler costs that message only: the client gets an error: NOTICE, the
// connection and the process keep working (fault injected into the live index).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay } from '../helpers/relay.js';

test('a handler that throws answers NOTICE error: and the connection survives', async () => {
  const relay = await startTestRelay({ policy: { mode: 'open' } });
  const c = await TestClient.connect(relay.url);
  const add = relay.live.add.bind(relay.live);
  try {
    relay.live.add = () => {
      throw new Error('injected fault');
    };
    c.send(['REQ', 'boom', { kinds: [1] }]);
    const n = await c.next((m) => m[0] === 'NOTICE');
    assert.match(n[1] as string, /^error: internal error/);
    relay.live.add = add;
    assert.equal((await c.publish(sign(keypair('alice'), { kind: 1, content: 'still fine' }))).ok, true);
    assert.equal((await c.req('ok', { kinds: [1] })).events.length, 1);
  } finally {
    relay.live.add = add;
    await c.close();
    await relay.destroy();
  }
});
