// Tests of URL normalisation and service-host matching (src/policy/urls.ts): default ports,
// trailing slashes, case, IPv6, and hosts that merely contain ours as a substring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeServiceUrl } from '../../src/policy/index.js';
import { parseHostSpec, urlIsService, type HostSpec } from '../../src/policy/urls.js';

test('normalizeServiceUrl: comparison form', () => {
  const cases: Array<[string, string | undefined]> = [
    ['wss://Relay.Example.COM/', 'wss://relay.example.com'],
    ['wss://relay.example.com:443', 'wss://relay.example.com'],
    ['ws://relay.example.com:80/', 'ws://relay.example.com'],
    ['ws://relay.example.com:443/', 'ws://relay.example.com:443'],
    ['wss://relay.example.com:7777//', 'wss://relay.example.com:7777'],
    ['https://git.example.com/npub1abc/repo.git/', 'https://git.example.com/npub1abc/repo.git'],
    ['HTTPS://GIT.example.com:443/x', 'https://git.example.com/x'],
    ['http://127.0.0.1:7777', 'http://127.0.0.1:7777'],
    ['ws://[::1]:7777/', 'ws://[::1]:7777'],
    ['wss://user:pw@relay.example.com/#frag', 'wss://relay.example.com'],
    ['wss://relay.example.com/?a=1', 'wss://relay.example.com?a=1'],
    ['  wss://relay.example.com  ', 'wss://relay.example.com'],
    ['wss://relay.example.com.', 'wss://relay.example.com'],
    ['not a url', undefined],
    ['relay.example.com', undefined],
    ['', undefined],
    ['mailto:someone@example.com', undefined],
  ];
  for (const [input, want] of cases) {
    assert.equal(normalizeServiceUrl(input), want, input);
    if (want !== undefined) assert.equal(normalizeServiceUrl(want), want, `idempotent: ${want}`);
  }
});

test('parseHostSpec: host with and without port', () => {
  assert.deepEqual(parseHostSpec('git.example.com'), { hostname: 'git.example.com', port: undefined });
  assert.deepEqual(parseHostSpec('Git.Example.com:8443'), { hostname: 'git.example.com', port: '8443' });
  assert.deepEqual(parseHostSpec('127.0.0.1:7777'), { hostname: '127.0.0.1', port: '7777' });
  assert.deepEqual(parseHostSpec('[::1]:7777'), { hostname: '[::1]', port: '7777' });
  assert.deepEqual(parseHostSpec('git.example.com:443'), { hostname: 'git.example.com', port: '443' });
  assert.deepEqual(parseHostSpec('https://git.example.com/'), { hostname: 'git.example.com', port: undefined });
  assert.equal(parseHostSpec(''), undefined);
  assert.equal(parseHostSpec('   '), undefined);
});

test('urlIsService: parsed host[:port], never a substring', () => {
  const hosts: HostSpec[] = [parseHostSpec('git.example.com')!, parseHostSpec('127.0.0.1:7777')!];
  const web = ['http:', 'https:'];
  const yes = [
    'https://git.example.com/npub1x/r.git',
    'https://GIT.EXAMPLE.COM/npub1x/r.git',
    'https://git.example.com:443/npub1x/r.git',
    'http://git.example.com/r.git',
    'https://git.example.com./r.git',
    'http://127.0.0.1:7777/npub1x/r.git',
    'https://git%2Eexample.com/r.git', // WHATWG URL decodes percent-encoded hosts
  ];
  const no = [
    'https://evil-git.example.com.attacker.net/r.git',
    'https://git.example.com.evil.net/r.git',
    'https://evilgit.example.com/r.git',
    'https://sub.git.example.com/r.git',
    'https://attacker.net/git.example.com/r.git',
    'https://git.example.com@attacker.net/r.git',
    'https://attacker.net/?u=https://git.example.com',
    'https://git.example.com:8443/r.git',
    'http://127.0.0.1/r.git',
    'http://127.0.0.1:7778/r.git',
    'ssh://git.example.com/r.git',
    'git@git.example.com:r.git',
    'wss://git.example.com',
  ];
  for (const u of yes) assert.equal(urlIsService(u, web, hosts), true, u);
  for (const u of no) assert.equal(urlIsService(u, web, hosts), false, u);

  const ws = ['ws:', 'wss:'];
  assert.equal(urlIsService('wss://git.example.com/', ws, hosts), true);
  assert.equal(urlIsService('ws://127.0.0.1:7777', ws, hosts), true);
  assert.equal(urlIsService('wss://git.example.com.evil.net', ws, hosts), false);
  assert.equal(urlIsService('https://git.example.com', ws, hosts), false);

  // An explicit port in the config matches the same effective port only.
  const tls: HostSpec[] = [parseHostSpec('git.example.com:443')!];
  assert.equal(urlIsService('wss://git.example.com', ws, tls), true);
  assert.equal(urlIsService('wss://git.example.com:443/', ws, tls), true);
  assert.equal(urlIsService('ws://git.example.com', ws, tls), false);
});
