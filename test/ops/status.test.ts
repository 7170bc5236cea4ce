// GET /status and the server-rendered page on a real relay in grasp mode: relay info, counts,
// the repositories hosted, escaping of event content, NIP-11 still served, nothing private
// revealed; and `grasp-relay status` printing the same report as tables.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { npubEncode } from 'nostr-tools/nip19';
import { cmdStatus, formatStatus, statusUrl } from '../../src/cli/status.js';
import { parseArgs } from '../../src/cli/args.js';
import type { StatusReport } from '../../src/ops/index.js';
import { renderPage } from '../../src/ops/page.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { capture, keypair, put, repository, type RepoFixture } from './fixtures.js';
import { section, visibleText } from './chromium.js';

let relay: TestRelay;
let repo: RepoFixture;
let evil: RepoFixture;
const owner = keypair('ops-status-owner');

before(async () => {
  relay = await startTestRelay({ policy: { mode: 'grasp' }, service: { name: 'ops test relay', description: 'relay for the status tests' } });
  const host = relay.config.service.hosts[0]!;
  repo = repository(owner, 'grasp-relay', { hosts: [host], extraRelays: ['wss://relay.example.com'], name: 'grasp-relay', description: 'A GRASP relay' });
  evil = repository(keypair('ops-status-evil'), 'x', { hosts: [host], name: '<script>alert("owned")</script>', description: '<img src=x onerror=alert(1)>' });
  await put(relay, repo.all);
  await put(relay, [evil.announcement]);
});
after(async () => {
  await relay?.destroy();
});

async function getStatus(): Promise<StatusReport> {
  const res = await fetch(`http://127.0.0.1:${relay.port}/status`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  return (await res.json()) as StatusReport;
}

test('/status reports relay info, counts and the repositories hosted', async () => {
  const s = await getStatus();
  assert.equal(s.relay.name, 'ops test relay');
  assert.equal(s.relay.description, 'relay for the status tests');
  assert.equal(s.relay.version, '0.1.0');
  assert.equal(s.relay.url, `ws://${relay.config.service.hosts[0]}`);
  assert.equal(s.relay.policyMode, 'grasp');
  assert.equal(s.relay.verifyBackend, relay.verifier.backend);
  assert.ok(s.relay.supportedNips.includes(11));
  assert.deepEqual(s.relay.supportedGrasps, ['GRASP-01', 'GRASP-02']);
  assert.ok(s.relay.uptimeSeconds >= 0 && s.relay.uptimeSeconds < 600);
  assert.equal(s.store.events, relay.store.stats().events);
  assert.equal(s.store.events, 5);
  assert.equal(s.ingest.stored, 5);
  assert.equal(s.connections, 0);
  assert.equal(s.sync.enabled, false);
  assert.deepEqual(s.sync.peers, []);
  assert.deepEqual(s.git, { enabled: false }, 'the git half is off in this relay');

  assert.equal(s.repositories.total, 2);
  const r = s.repositories.items.find((x) => x.d === 'grasp-relay');
  assert.ok(r, 'the repository is listed');
  assert.equal(r.name, 'grasp-relay');
  assert.equal(r.description, 'A GRASP relay');
  assert.equal(r.owner, npubEncode(owner.pk));
  assert.equal(r.ownerHex, owner.pk);
  assert.deepEqual(r.clone, [`http://${relay.config.service.hosts[0]}/${npubEncode(owner.pk)}/grasp-relay.git`]);
  assert.deepEqual(r.relays, [`ws://${relay.config.service.hosts[0]}`, 'wss://relay.example.com']);
  assert.equal(r.createdAt, repo.announcement.created_at);
});

test('a new announcement shows up at once (the repository cache follows accepted events)', async () => {
  const before = await getStatus();
  const extra = repository(keypair('ops-status-late'), 'late-repo', { hosts: [relay.config.service.hosts[0]!] });
  await put(relay, [extra.announcement]);
  const after = await getStatus();
  assert.equal(after.repositories.total, before.repositories.total + 1);
  assert.equal(after.repositories.items[0]!.d, 'late-repo', 'newest first');
});

test('/status reveals nothing beyond NIP-11 and public events', async () => {
  const text = await (await fetch(`http://127.0.0.1:${relay.port}/status`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).text();
  assert.doesNotMatch(text, /203\.0\.113\.9/, 'no client address');
  assert.ok(!text.includes(relay.dataDir), 'no data directory');
  assert.doesNotMatch(text, /secret|GRASP_RELAY_SECRET_KEY/i);
  const s = JSON.parse(text) as StatusReport;
  const nip11 = (await (await fetch(`http://127.0.0.1:${relay.port}/`, { headers: { accept: 'application/nostr+json' } })).json()) as Record<string, unknown>;
  assert.equal(s.relay.name, nip11.name);
  assert.equal(s.relay.software, nip11.software);
  assert.deepEqual(s.relay.supportedNips, nip11.supported_nips);
});

test('GET / in a browser is the HTML page; event content is escaped; CSP allows only its own code', async () => {
  const res = await fetch(`http://127.0.0.1:${relay.port}/`, { headers: { accept: 'text/html' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  const html = await res.text();
  assert.match(html, /^<!doctype html>/);
  // no external assets
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img\b|@import|url\(/i);
  // hostile names and descriptions are text, never markup
  assert.ok(!html.includes('<script>alert'), 'a repository name cannot inject a script');
  assert.ok(!html.includes('<img src=x'), 'a description cannot inject markup');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;'));
  const repos = visibleText(section(html, 'repositories'));
  assert.match(repos, /grasp-relay/);
  assert.match(repos, /A GRASP relay/);
  assert.match(repos, new RegExp(`http://${relay.config.service.hosts[0]!.replace(/[.]/g, '\\.')}/npub1`));
  assert.match(visibleText(section(html, 'sync')), /sync\.enabled = false/);
  // NIP-11 still wins for nostr clients
  const nip11 = await fetch(`http://127.0.0.1:${relay.port}/`, { headers: { accept: 'application/nostr+json' } });
  assert.match(nip11.headers.get('content-type') ?? '', /application\/nostr\+json/);
});

test('renderPage escapes every peer field too', () => {
  const r: StatusReport = {
    now: 1_700_000_000,
    relay: {
      name: 'n<1>',
      description: 'd&"',
      software: 's',
      version: '0.1.0',
      url: 'ws://h',
      hosts: ['h'],
      supportedNips: [1],
      supportedGrasps: [],
      transport: 'ws',
      verifyBackend: 'noble',
      policyMode: 'grasp',
      negentropy: false,
      startedAt: 1_700_000_000 - 90_000,
      uptimeSeconds: 90_000,
    },
    connections: 2,
    store: { events: 1_234_567, bytes: 3 * 1024 * 1024 },
    memory: { rss: 90 * 1024 * 1024, anon: 40 * 1024 * 1024, file: 50 * 1024 * 1024, heapUsed: 1 },
    ingest: { stored: 10 },
    repositories: { total: 0, items: [] },
    git: {
      enabled: true,
      root: '/var/lib/grasp-relay/git',
      processes: { running: 1, queued: 2 },
      requests: { 'upload-pack': { ok: 3, busy: 1 }, 'receive-pack': { refused: 2 } },
      bytes: { in: 2048, out: 4096 },
      pushes: 0,
      refusedPushes: { stale: 2 },
      releases: {},
      purgatory: { byKind: { '30617': 1 }, dormant: 0, expired: 4, nostrRefs: 0 },
      repositories: {
        total: 1,
        bytes: 5000,
        items: [{ npub: 'npub1"><i>y</i>', d: '<u>d</u>', refs: 2, head: 'refs/heads/<s>', bytes: 5000, purgatory: true, hosting: 'hosted' }],
      },
      sync: { enabled: false },
    },
    sync: {
      enabled: true,
      peers: [
        {
          url: 'wss://evil.example/"><b>x</b>',
          state: 'backoff',
          bootstrap: false,
          lastConnectedAt: null,
          disconnectedAt: null,
          lastFullSyncAt: null,
          lastError: '<svg onload=alert(1)>',
          nextRetryAt: 1_700_000_030_000,
          nip77: 'unknown',
          received: 0,
          accepted: 0,
          rejected: 0,
          duplicate: 0,
          pendingBatches: 0,
          pendingItems: 0,
          confirmedItems: 0,
          repositories: 1,
          roots: 0,
          liveSubscriptions: 0,
          pausedUntil: 1_700_000_065_000,
        },
      ],
      totals: { peers: 1, connected: 0, received: 0, accepted: 0, rejected: 0, duplicate: 0, pendingBatches: 0, retryWaiting: 0, retryRefused: 0 },
    },
  };
  const html = renderPage(r);
  assert.ok(!html.includes('<b>x</b>') && !html.includes('<svg'));
  assert.ok(!html.includes('<i>y</i>') && !html.includes('<u>d</u>') && !html.includes('<s>'), 'git repository fields are escaped');
  const git = visibleText(section(html, 'git'));
  assert.match(git, /1 running · 2 queued/);
  assert.match(git, /receive-pack 2 \(2 refused\) · upload-pack 4 \(1 busy\)/);
  assert.match(git, /0 applied · 2 refused \(stale 2\)/);
  assert.match(git, /1 waiting \(kind 30617 1\) · 0 dormant · 4 expired/);
  assert.match(git, /<u>d<\/u> 2 refs\/heads\/<s> .* waiting for push/);
  const text = visibleText(html);
  assert.match(text, /Uptime 25h 0m/);
  assert.match(text, /Events stored 1,234,567/);
  assert.match(text, /Memory 40 MiB anonymous · 50 MiB file-backed/);
  assert.match(text, /Store size 3\.0 MiB/);
  assert.match(text, /wss:\/\/evil\.example\/"><b>x<\/b> backoff paused 1m 5s /);
  assert.match(text, /in 30s/);
  assert.match(text, /No repositories yet/);
});


test('grasp-relay status prints the summary and the repositories as a table', async () => {
  const o = capture();
  const code = await cmdStatus(parseArgs(['status', '--url', `http://127.0.0.1:${relay.port}`]), o);
  assert.equal(code, 0, o.err);
  assert.match(o.out, /^ops test relay {2}ws:\/\/127\.0\.0\.1:\d+ {2}grasp-relay v0\.1\.0$/m);
  assert.match(o.out, /events .* connections/);
  assert.match(o.out, /^NAME +D +OWNER +CLONE$/m);
  assert.match(o.out, new RegExp(`^grasp-relay +grasp-relay +${npubEncode(owner.pk)} +http://`, 'm'));
  assert.match(o.out, /sync is off/);

  const j = capture();
  assert.equal(await cmdStatus(parseArgs(['status', '--json', '--url', `ws://127.0.0.1:${relay.port}`]), j), 0, j.err);
  assert.equal((JSON.parse(j.out) as StatusReport).relay.name, 'ops test relay');
});

test('grasp-relay status explains an unreachable relay and exits 1', async () => {
  // a loopback port that was just free: nothing listens there
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  const o = capture();
  const code = await cmdStatus(parseArgs(['status', '--url', `http://127.0.0.1:${port}`]), o);
  assert.equal(code, 1);
  assert.equal(o.out, '');
  assert.equal(o.err, `grasp-relay status: cannot reach http://127.0.0.1:${port}/status: ECONNREFUSED\n`);
  assert.equal(statusUrl('wss://relay.example.com/some/path'), 'https://relay.example.com/status');
  assert.equal(statusUrl('127.0.0.1:7777'), 'http://127.0.0.1:7777/status');
});

test('formatStatus colours peer states only when asked', () => {
  const base: StatusReport = JSON.parse(
    JSON.stringify({
      now: 100,
      relay: { name: 'r', description: '', software: '', version: '1', url: 'ws://h', hosts: ['h'], supportedNips: [1], supportedGrasps: [], transport: 'ws', verifyBackend: 'noble', policyMode: 'grasp', negentropy: true, startedAt: 0, uptimeSeconds: 100 },
      connections: 0,
      store: { events: 0, bytes: 0 },
      memory: { rss: 1, heapUsed: 1 },
      ingest: {},
      repositories: { total: 0, items: [] },
      sync: {
        enabled: true,
        peers: [{ url: 'ws://p', state: 'connected', bootstrap: true, lastConnectedAt: 40_000, disconnectedAt: null, lastFullSyncAt: 50_000, lastError: null, nextRetryAt: null, nip77: 'yes', received: 7, accepted: 5, rejected: 1, duplicate: 1, pendingBatches: 0, pendingItems: 0, confirmedItems: 0, repositories: 0, roots: 0, liveSubscriptions: 0, pausedUntil: null }],
        totals: { peers: 1, connected: 1, received: 7, accepted: 5, rejected: 1, duplicate: 1, pendingBatches: 0, retryWaiting: 0, retryRefused: 0 },
      },
    }),
  ) as StatusReport;
  const plain = formatStatus(base, false);
  assert.ok(!plain.includes('\x1b['));
  assert.match(plain, /Peer relays \(1\/1 connected\)/);
  assert.match(plain, /^ws:\/\/p +connected +1m 0s ago +50s ago +7 +5 +1 +yes +0 +— +—$/m);
  assert.ok(formatStatus(base, true).includes('\x1b[32mconnected'));
});
