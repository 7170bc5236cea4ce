// Unit tests: relay URL normalisation and the never-sync-from-ourselves test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSelf, nip11Url, normalizeRelayUrl } from '../../src/sync/urls.js';

test('normalises scheme, host case, default port and trailing slash', () => {
  assert.equal(normalizeRelayUrl('WSS://Relay.Example.COM/'), 'wss://relay.example.com');
  assert.equal(normalizeRelayUrl('wss://relay.example.com:443'), 'wss://relay.example.com');
  assert.equal(normalizeRelayUrl('ws://relay.example.com:80/'), 'ws://relay.example.com');
  assert.equal(normalizeRelayUrl('ws://relay.example.com:443'), 'ws://relay.example.com:443');
  assert.equal(normalizeRelayUrl('wss://relay.example.com:7777/nostr/'), 'wss://relay.example.com:7777/nostr');
  assert.equal(normalizeRelayUrl(' wss://a.example//'), 'wss://a.example');
  assert.equal(normalizeRelayUrl('ws://127.0.0.1:7777'), 'ws://127.0.0.1:7777');
});

test('refuses what is not a relay URL', () => {
  for (const bad of ['', 'https://git.example.com/x.git', 'relay.example.com', 'wss://', 'wss://user:pw@relay.example.com', 'nonsense']) {
    assert.equal(normalizeRelayUrl(bad), undefined, bad);
  }
});

test('isSelf matches any service host, ports compared, no substring matches', () => {
  const hosts = ['git.example.com', '127.0.0.1:7777'];
  assert.ok(isSelf('wss://git.example.com', hosts));
  assert.ok(isSelf('ws://git.example.com', hosts));
  assert.ok(isSelf('ws://127.0.0.1:7777', hosts));
  assert.ok(!isSelf('ws://127.0.0.1:7778', hosts));
  assert.ok(!isSelf('wss://evil-git.example.com.attacker.net', hosts));
  assert.ok(!isSelf('wss://git.example.com:8443', hosts));
  assert.ok(isSelf('wss://git.example.com', ['GIT.example.com:443']));
});

test('nip11Url maps ws to http', () => {
  assert.equal(nip11Url('wss://a.example/x'), 'https://a.example/x');
  assert.equal(nip11Url('ws://127.0.0.1:9'), 'http://127.0.0.1:9');
});
