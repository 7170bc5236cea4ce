// The CLI as an operator runs it: import JSONL through the write path, export it back, clear
// errors and exit codes for bad usage and bad configuration.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { keypair, sign } from '../helpers/events.js';
import { tempDir } from '../helpers/tmp.js';

const bin = new URL('../../../bin/grasp-relay.js', import.meta.url).pathname;
const run = (args: string[], env: Record<string, string>, input?: string) =>
  spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 60_000 });

test('import then export round-trips events; re-import counts duplicates; bad lines are counted', () => {
  const dir = tempDir();
  const env = { GRASP_RELAY_STORE_DATA_DIR: join(dir, 'data'), GRASP_RELAY_LOG_LEVEL: 'warn' };
  const alice = keypair('alice');
  const events = Array.from({ length: 40 }, (_, i) => sign(alice, { kind: 1, content: `cli ${i}` }));
  const file = join(dir, 'in.jsonl');
  writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\nnot json\n');

  const first = run(['import', file, '--open'], env);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /"stored":40,.*"invalid":1/);
  const again = run(['import', '-', '--open'], env, events.map((e) => JSON.stringify(e)).join('\n'));
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /"stored":0,"duplicate":40/);

  const out = run(['export'], env);
  assert.equal(out.status, 0, out.stderr);
  const exported = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string });
  assert.deepEqual(new Set(exported.map((e) => e.id)), new Set(events.map((e) => e.id)));
  const limited = run(['export', '--filter', '{"limit":2}'], env);
  assert.equal(limited.stdout.trim().split('\n').length, 2);
  const badFilter = run(['export', '--filter', '{"kinds":"x"}'], env);
  assert.equal(badFilter.status, 2);
  assert.match(badFilter.stderr, /invalid: filter field kinds/);
});

test('grasp mode import refuses unrelated events', () => {
  const dir = tempDir();
  const env = { GRASP_RELAY_STORE_DATA_DIR: join(dir, 'data'), GRASP_RELAY_LOG_LEVEL: 'warn' };
  const e = sign(keypair('bob'), { kind: 1, content: 'not git' });
  const r = run(['import', '-'], env, JSON.stringify(e) + '\n');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /"stored":0,.*"refused":1/);
});

test('usage and configuration errors exit 2 with a message naming the problem', () => {
  const r = run(['frobnicate'], {});
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command frobnicate/);
  const bad = run(['start'], { GRASP_RELAY_SERVER_PORT: 'x' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /server\.port = "x"/);
});
