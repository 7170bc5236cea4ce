// Operators see the git half: a relay with git enabled on loopback, the real git CLI. After an
// announcement (held in purgatory), a refused push, a state and the push that releases both,
// /metrics carries the git series with the right labels and values, and GET /status, the status
// page (also in headless Chromium when there is one) and `grasp-relay status` list the repository
// with its refs, HEAD, size and purgatory state, true before the release and false after.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { npubEncode } from 'nostr-tools/nip19';
import { cmdStatus } from '../../src/cli/status.js';
import { parseArgs } from '../../src/cli/args.js';
import type { GitStatus, StatusReport } from '../../src/ops/index.js';
import { TestClient } from '../helpers/client.js';
import { announcement, commitFile, git, keypair, startGitRelay, stateEvent, workTree, type GitRelay } from '../git/helpers.js';
import { dumpDom, findChromium, section, visibleText } from './chromium.js';
import { capture } from './fixtures.js';
import { scrape, type Exposition } from './prom.js';

const owner = keypair('ops-git-owner');
const D = 'ops-git';
let relay: GitRelay;
let client: TestClient;
let work: string;
let tip: string;

before(async () => {
  for (const k of Object.keys(process.env)) if (k.startsWith('GRASP_RELAY_')) delete process.env[k];
  relay = await startGitRelay();
  client = await TestClient.connect(relay.url);
  work = await workTree(relay.repoUrl(owner, D));
  tip = await commitFile(work, 'README', 'operators see it\n');
});

after(async () => {
  await client?.close();
  await relay?.destroy();
});

type EnabledGit = Extract<GitStatus, { enabled: true }>;

async function status(): Promise<StatusReport & { git: EnabledGit }> {
  const res = await fetch(`${relay.http}/status`);
  assert.equal(res.status, 200);
  const s = (await res.json()) as StatusReport;
  assert.equal(s.git.enabled, true);
  return s as StatusReport & { git: EnabledGit };
}


async function cliJson(): Promise<StatusReport & { git: EnabledGit }> {
  const o = capture();
  assert.equal(await cmdStatus(parseArgs(['status', '--json', '--url', relay.http]), o), 0, o.err);
  return JSON.parse(o.out) as StatusReport & { git: EnabledGit };
}

const v = (m: Exposition, name: string, labels: Record<string, string> = {}): number => m.value(name, labels) ?? 0;
const push = () => git(['push', '--porcelain', 'origin', 'main'], { cwd: work });

test('announcement → refused push → state → push: /metrics, /status and the CLI follow', async () => {
  const npub = npubEncode(owner.pk);
  const before = await scrape(relay.port);
  // every git series is there from the start, without traffic
  for (const name of ['grasp_relay_git_processes', 'grasp_relay_git_queued', 'grasp_relay_git_repositories', 'grasp_relay_git_repositories_bytes']) {
    assert.equal(before.value(name), 0, name);
  }
  assert.equal(before.types.get('grasp_relay_git_request_duration_seconds'), 'histogram');
  assert.equal(before.types.get('grasp_relay_git_requests_total'), 'counter');
  const gitSeries = [...before.types].filter(([n]) => n.startsWith('grasp_relay_git_'));
  assert.equal(gitSeries.length, 14, gitSeries.map(([n]) => n).join(' '));
  for (const [name, type] of gitSeries) {
    assert.ok((before.help.get(name) ?? '').length > 0, `${name} has HELP`);
    if (type === 'counter') assert.match(name, /_total$/, name);
  }

  // 1. the announcement goes to purgatory and makes an empty repository
  const ann = await client.publish(announcement(owner, D, relay));
  assert.equal(ann.ok, true, ann.message);
  assert.match(ann.message, /^purgatory: /);
  let s = await status();
  let repo = s.git.repositories.items.find((r) => r.npub === npub && r.d === D);
  assert.ok(repo, 'the repository is listed while in purgatory');
  assert.equal(repo.purgatory, true);
  assert.equal(repo.refs, 0);
  assert.equal(repo.hosting, 'hosted');
  assert.deepEqual(s.git.purgatory.byKind, { '30617': 1 });
  assert.equal(s.git.root, relay.git!.root);
  assert.deepEqual(s.git.sync, { enabled: false }, 'git sync is off in this relay');
  assert.equal([...before.types.keys()].filter((n) => n.startsWith('grasp_relay_git_sync_')).length, 0, 'and so are its series');
  const j = await cliJson();
  assert.deepEqual(j.git.repositories.items, s.git.repositories.items, 'the CLI prints the same report');
  let m = await scrape(relay.port);
  assert.equal(v(m, 'grasp_relay_git_purgatory_events', { kind: '30617' }), 1);
  assert.equal(v(m, 'grasp_relay_git_repositories'), 1);

  // 2. a push with no state is refused before git runs
  const refused = await push();
  assert.notEqual(refused.code, 0);
  assert.match(refused.stdout + refused.stderr, /publish the 30618 first/);
  m = await scrape(relay.port);
  assert.equal(v(m, 'grasp_relay_git_pushes_refused_total', { reason: 'no-state' }), 1);
  assert.equal(v(m, 'grasp_relay_git_requests_total', { service: 'receive-pack', outcome: 'refused' }), 1);
  assert.equal(v(m, 'grasp_relay_git_pushes_total'), 0);
  s = await status();
  assert.deepEqual(s.git.refusedPushes, { 'no-state': 1 });
  assert.equal(s.git.requests['receive-pack']?.refused, 1);

  // 3. the state (held too), then the push that matches it releases both
  const st = await client.publish(stateEvent(owner, D, { 'refs/heads/main': tip }));
  assert.equal(st.ok, true, st.message);
  m = await scrape(relay.port);
  assert.equal(v(m, 'grasp_relay_git_purgatory_events', { kind: '30618' }), 1);
  const ok = await push();
  assert.equal(ok.code, 0, ok.stderr);

  m = await scrape(relay.port);
  assert.equal(v(m, 'grasp_relay_git_pushes_total'), 1);
  assert.equal(v(m, 'grasp_relay_git_pushes_refused_total', { reason: 'no-state' }), 1);
  assert.equal(m.all('grasp_relay_git_pushes_refused_total').length, 1, 'only the reasons seen are exported');
  assert.equal(v(m, 'grasp_relay_git_released_total', { kind: '30617' }), 1);
  assert.equal(v(m, 'grasp_relay_git_released_total', { kind: '30618' }), 1);
  assert.equal(v(m, 'grasp_relay_git_requests_total', { service: 'receive-pack', outcome: 'ok' }), 1);
  const infoRefs = v(m, 'grasp_relay_git_requests_total', { service: 'info-refs', outcome: 'ok' });
  assert.ok(infoRefs >= 2, `two pushes asked info/refs (${infoRefs})`);
  for (const sample of m.all('grasp_relay_git_requests_total')) {
    assert.deepEqual(Object.keys(sample.labels).sort(), ['outcome', 'service']);
    assert.match(sample.labels.service!, /^(info-refs|upload-pack|receive-pack)$/);
    assert.match(sample.labels.outcome!, /^[a-z_]+$/);
  }
  assert.ok(v(m, 'grasp_relay_git_bytes_total', { direction: 'in' }) > 0, 'the pack came in');
  assert.ok(v(m, 'grasp_relay_git_bytes_total', { direction: 'out' }) > 0, 'advertisements and reports went out');
  // every admitted request was timed: two receive-packs, the info/refs of both pushes
  assert.equal(v(m, 'grasp_relay_git_request_duration_seconds_count', { service: 'receive-pack' }), 2);
  assert.equal(v(m, 'grasp_relay_git_request_duration_seconds_count', { service: 'info-refs' }), infoRefs);
  assert.ok(v(m, 'grasp_relay_git_request_duration_seconds_sum', { service: 'receive-pack' }) > 0);
  assert.equal(v(m, 'grasp_relay_git_purgatory_events', { kind: '30617' }), 0);
  assert.equal(v(m, 'grasp_relay_git_purgatory_events', { kind: '30618' }), 0);
  assert.equal(v(m, 'grasp_relay_git_processes'), 0);
  assert.equal(v(m, 'grasp_relay_git_repositories'), 1);

  // 4. the status after the release: refs, HEAD, size, out of purgatory
  s = await status();
  repo = s.git.repositories.items.find((r) => r.npub === npub && r.d === D);
  assert.ok(repo);
  assert.equal(repo.purgatory, false);
  assert.equal(repo.refs, 1);
  assert.equal(repo.head, 'refs/heads/main');
  assert.ok(repo.bytes > 0);
  assert.equal(s.git.repositories.bytes, repo.bytes);
  assert.equal(v(m, 'grasp_relay_git_repositories_bytes'), repo.bytes);
  assert.equal(s.git.pushes, 1);
  assert.deepEqual(s.git.releases, { '30617': 1, '30618': 1 });
  assert.deepEqual(s.git.purgatory.byKind, {});
  assert.deepEqual(s.git.processes, { running: 0, queued: 0 });
  assert.equal((await cliJson()).git.repositories.items.find((r) => r.d === D)?.purgatory, false);

  // the CLI table and the page say the same
  const o = capture();
  assert.equal(await cmdStatus(parseArgs(['status', '--url', relay.http]), o), 0, o.err);
  assert.match(o.out, /Git \(1 repository, /);
  assert.match(o.out, /pushes: 1 applied · 1 refused \(no-state 1\)/);
  assert.ok(o.out.split('\n').some((l) => l.startsWith(`${npub}/${D} `) && /\b1\s+refs\/heads\/main\s+.+\shosted$/.test(l)), o.out);
  const html = await (await fetch(`${relay.http}/`)).text();
  const gitText = visibleText(section(html, 'git'));
  assert.match(gitText, /1 applied · 1 refused \(no-state 1\)/);
  assert.match(gitText, new RegExp(`${D} 1 refs/heads/main .+ hosted`));
  assert.match(visibleText(section(html, 'git-sync')), /Git sync \(GRASP-02\) is off/);
  assert.match(o.out, /^Git sync\n {2}git sync is off \(git\.syncEnabled = false\)$/m);
});

test('headless Chromium shows the git section', async (t) => {
  const bin = findChromium();
  if (bin === undefined) {
    assert.ok(process.env.GRASP_REQUIRE_CHROMIUM !== '1', 'GRASP_REQUIRE_CHROMIUM=1 but no chromium binary on PATH or in CHROMIUM_BIN');
    t.skip('no chromium binary on PATH (Debian: apt-get install -y chromium; or set CHROMIUM_BIN)');
    return;
  }
  const { dom, log } = await dumpDom(bin, `${relay.http}/`);
  assert.doesNotMatch(log, /Content Security Policy|Uncaught/i, 'no CSP violation or script error');
  const text = visibleText(section(dom, 'git'));
  assert.match(text, /Git processes 0 running · 0 queued/);
  assert.match(text, new RegExp(`${D} \\d+ (refs/heads/main|—) `));
  assert.match(visibleText(section(dom, 'git-sync')), /Git sync \(GRASP-02\) is off/);
});
