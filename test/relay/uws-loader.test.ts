// The uWebSockets.js loader and the transport choice: builds tried in order inside try/catch with a
// short reason each, `auto` falling back to ws with one info line saying why, `uws` refusing to
// start (naming the key) when no build loads, and what really loads on this machine's Node/libc.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { StartupError } from '../../src/main.js';
import { chooseTransport, failureReason, loadUws, tryLoadUws, type UwsCandidate, type UwsLoad, type UwsModule } from '../../src/relay/uws-loader.js';
import { TestClient } from '../helpers/client.js';
import { startTestRelay } from '../helpers/relay.js';

const fakeUws = { App: () => ({}), us_listen_socket_close: () => undefined } as unknown as UwsModule;
const glibcError = new Error(
  "This version of uWS.js (v20.57.0) supports only Node.js versions 20, 22, 24 and 25 on (glibc) Linux, macOS and Windows.\n\nError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /x/uws_linux_x64_137.node)",
);
const candidate = (name: string, load: () => unknown, version = '1.2.3'): UwsCandidate => ({ name, load, version: () => version });
const noBuild = (): UwsLoad => ({ failed: [{ build: 'a', reason: 'needs glibc ≥ 2.38' }, { build: 'b', reason: 'no binary for Node ABI 137' }] });

function glibcRuntime(): string | undefined {
  return (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
}
const versionAtLeast = (v: string, min: string): boolean => {
  const [a, b] = v.split('.').map(Number);
  const [c, d] = min.split('.').map(Number);
  return a! > c! || (a === c && b! >= d!);
};

test('failure reasons: glibc too old, no binary for this ABI, not installed, other', () => {
  assert.equal(failureReason(glibcError), 'needs glibc ≥ 2.38');
  const noBinary = Object.assign(new Error(`Cannot find module '/app/node_modules/uWebSockets.js/binaries/uws_linux_x64_137.node'`), { code: 'MODULE_NOT_FOUND' });
  assert.equal(failureReason(noBinary), `no binary for Node ABI ${process.versions.modules}`);
  assert.equal(failureReason(Object.assign(new Error("Cannot find module '@btc-vision/uwebsockets.js'"), { code: 'MODULE_NOT_FOUND' })), 'not installed');
  assert.equal(failureReason(new Error('wrapper text\n\nError: something odd happened')), 'Error: something odd happened');
});

test('tryLoadUws: the first build that loads wins; earlier failures are kept with their reason', () => {
  let thirdTried = false;
  const r = tryLoadUws([
    candidate('first', () => {
      throw glibcError;
    }),
    candidate('second', () => fakeUws, '20.30.0'),
    candidate('third', () => {
      thirdTried = true;
      return fakeUws;
    }),
  ]);
  assert.equal(r.uws, fakeUws);
  assert.equal(r.build, 'second@20.30.0');
  assert.deepEqual(r.failed, [{ build: 'first', reason: 'needs glibc ≥ 2.38' }]);
  assert.equal(thirdTried, false);
});

test('tryLoadUws: nothing loads (or loads something that is not uWS) → no module, every reason', () => {
  const r = tryLoadUws([
    candidate('throws', () => {
      throw new Error('boom');
    }),
    candidate('not uws', () => ({ hello: 1 })),
  ]);
  assert.equal(r.uws, undefined);
  assert.deepEqual(
    r.failed.map((f) => f.build),
    ['throws', 'not uws'],
  );
  assert.match(r.failed[1]!.reason, /not a uWebSockets\.js module/);
});

test('chooseTransport: ws never loads uWS; auto takes uWS when it loads, else ws with the reasons; uws refuses', () => {
  const mustNotLoad = (): UwsLoad => assert.fail('ws must not try to load uWS');
  assert.deepEqual(chooseTransport('ws', mustNotLoad), { transport: 'ws', why: 'server.transport = "ws"' });

  const loaded = (): UwsLoad => ({ uws: fakeUws, build: 'x@1', failed: [{ build: 'y', reason: 'needs glibc ≥ 2.38' }] });
  for (const setting of ['auto', 'uws'] as const) {
    const c = chooseTransport(setting, loaded);
    assert.ok('transport' in c && c.transport === 'uws', setting);
    assert.match(c.why, /^x@1 loads on Node .*skipped y: needs glibc ≥ 2\.38/);
  }

  const auto = chooseTransport('auto', noBuild);
  assert.ok('transport' in auto && auto.transport === 'ws');
  assert.match(auto.why, /no uWebSockets\.js build loads on Node [\d.]+ \(ABI \d+\).*a: needs glibc ≥ 2\.38; b: no binary for Node ABI 137/);

  const uws = chooseTransport('uws', noBuild);
  assert.ok('error' in uws);
  assert.match(uws.error, /server\.transport = "uws"/);
  assert.match(uws.error, /GRASP_RELAY_SERVER_TRANSPORT=auto/);
});

test('server.transport = "uws" with no loadable build: a StartupError naming the key', async () => {
  await assert.rejects(
    startTestRelay({ server: { transport: 'uws' } }, { loadUws: noBuild }),
    (e: unknown) => e instanceof StartupError && /server\.transport/.test(e.message) && /needs glibc ≥ 2\.38/.test(e.message),
  );
});

test('auto with no loadable build: the relay runs on ws and says why in one info line', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const relay = await startTestRelay({ policy: { mode: 'open' }, server: { transport: 'auto' } }, { loadUws: noBuild, log: pino({ level: 'info' }, sink) });
  const c = await TestClient.connect(relay.url);
  try {
    assert.equal(relay.transport, 'ws');
    const said = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('transport:'));
    assert.equal(said.length, 1, JSON.stringify(lines));
    assert.equal(said[0]!.level, 30);
    assert.equal(said[0]!.msg, 'transport: ws');
    assert.equal(said[0]!.setting, 'auto');
    assert.match(String(said[0]!.why), /no uWebSockets\.js build loads/);
    const nip11 = (await (await fetch(relay.url.replace('ws:', 'http:'), { headers: { accept: 'application/nostr+json' } })).json()) as { grasp_relay?: { transport?: string } };
    assert.equal(nip11.grasp_relay?.transport, 'ws');
    assert.equal(await c.count('c', { kinds: [1] }), 0);
  } finally {
    await c.close();
    await relay.destroy();
  }
});

test('on this machine: the builds that load match its Node ABI and glibc, and auto/uws follow', async () => {
  const r = loadUws();
  const abi = process.versions.modules;
  const glibc = glibcRuntime();
  const btc = r.failed.find((f) => f.build === '@btc-vision/uwebsockets.js');
  const btcCan = process.platform === 'linux' && process.arch === 'x64' && ['115', '127', '137', '141'].includes(abi) && glibc !== undefined && versionAtLeast(glibc, '2.38');
  const node20Can = process.platform === 'linux' && process.arch === 'x64' && abi === '115';
  if (btcCan) assert.match(r.build ?? '', /^@btc-vision\/uwebsockets\.js@/, JSON.stringify(r.failed));
  else if (process.platform === 'linux' && glibc !== undefined && !versionAtLeast(glibc, '2.38')) assert.equal(btc?.reason, 'needs glibc ≥ 2.38');
  if (!btcCan && node20Can) assert.match(r.build ?? '', /^uWebSockets\.js@/, JSON.stringify(r.failed));
  if (!btcCan && !node20Can) {
    assert.equal(r.uws, undefined, `nothing should load on ${abi}/${glibc}, got ${r.build}`);
    assert.equal(r.failed.find((f) => f.build === 'uWebSockets.js')?.reason, `no binary for Node ABI ${abi}`);
  }

  const auto = await startTestRelay({ server: { transport: 'auto' } });
  try {
    assert.equal(auto.transport, r.uws ? 'uws' : 'ws');
  } finally {
    await auto.destroy();
  }
  if (r.uws) {
    const uws = await startTestRelay({ server: { transport: 'uws' } });
    try {
      assert.equal(uws.transport, 'uws');
    } finally {
      await uws.destroy();
    }
  } else {
    await assert.rejects(startTestRelay({ server: { transport: 'uws' } }), (e: unknown) => e instanceof StartupError && /server\.transport = "uws"/.test(e.message));
  }
});
