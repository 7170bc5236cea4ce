// The container files without a container engine: the Dockerfile keeps the README's build steps
// and the runtime contract (non-root, /data volume, env, entrypoint), compose mounts what the
// image expects, and the HEALTHCHECK command itself passes against a real relay and fails without.
import { createServer } from 'node:http';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTestRelay } from '../helpers/relay.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
const compose = readFileSync(`${root}compose.yaml`, 'utf8');

/** Instructions with continuation lines joined, comments dropped. */
function instructions(text: string): Array<{ op: string; args: string }> {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const sp = l.indexOf(' ');
      return { op: l.slice(0, sp).toUpperCase(), args: l.slice(sp + 1).trim() };
    });
}

test('Dockerfile: build on node:24-trixie with npm ci, run on node:24-trixie-slim as non-root', () => {
  const ins = instructions(dockerfile);
  const froms = ins.filter((i) => i.op === 'FROM').map((i) => i.args);
  // Debian 13 (glibc 2.41): the uWS v20.57.0 build loads there; build and runtime share Node 24's ABI
  assert.deepEqual(froms, ['node:24-trixie AS build', 'node:24-trixie-slim']);
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { engines: { node: string } };
  assert.match(pkg.engines.node, /\^24\b/, 'package.json engines admit the Node of the image');
  const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.ok(runs.some((r) => /\bnpm ci\b/.test(r) && !/--ignore-scripts/.test(r)), 'npm ci with install scripts (native modules, prepare = tsc)');
  assert.ok(runs.some((r) => /npm prune --omit=dev/.test(r)));
  const lastFrom = ins.map((i) => i.op).lastIndexOf('FROM');
  const runtime = ins.slice(lastFrom);
  // the git half is on by default and needs git, which the slim image lacks
  assert.ok(runtime.some((i) => i.op === 'RUN' && /apt-get install[^&]*\bgit\b/.test(i.args)), 'runtime installs git');
  const user = runtime.filter((i) => i.op === 'USER').map((i) => i.args);
  assert.deepEqual(user, ['node']);
  assert.ok(
    runtime.some((i) => i.op === 'RUN' && /apt-get install -y --no-install-recommends git\b/.test(i.args) && /rm -rf \/var\/lib\/apt\/lists/.test(i.args)),
    'the runtime image installs git (the git half) and drops the apt lists',
  );
  assert.ok(runtime.some((i) => i.op === 'VOLUME' && i.args.includes('/data')));
  assert.ok(runtime.some((i) => i.op === 'EXPOSE' && i.args === '7777'));
  const env = runtime.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
  assert.match(env, /GRASP_RELAY_STORE_DATA_DIR=\/data/);
  assert.match(env, /GRASP_RELAY_SERVER_HOST=0\.0\.0\.0/);
  const entry = runtime.find((i) => i.op === 'ENTRYPOINT')!;
  const cmd = runtime.find((i) => i.op === 'CMD')!;
  assert.deepEqual([...JSON.parse(entry.args), ...JSON.parse(cmd.args)], ['node', 'bin/grasp-relay.js', 'start', '--config', '/app/config/grasp-relay.toml']);
  // what the runtime copies is what bin/grasp-relay.js needs
  for (const p of ['node_modules', 'dist', 'bin', 'config', 'package.json']) {
    assert.ok(runtime.some((i) => i.op === 'COPY' && i.args.includes(`/src/${p}`)), `runtime copies ${p}`);
  }
  // every path the build stage copies exists in the repository (tsconfig includes src, test, bench)
  const tsconfig = JSON.parse(readFileSync(`${root}tsconfig.json`, 'utf8')) as { include: string[] };
  for (const inc of tsconfig.include) {
    const dir = inc.split('/')[0]!;
    assert.ok(ins.some((i) => i.op === 'COPY' && new RegExp(`^${dir}\\s`).test(i.args)), `build stage copies ${dir} (tsconfig include)`);
  }
});

test('compose.yaml: one relay, a named volume on /data, the port and the config mount', () => {
  assert.match(compose, /^services:\n {2}relay:\n/m);
  assert.match(compose, /- "7777:7777"/);
  assert.match(compose, /- grasp-relay-data:\/data\n/);
  assert.match(compose, /- \.\/config\/grasp-relay\.toml:\/app\/config\/grasp-relay\.toml:ro/);
  assert.match(compose, /^volumes:\n {2}grasp-relay-data:/m);
});

function healthcheckCommand(): string[] {
  const hc = instructions(dockerfile).find((i) => i.op === 'HEALTHCHECK');
  assert.ok(hc, 'HEALTHCHECK present');
  const json = hc.args.slice(hc.args.indexOf('CMD ') + 4);
  return JSON.parse(json) as string[];
}

function runHealthcheck(port: number): Promise<number> {
  const [bin, ...args] = healthcheckCommand();
  assert.equal(bin, 'node', 'the slim image has no curl: node does the check');
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, GRASP_RELAY_SERVER_PORT: String(port) }, timeout: 15_000 }, (err) =>
      resolve(err === null ? 0 : typeof err.code === 'number' ? err.code : 99),
    );
  });
}

test('the HEALTHCHECK command passes against a running relay and fails when it is gone', async () => {
  const relay = await startTestRelay();
  const port = relay.port;
  try {
    assert.equal(await runHealthcheck(port), 0);
  } finally {
    await relay.destroy();
  }
  assert.equal(await runHealthcheck(port), 1);
});

test('the HEALTHCHECK command fails against a relay that is still starting (503)', async () => {
  const { STARTING_UP } = await import('../../src/main.js');
  const server = createServer((_req, res) => {
    res.writeHead(STARTING_UP.status, STARTING_UP.headers);
    res.end(STARTING_UP.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  try {
    assert.equal(await runHealthcheck(typeof addr === 'object' && addr !== null ? addr.port : 0), 1);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
