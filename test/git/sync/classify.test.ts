// Failure classification of git sync fetches (src/git/sync/classify.ts): git's and curl's stderr as
// git 2.39+ prints it, mapped to FetchErrorClass with one printable line; the URL git quotes back
// never decides the class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyGitFailure, oneLine } from '../../../src/git/sync/classify.js';

test('classifyGitFailure: the table of git/curl messages', () => {
  const cases: Array<[string, string, number?]> = [
    ["fatal: unable to access 'https://nx.example/r.git/': Could not resolve host: nx.example\n", 'dns'],
    ["fatal: unable to access 'https://h/r.git/': SSL certificate problem: self-signed certificate\n", 'tls'],
    ["fatal: unable to access 'https://h/r.git/': gnutls_handshake() failed: The TLS connection was non-properly terminated.\n", 'tls'],
    ["fatal: unable to access 'http://127.0.0.1:9/r.git/': Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server\n", 'refused'],
    ["fatal: unable to access 'https://h/r.git/': Recv failure: Connection reset by peer\n", 'refused'],
    ["fatal: unable to access 'https://h/r.git/': Operation too slow. Less than 1000 bytes/sec transferred the last 1 seconds\n", 'timeout'],
    ["fatal: unable to access 'https://h/r.git/': Failed to connect to h port 443 after 130000 ms: Connection timed out\n", 'timeout'],
    ["fatal: repository 'https://h/r.git/' not found\n", 'not-found', 404],
    ["fatal: unable to access 'https://h/r.git/': The requested URL returned error: 404\n", 'not-found', 404],
    ["fatal: unable to access 'https://h/r.git/': The requested URL returned error: 503\n", 'http', 503],
    ["fatal: unable to access 'https://h/r.git/': The requested URL returned error: 403\n", 'http', 403],
    ['error: RPC failed; HTTP 500 curl 22 The requested URL returned error: 500\nfatal: expected flush after ref listing\n', 'http', 500],
    ['error: object 0123: badTimezone: invalid author/committer line - bad time zone\nfatal: fsck error in packed object\nfatal: index-pack failed\n', 'protocol'],
    ['fatal: protocol error: bad pack header\n', 'protocol'],
    ['fatal: early EOF\nfatal: index-pack failed\n', 'protocol'],
    ['error: RPC failed; curl 18 transfer closed with outstanding read data remaining\nfatal: early EOF\n', 'protocol'],
    ["fatal: could not read Username for 'https://h': terminal prompts disabled\n", 'http', 401],
    ["fatal: Authentication failed for 'https://h/r.git/'\n", 'http', 401],
    ['fatal: something nobody expected\n', 'git'],
  ];
  for (const [stderr, cls, status] of cases) {
    const f = classifyGitFailure(128, stderr);
    assert.equal(f.cls, cls, stderr);
    assert.equal(f.status, status, stderr);
    assert.ok(f.message.length > 0 && !f.message.includes('\n') && f.message.length <= 200, f.message);
  }
});

test('classifyGitFailure: words in the URL do not decide the class', () => {
  assert.equal(classifyGitFailure(128, "fatal: unable to access 'https://tls.example/fsck.git/': Could not resolve host: tls.example\n", 'tls.example').cls, 'dns');
  assert.equal(classifyGitFailure(128, "fatal: unable to access 'https://ssl-timeout.example/r.git/': Failed to connect to ssl-timeout.example port 443: Connection refused\n", 'ssl-timeout.example').cls, 'refused');
  assert.equal(classifyGitFailure(128, "fatal: repository 'https://h/refused-tls.git/' not found\n").cls, 'not-found');
});

test('oneLine: the summarising line, control characters stripped, hints dropped, capped', () => {
  assert.equal(oneLine('hint: do this\nfatal: the real \u001b[31mproblem\u001b[0m\n'), 'the real [31mproblem [0m');
  assert.equal(oneLine('remote: junk\nremote: more junk\r\n'), 'remote: more junk');
  assert.equal(oneLine(`fatal: ${'x'.repeat(500)}`).length, 200);
  assert.equal(classifyGitFailure(null, '').message, 'git fetch exited with a signal');
});
