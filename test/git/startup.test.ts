// The git half at start-up: without a usable git the relay refuses to start and says which key
// turns the git half off; with git.enabled = false it starts as the Nostr half alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StartupError } from '../../src/main.js';
import { startTestRelay } from '../helpers/relay.js';
import { startGitRelay } from './helpers.js';

test('no usable git: a StartupError naming git.binary and git.enabled', async () => {
  await assert.rejects(
    startGitRelay({ git: { binary: '/nonexistent/git' } }),
    (e: unknown) => e instanceof StartupError && /git\.binary = "\/nonexistent\/git"/.test(e.message) && /git\.enabled = false/.test(e.message),
  );
});

test('git.enabled = false: no git routes, announcements stored at once', async () => {
  const relay = await startTestRelay({ git: { enabled: false } });
  try {
    assert.equal(relay.git, undefined);
    const r = await fetch(`http://127.0.0.1:${relay.port}/npub1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq9kxnlc/x.git/info/refs?service=git-upload-pack`);
    assert.equal(r.status, 404);
    await r.text();
  } finally {
    await relay.destroy();
  }
});
