// HTTP beside the socket: NIP-11 with CORS and the real limits, preflight, and the same protocol
// over the pure-JS ws transport.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestClient } from '../helpers/client.js';
import { keypair, sign } from '../helpers/events.js';
import { startTestRelay } from '../helpers/relay.js';

const httpUrl = (port: number, path = '/') => `http://127.0.0.1:${port}${path}`;

test('NIP-11 document: CORS, supported NIPs, GRASP fields, configured limits', async () => {
  const relay = await startTestRelay({ limits: { maxLimit: 1234 }, service: { name: 'test relay' } });
  try {
    const res = await fetch(httpUrl(relay.port), { headers: { accept: 'application/nostr+json' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('content-type') ?? '', /application\/nostr\+json/);
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc.name, 'test relay');
    assert.deepEqual(doc.supported_nips, [1, 9, 11, 40, 45, 62, 77]);
    assert.ok((doc.supported_grasps as string[]).includes('GRASP-01'));
    assert.equal(typeof doc.repo_acceptance_criteria, 'string');
    assert.equal((doc.limitation as Record<string, unknown>).max_limit, 1234);
    const pre = await fetch(httpUrl(relay.port), { method: 'OPTIONS' });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.equal((await fetch(httpUrl(relay.port, '/nope'))).status, 404);
  } finally {
    await relay.destroy();
  }
});

test('NIP-11 pubkey: the relay key from service.secretKeyEnv, else service.pubkey; contact when set', async () => {
  const envName = 'GRASP_TEST_NIP11_SECRET_KEY';
  const sk = '0000000000000000000000000000000000000000000000000000000000000003';
  const pk = 'f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9';
  const other = 'ab'.repeat(32);
  delete process.env[envName];
  const configured = await startTestRelay({ service: { pubkey: other, contact: 'mailto:ops@example.com', secretKeyEnv: envName } });
  process.env[envName] = sk;
  const keyed = await startTestRelay({ service: { pubkey: other, secretKeyEnv: envName } });
  delete process.env[envName];
  try {
    const doc = async (port: number) => (await (await fetch(httpUrl(port), { headers: { accept: 'application/nostr+json' } })).json()) as Record<string, unknown>;
    const a = await doc(configured.port);
    assert.equal(a.pubkey, other);
    assert.equal(a.contact, 'mailto:ops@example.com');
    const b = await doc(keyed.port);
    assert.equal(b.pubkey, pk);
    assert.equal(b.contact, undefined);
  } finally {
    await configured.destroy();
    await keyed.destroy();
  }
});

test('NIP-77 is not advertised when disabled', async () => {
  const relay = await startTestRelay({ negentropy: { enabled: false } });
  try {
    const doc = (await (await fetch(httpUrl(relay.port), { headers: { accept: 'application/nostr+json' } })).json()) as { supported_nips: number[] };
    assert.equal(doc.supported_nips.includes(77), false);
  } finally {
    await relay.destroy();
  }
});

test('the ws transport serves the same protocol and NIP-11', async () => {
  const relay = await startTestRelay({ policy: { mode: 'open' }, server: { transport: 'ws' } });
  const c = await TestClient.connect(relay.url);
  try {
    const e = sign(keypair('alice'), { kind: 1, content: 'over ws' });
    assert.equal((await c.publish(e)).ok, true);
    assert.deepEqual((await c.req('s', { ids: [e.id] })).events.map((x) => x.id), [e.id]);
    const res = await fetch(httpUrl(relay.port), { headers: { accept: 'application/nostr+json' } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  } finally {
    await c.close();
    await relay.destroy();
  }
});

test('a second relay on a port in use refuses to start instead of sharing it', async () => {
  const relay = await startTestRelay();
  try {
    await assert.rejects(startTestRelay({ server: { port: relay.port } }), /cannot listen on 127\.0\.0\.1:\d+/);
  } finally {
    await relay.destroy();
  }
});

test('the configured signature backend and worker count are used and shown in NIP-11', async () => {
  const relay = await startTestRelay({ verify: { backend: 'noble', workers: 0 } });
  try {
    assert.equal(relay.verifier.backend, 'noble');
    assert.equal(relay.verifier.workers, 0);
    const doc = (await (await fetch(httpUrl(relay.port), { headers: { accept: 'application/nostr+json' } })).json()) as {
      grasp_relay: { signature_backend: string };
    };
    assert.equal(doc.grasp_relay.signature_backend, 'noble');
  } finally {
    await relay.destroy();
  }
});
