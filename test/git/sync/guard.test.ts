// The network guard of git sync (src/git/sync/guard.ts): the table of remote URLs accepted and
// refused, address classification (IPv4, IPv6, IPv4-mapped, NAT64, 6to4), resolution with an
// injected lookup (any forbidden address refuses the host; DNS failure), and the curl pin entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkRemoteUrl,
  curlResolveEntry,
  embeddedIPv4,
  forbiddenReason,
  MAX_URL_BYTES,
  resolveRemote,
  type LookupFn,
  type ResolvedAddress,
} from '../../../src/git/sync/guard.js';

test('checkRemoteUrl: accepted URLs are normalised, host is lower-case host:port with the default port', () => {
  const cases: Array<[string, string, string]> = [
    ['https://Example.COM/npub1x/repo.git', 'https://example.com/npub1x/repo.git', 'example.com:443'],
    ['HTTPS://example.com:8443/r.git#frag', 'https://example.com:8443/r.git', 'example.com:8443'],
    ['http://example.com/r.git', 'http://example.com/r.git', 'example.com:80'],
    ['http://example.com:80/r.git', 'http://example.com/r.git', 'example.com:80'],
    ['http://127.0.0.1:7000/r.git', 'http://127.0.0.1:7000/r.git', '127.0.0.1:7000'],
    ['https://[2606:4700::1]/r.git', 'https://[2606:4700::1]/r.git', '[2606:4700::1]:443'],
    ['https://example.com/a%20b.git?x=1', 'https://example.com/a%20b.git?x=1', 'example.com:443'],
  ];
  for (const [raw, url, host] of cases) {
    const r = checkRemoteUrl(raw, { allowHttp: true });
    assert.ok(r.ok, `${raw} should be accepted: ${JSON.stringify(r)}`);
    assert.equal(r.value.url, url, raw);
    assert.equal(r.value.host, host, raw);
  }
  const v6 = checkRemoteUrl('https://[2606:4700::1]:8443/r', { allowHttp: false });
  assert.ok(v6.ok);
  assert.equal(v6.value.hostname, '2606:4700::1');
  assert.equal(v6.value.port, 8443);
});

test('checkRemoteUrl: everything but plain http(s) without credentials is bad-url', () => {
  const refused = [
    '',
    'file:///etc/passwd',
    'file://localhost/srv/repo.git',
    '/srv/repo.git',
    './repo.git',
    'ext::sh -c touch% /tmp/pwned',
    'ext::sh',
    'fd::17',
    'ssh://git@example.com/r.git',
    'git+ssh://example.com/r.git',
    'git://example.com/r.git',
    'ftp://example.com/r.git',
    'example.com:r.git',
    'git@example.com:owner/r.git',
    '-uhttps://example.com/r.git',
    '--upload-pack=touch /tmp/x',
    'http://user:pw@example.com/r.git',
    'https://user@example.com/r.git',
    'https://:pw@example.com/r.git',
    'https://exa mple.com/r.git',
    'https://example.com/r.git\n',
    'https://example.com/\u0000r.git',
    'https://example.com/\u0085r.git',
    ' https://example.com/r.git',
    'https:example.com/r.git',
    'http:///example.com/r.git',
    'https:\\\\example.com/r.git',
    'https://',
    `https://example.com/${'a'.repeat(MAX_URL_BYTES)}`,
    `https://example.com/${'é'.repeat(MAX_URL_BYTES / 2)}`,
  ];
  for (const raw of refused) {
    const r = checkRemoteUrl(raw, { allowHttp: true });
    assert.equal(r.ok, false, `${JSON.stringify(raw)} should be refused`);
    if (!r.ok) {
      assert.equal(r.failure.cls, 'bad-url', raw);
      assert.ok(!r.failure.message.includes('\n') && !r.failure.message.includes('\u0000'), `one printable line for ${JSON.stringify(raw)}`);
      assert.ok(!r.failure.message.includes('pw@'), 'credentials are not echoed');
    }
  }
  // just under the limit passes
  assert.ok(checkRemoteUrl(`https://example.com/${'a'.repeat(MAX_URL_BYTES - 'https://example.com/'.length)}`, { allowHttp: false }).ok);
});

test('checkRemoteUrl: http is refused when allowHttp is off, https still passes', () => {
  const r = checkRemoteUrl('http://example.com/r.git', { allowHttp: false });
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.failure.message, /syncAllowHttp/);
  assert.ok(checkRemoteUrl('https://example.com/r.git', { allowHttp: false }).ok);
});

test('forbiddenReason: the address table (IPv4, IPv6, mapped, NAT64, 6to4)', () => {
  const forbidden: Array<[string, RegExp]> = [
    ['127.0.0.1', /loopback/],
    ['127.255.1.2', /loopback/],
    ['10.1.2.3', /private/],
    ['172.16.0.1', /private/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private/],
    ['100.64.0.1', /shared/],
    ['169.254.169.254', /link-local/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['0.0.0.0', /unspecified/],
    ['255.255.255.255', /reserved/],
    ['240.0.0.1', /reserved/],
    ['198.18.0.1', /benchmarking/],
    ['192.0.2.1', /documentation/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['fc00::1', /private/],
    ['fd12:3456::1', /private/],
    ['ff02::1', /multicast/],
    ['2001:db8::1', /documentation/],
    ['2001:2::1', /reserved/],
    ['::ffff:127.0.0.1', /loopback/],
    ['::ffff:7f00:1', /loopback/],
    ['::FFFF:10.0.0.1', /private/],
    ['::ffff:169.254.169.254', /link-local/],
    ['64:ff9b::127.0.0.1', /loopback/],
    ['64:ff9b::c0a8:101', /private/],
    ['64:ff9b:1::1', /NAT64/],
    ['2002:7f00:1::1', /loopback/],
    ['2002:a00:1::', /private/],
    ['::127.0.0.1', /IPv4-compatible/],
  ];
  for (const [addr, why] of forbidden) assert.match(forbiddenReason(addr) ?? 'ALLOWED', why, addr);
  const allowed = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '192.169.0.1', '2606:4700::1111', '2a00:1450::1', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'];
  for (const addr of allowed) assert.equal(forbiddenReason(addr), undefined, addr);
  assert.equal(embeddedIPv4('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(embeddedIPv4('64:ff9b::102:304'), '1.2.3.4');
  assert.equal(embeddedIPv4('2002:102:304::'), '1.2.3.4');
  assert.equal(embeddedIPv4('2606:4700::1'), undefined);
});

const fixed =
  (map: Record<string, ResolvedAddress[]>): LookupFn =>
  async (host) => {
    const r = map[host];
    if (r === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return r;
  };

test('resolveRemote: every address is checked, one forbidden address refuses the host', async () => {
  const lookup = fixed({
    'good.example': [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }],
    'mixed.example': [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.5', family: 4 }],
    'mapped.example': [{ address: '::ffff:127.0.0.1', family: 6 }],
    'empty.example': [],
  });
  const good = await resolveRemote('good.example', { allowPrivate: false, lookup });
  assert.ok(good.ok);
  assert.equal(good.value.length, 2);
  const mixed = await resolveRemote('mixed.example', { allowPrivate: false, lookup });
  assert.ok(!mixed.ok && mixed.failure.cls === 'forbidden-address');
  if (!mixed.ok) assert.match(mixed.failure.message, /10\.0\.0\.5.*private/);
  const mapped = await resolveRemote('mapped.example', { allowPrivate: false, lookup });
  assert.ok(!mapped.ok && mapped.failure.cls === 'forbidden-address');
  // allowPrivate: the addresses come back unchecked (tests on loopback)
  const allowed = await resolveRemote('mixed.example', { allowPrivate: true, lookup });
  assert.ok(allowed.ok);
  const nx = await resolveRemote('nx.example', { allowPrivate: false, lookup });
  assert.ok(!nx.ok && nx.failure.cls === 'dns');
  if (!nx.ok) assert.match(nx.failure.message, /ENOTFOUND/);
  const empty = await resolveRemote('empty.example', { allowPrivate: false, lookup });
  assert.ok(!empty.ok && empty.failure.cls === 'dns');
});

test('resolveRemote: address literals are not looked up and are classified themselves', async () => {
  const lookup: LookupFn = () => Promise.reject(new Error('lookup must not be called for a literal'));
  const v4 = await resolveRemote('127.0.0.1', { allowPrivate: false, lookup });
  assert.ok(!v4.ok && v4.failure.cls === 'forbidden-address');
  const v6 = await resolveRemote('[::1]', { allowPrivate: false, lookup });
  assert.ok(!v6.ok && v6.failure.cls === 'forbidden-address');
  const pub = await resolveRemote('2606:4700::1', { allowPrivate: false, lookup });
  assert.ok(pub.ok);
  assert.deepEqual(pub.value, [{ address: '2606:4700::1', family: 6 }]);
});

test('resolveRemote: localhost through the real resolver is refused', async () => {
  const r = await resolveRemote('localhost', { allowPrivate: false });
  assert.ok(!r.ok);
  if (!r.ok) assert.ok(r.failure.cls === 'forbidden-address' || r.failure.cls === 'dns', r.failure.message);
});

test('curlResolveEntry: host:port:addr[,addr], IPv6 bracketed, nothing for a literal', () => {
  assert.equal(
    curlResolveEntry('git.example', 443, [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]),
    'git.example:443:93.184.216.34,[2606:2800:220:1::1]',
  );
  assert.equal(curlResolveEntry('127.0.0.1', 80, [{ address: '127.0.0.1', family: 4 }]), undefined);
  assert.equal(curlResolveEntry('::1', 80, [{ address: '::1', family: 6 }]), undefined);
});
