// The installed @btc-vision/uwebsockets.js is the build whose provenance docs/transports.md
// records: every file in its sha256 table hashes to the recorded value, and every binary the package
// ships is in the table (a new version must be checked and recorded before it can be used).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../../', import.meta.url).pathname;

function recorded(): Map<string, string> {
  const doc = readFileSync(join(root, 'docs/transports.md'), 'utf8');
  const out = new Map<string, string>();
  for (const m of doc.matchAll(/^\| (uws_[a-z0-9_]+\.node|uws\.js|index\.d\.ts|ESM_wrapper\.mjs) \| ([0-9a-f]{64}) \|$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

function installedDir(): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve('@btc-vision/uwebsockets.js'));
  } catch {
    return undefined;
  }
}

test('@btc-vision/uwebsockets.js files match the sha256 recorded in docs/transports.md', (t) => {
  const table = recorded();
  assert.ok(table.size >= 23, `the table lists the 20 binaries and 3 scripts (found ${table.size})`);
  const dir = installedDir();
  if (dir === undefined) {
    t.skip('@btc-vision/uwebsockets.js is not installed (an optional dependency)');
    return;
  }
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(version, '20.57.0', 'a new version needs its provenance checked and its hashes recorded');
  for (const [file, sha] of table) {
    const got: string = createHash('sha256').update(readFileSync(join(dir, file))).digest('hex');
    assert.equal(got, sha, `${file} differs from the recorded build`);
  }
  const shipped = readdirSync(dir).filter((f) => f.endsWith('.node'));
  for (const f of shipped) assert.ok(table.has(f), `${f} is shipped but not recorded`);
});
