// Operator actions: POST /admin/resync is off without a token, refuses a wrong one, and
// `grasp-relay resync` drives a real full resync of a real peer to completion.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { startTestRelay } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';

const bin = new URL('../../../bin/grasp-relay.js', import.meta.url).pathname;
const TOKEN_ENV = 'GRASP_RELAY_TEST_ADMIN_TOKEN';

test('without a token the admin route does not exist', async () => {
  delete process.env[TOKEN_ENV];
  const relay = await startTestRelay({ service: { adminTokenEnv: TOKEN_ENV } });
  try {
    const r = await fetch(`http://127.0.0.1:${relay.port}/admin/resync`, { method: 'POST', headers: { authorization: 'Bearer x' } });
    assert.equal(r.status, 405);
  } finally {
    await relay.destroy();
  }
});

test('a forced resync: token checked, unknown peers named, CLI waits for the peer to finish', async () => {
  process.env[TOKEN_ENV] = 'correct horse';
  const peer = await startTestRelay({ policy: { mode: 'open' } });
  const relay = await startTestRelay({ service: { adminTokenEnv: TOKEN_ENV }, sync: { enabled: true, bootstrapRelays: [peer.url] } });
  const admin = `http://127.0.0.1:${relay.port}/admin/resync`;
  try {
    await waitFor(() => relay.sync!.status().peers.some((p) => p.state === 'connected'), 10_000, 'the bootstrap peer to connect');
    assert.equal((await fetch(admin, { method: 'POST', headers: { authorization: 'Bearer wrong' } })).status, 401);
    assert.equal((await fetch(admin, { method: 'POST' })).status, 401);
    const unknown = await fetch(`${admin}?relay=${encodeURIComponent('ws://127.0.0.1:1')}`, {
      method: 'POST',
      headers: { authorization: 'Bearer correct horse' },
    });
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { error: string }).error, /not a sync peer/);

    const before = relay.sync!.status().peers[0]!.lastFullSyncAt ?? 0;
    // async: the relay under test runs in this process and must keep answering
    const r = await new Promise<{ status: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [bin, 'resync', '--url', `http://127.0.0.1:${relay.port}`, '--relay', peer.url, '--timeout', '30'],
        { env: { ...process.env, GRASP_RELAY_SERVICE_ADMIN_TOKEN_ENV: TOKEN_ENV }, encoding: 'utf8', timeout: 60_000 },
        (err, _stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /resync: 1\/1 peers done/);
    assert.ok((relay.sync!.status().peers[0]!.lastFullSyncAt ?? 0) > before);
  } finally {
    delete process.env[TOKEN_ENV];
    await relay.destroy();
    await peer.destroy();
  }
});
