// Configuration: defaults, TOML + environment overrides, clear errors, and the shipped file and
// reference docs in step with the schema.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeConfig, renderMarkdown, renderToml } from '../../src/config/describe.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/tmp.js';

const root = new URL('../../../', import.meta.url).pathname;

test('the shipped config file loads and names every key', () => {
  const path = join(root, 'config/grasp-relay.toml');
  const cfg = loadConfig(path, {});
  assert.equal(cfg.policy.mode, 'grasp');
  assert.equal(cfg.server.port, 7777);
  assert.equal(cfg.store.dataDir, './data');
  const text = readFileSync(path, 'utf8');
  for (const k of describeConfig()) assert.match(text, new RegExp(`^${k.key} = `, 'm'), `${k.section}.${k.key} missing`);
});

test('docs/configuration.md is up to date (npm run docs)', () => {
  assert.equal(readFileSync(join(root, 'docs/configuration.md'), 'utf8'), renderMarkdown());
});

test('config/grasp-relay.toml is up to date with every default (npm run docs)', () => {
  assert.equal(readFileSync(join(root, 'config/grasp-relay.toml'), 'utf8'), renderToml());
});

test('environment overrides file values, with types coerced', () => {
  const dir = tempDir();
  const path = join(dir, 'c.toml');
  writeFileSync(path, '[server]\nport = 9000\n[sync]\nbootstrapRelays = ["wss://a.example"]\n');
  const cfg = loadConfig(path, {
    GRASP_RELAY_SERVER_PORT: '9100',
    GRASP_RELAY_NEGENTROPY_ENABLED: 'false',
    GRASP_RELAY_SERVICE_HOSTS: 'git.example.com,other.example',
  });
  assert.equal(cfg.server.port, 9100);
  assert.equal(cfg.negentropy.enabled, false);
  assert.deepEqual(cfg.service.hosts, ['git.example.com', 'other.example']);
  assert.deepEqual(cfg.sync.bootstrapRelays, ['wss://a.example']);
});

test('errors name the key, the value and what was expected', () => {
  assert.throws(() => loadConfig(undefined, { GRASP_RELAY_SERVER_PORT: 'abc' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /server\.port = "abc"/);
    assert.match(e.message, /expected number/);
    return true;
  });
  const dir = tempDir();
  const path = join(dir, 'bad.toml');
  writeFileSync(path, '[policy]\nmode = "lenient"\n[server]\nnope = 1\n');
  assert.throws(() => loadConfig(path, {}), /policy\.mode = "lenient".*\n?.*|server/);
  writeFileSync(path, 'this is not toml');
  assert.throws(() => loadConfig(path, {}), /not valid TOML/);
  assert.throws(() => loadConfig(join(dir, 'missing.toml'), {}), /cannot read config file/);
});

test('verify.workers takes "auto" or a number, from the file or the environment', () => {
  assert.equal(loadConfig(undefined, {}).verify.workers, 'auto');
  assert.equal(loadConfig(undefined, { GRASP_RELAY_VERIFY_WORKERS: '0' }).verify.workers, 0);
  assert.equal(loadConfig(undefined, { GRASP_RELAY_VERIFY_WORKERS: 'auto' }).verify.workers, 'auto');
  assert.throws(() => loadConfig(undefined, { GRASP_RELAY_VERIFY_WORKERS: 'many' }), /verify\.workers = "many"/);
  assert.throws(() => loadConfig(undefined, { GRASP_RELAY_VERIFY_BACKEND: 'openssl' }), /verify\.backend = "openssl"/);
});
