// The status page as a person sees it, in headless Chromium, on real synced data: a peer relay
// (open mode) holds a GRASP repository; the relay under test (grasp mode, sync on) learns the
// repository from an announcement naming itself and the peer, syncs, and shows both. Also the
// peer metrics and the CLI table over the same mesh. Skips when no chromium binary exists
// (fails instead with GRASP_REQUIRE_CHROMIUM=1, for CI).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cmdStatus } from '../../src/cli/status.js';
import { parseArgs } from '../../src/cli/args.js';
import type { StatusReport } from '../../src/ops/index.js';
import { startTestRelay, tempDir, type TestRelay } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';
import { dumpDom, findChromium, screenshot, section, visibleText } from './chromium.js';
import { keypair, put, repository, type RepoFixture } from './fixtures.js';
import { scrape } from './prom.js';

let peer: TestRelay;
let relay: TestRelay;
let repo: RepoFixture;
let other: RepoFixture;

before(async () => {
  peer = await startTestRelay({ policy: { mode: 'open' }, service: { name: 'peer' } });
  relay = await startTestRelay({
    policy: { mode: 'grasp' },
    sync: { enabled: true },
    service: { name: 'grasp-relay', description: 'The Nostr side of git collaboration (NIP-34), kept complete by GRASP-02 sync.' },
  });
  const host = relay.config.service.hosts[0]!;
  repo = repository(keypair('ops-page-owner'), 'ngit', {
    hosts: [host],
    extraRelays: [peer.url],
    name: 'ngit',
    description: 'nostr plugin for git: patches, PRs and issues over Nostr',
  });
  other = repository(keypair('ops-page-other'), 'gitworkshop', {
    hosts: [host],
    extraRelays: [peer.url],
    name: 'gitworkshop',
    description: 'a web client for git collaboration over Nostr',
  });
  // the peer holds everything about both repositories ...
  await put(peer, [...repo.all, ...other.all]);
  // ... and the relay under test learns one announcement from a client; sync does the rest
  await put(relay, [repo.announcement]);
  const wanted = [...repo.all, ...other.all];
  await waitFor(() => wanted.every((e) => relay.store.has(e.id)), 30_000, 'the repositories synced from the peer');
  await waitFor(
    () => relay.sync!.status().peers.some((p) => p.url === peer.url && p.state === 'connected' && p.accepted >= wanted.length - 1),
    10_000,
    'the peer counted as connected with its events accepted',
  );
});

after(async () => {
  await relay?.destroy();
  await peer?.destroy();
});

test('headless Chromium shows the synced repositories and the peer relay with its state', async (t) => {
  const bin = findChromium();
  if (bin === undefined) {
    // CI sets GRASP_REQUIRE_CHROMIUM=1 so a missing browser fails instead of skipping silently
    assert.ok(process.env.GRASP_REQUIRE_CHROMIUM !== '1', 'GRASP_REQUIRE_CHROMIUM=1 but no chromium binary on PATH or in CHROMIUM_BIN');
    t.skip('no chromium binary on PATH (Debian: apt-get install -y chromium; or set CHROMIUM_BIN)');
    return;
  }
  const url = `http://127.0.0.1:${relay.port}/`;
  // 7 s of virtual time: the page refreshes itself once (every 5 s) from the live relay
  const { dom, log } = await dumpDom(bin, url, { virtualTimeMs: 7000 });
  assert.doesNotMatch(log, /Content Security Policy|Uncaught/i, 'no CSP violation or script error');
  assert.match(dom, /<html[^>]*data-refreshed="[1-9]/, 'the inline refresh ran and swapped in a fresh page');

  const header = visibleText(section(dom, 'status').split('<section')[0]!);
  assert.match(header, /grasp-relay/);
  assert.match(header, /The Nostr side of git collaboration/);
  assert.ok(header.includes(`ws://${relay.config.service.hosts[0]}`), header);

  const page = visibleText(section(dom, 'status'));
  assert.match(page, new RegExp(`Events stored ${relay.store.stats().events} `));
  assert.match(page, /Repositories 2 /);
  assert.match(page, /Sync peers 1 \/ 1 connected/);

  const repos = visibleText(section(dom, 'repositories'));
  assert.match(repos, /Repositories hosted/);
  assert.match(repos, /ngit nostr plugin for git/);
  assert.match(repos, /gitworkshop a web client/, 'the repository learned only through sync is listed too');
  assert.ok(repos.includes(`http://${relay.config.service.hosts[0]}/npub1`), 'clone URL shown');

  const peerRows = [...section(dom, 'sync').matchAll(/<tr class="peer">([\s\S]*?)<\/tr>/g)].map((m) => visibleText(m[1]!));
  assert.equal(peerRows.length, 1, `one peer row: ${JSON.stringify(peerRows)}`);
  const row = peerRows[0]!;
  assert.ok(row.startsWith(`${peer.url} connected`), row);
  assert.match(row, /(now|\d+s ago)/, 'last connect shown');

  // a screenshot of what a person sees (kept in a temp dir; copied for the README on request)
  const dir = tempDir('grasp-relay-status-page-');
  const png = join(dir, 'status-page.png');
  await screenshot(bin, url, png);
  assert.ok(existsSync(png) && statSync(png).size > 10_000, `screenshot written to ${png}`);
  const out = process.env.GRASP_STATUS_SCREENSHOT;
  if (out) {
    mkdirSync(dirname(out), { recursive: true });
    copyFileSync(png, out);
  }
  t.diagnostic(`screenshot: ${out ?? png}`);
});

test('/status and /metrics report the peer relay from the sync engine', async () => {
  const s = (await (await fetch(`http://127.0.0.1:${relay.port}/status`)).json()) as StatusReport;
  assert.equal(s.sync.enabled, true);
  const p = s.sync.peers.find((x) => x.url === peer.url);
  assert.ok(p, 'peer listed');
  assert.equal(p.state, 'connected');
  assert.ok(p.lastConnectedAt !== null);
  assert.ok(p.received >= p.accepted && p.accepted >= 7, JSON.stringify(p));
  assert.equal(s.repositories.total, 2);

  const m = await scrape(relay.port);
  const relayLabel = { relay: peer.url };
  assert.equal(m.types.get('grasp_relay_peer_up'), 'gauge');
  assert.equal(m.types.get('grasp_relay_peer_events_received_total'), 'counter');
  assert.equal(m.value('grasp_relay_peer_up', relayLabel), 1);
  assert.equal(m.value('grasp_relay_peer_state', { ...relayLabel, state: 'connected' }), 1);
  assert.equal(m.value('grasp_relay_peer_state', { ...relayLabel, state: 'backoff' }), 0);
  assert.equal(m.value('grasp_relay_sync_peers'), 1);
  const now = relay.sync!.status().peers.find((x) => x.url === peer.url)!;
  assert.equal(m.value('grasp_relay_peer_events_received_total', relayLabel), now.received);
  assert.equal(m.value('grasp_relay_peer_events_accepted_total', relayLabel), now.accepted);
  assert.equal(m.value('grasp_relay_peer_errors_total', relayLabel), 0);
  assert.equal(m.value('grasp_relay_peer_last_connected_timestamp_seconds', relayLabel), now.lastConnectedAt! / 1000);
  if (now.lastFullSyncAt !== null) assert.equal(m.value('grasp_relay_peer_last_sync_timestamp_seconds', relayLabel), now.lastFullSyncAt / 1000);
  // the sync path is the same write path: its events count as stored
  assert.ok((m.value('grasp_relay_events_total', { outcome: 'stored' }) ?? 0) >= 8);
});

test('grasp-relay status lists the peer with its state', async () => {
  let out = '';
  let err = '';
  const code = await cmdStatus(parseArgs(['status', '--url', `http://127.0.0.1:${relay.port}`]), {
    color: false,
    write: (t) => (out += t),
    error: (t) => (err += t),
  });
  assert.equal(code, 0, err);
  assert.match(out, /Repositories \(2\)/);
  assert.match(out, /Peer relays \(1\/1 connected\)/);
  assert.match(out, new RegExp(`^${peer.url.replace(/[.]/g, '\\.')} +connected +`, 'm'));
});
