// Streamed HTTP routes and CORS in both transports (uWS and node:http + ws), driven through a tiny
// TransportCallbacks: raw request paths, a 5 MB echo under backpressure, chunked and tiny bodies,
// client aborts, and the CORS headers on every kind of response.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import WebSocket from 'ws';
import { createUwsTransport } from '../../src/relay/transport-uws.js';
import { createWsTransport } from '../../src/relay/transport-ws.js';
import {
  CORS_HEADERS,
  notFound,
  type HttpRequest,
  type HttpResponse,
  type StreamHandler,
  type StreamRequest,
  type Transport,
  type TransportCallbacks,
} from '../../src/relay/transport.js';
import { skipWithoutUws, startTestRelay } from '../helpers/relay.js';
import { waitFor } from '../helpers/wait.js';

const OPTS = { maxPayloadBytes: 1 << 20, maxBackpressureBytes: 1 << 20, idleTimeoutSeconds: 60, trustProxy: false };

interface Probe {
  /** stats of the echo route */
  echo: { writeFalse: number; drains: number; maxBodyBuffered: number; written: number };
  /** chunks the /count route has received so far */
  counted: number;
  aborts: number;
  /** errors thrown by calls made on a response after the client went away */
  afterAbortErrors: unknown[];
  afterAbortWrite: boolean | undefined;
  bodyClosed: number;
  refuse: boolean;
  /** the body of the latest /hold request (not read until the test resumes it) */
  held?: StreamRequest['body'];
}

function callbacks(p: Probe): TransportCallbacks {
  const echo: StreamHandler = (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.onDrain(() => {
      p.echo.drains++;
      req.body.resume();
    });
    // how much of the request body the transport read ahead while the echo was blocked
    const sample = setInterval(() => (p.echo.maxBodyBuffered = Math.max(p.echo.maxBodyBuffered, req.body.readableLength)), 2);
    req.body.on('close', () => clearInterval(sample));
    req.body.on('data', (c: Buffer) => {
      p.echo.written += c.length;
      if (!res.write(c)) {
        p.echo.writeFalse++;
        req.body.pause();
      }
    });
    req.body.on('end', () => res.end());
  };
  const count: StreamHandler = (req, res) => {
    const hash = createHash('sha256');
    let n = 0;
    req.body.on('data', (c: Buffer) => {
      p.counted++;
      n += c.length;
      hash.update(c);
    });
    req.body.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-route': 'count' });
      res.end(`${n} ${hash.digest('hex')}`);
    });
  };
  const forever: StreamHandler = (req, res) => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let timer: NodeJS.Timeout | undefined;
    const pump = (): void => {
      while (!res.aborted && res.write(chunk));
      if (!res.aborted) timer = setTimeout(pump, 5);
    };
    req.body.on('close', () => p.bodyClosed++);
    res.onAborted(() => {
      p.aborts++;
      clearTimeout(timer);
      try {
        p.afterAbortWrite = res.write(chunk);
        res.end('late');
        res.destroy();
      } catch (e) {
        p.afterAbortErrors.push(e);
      }
    });
    res.writeHead(200, {});
    pump();
  };
  const hold: StreamHandler = (req, res) => {
    p.held = req.body;
    let n = 0;
    req.body.pause();
    req.body.on('data', (c: Buffer) => (n += c.length));
    req.body.on('end', () => res.end(String(n)));
  };
  const routes: Record<string, StreamHandler> = {
    '/hold': hold,
    '/echo': echo,
    '/count': count,
    '/forever': forever,
    '/stream-throws': () => {
      throw new Error('boom');
    },
    '/stream-empty': (req, res) => {
      let n = 0;
      req.body.on('data', (c: Buffer) => (n += c.length));
      req.body.on('end', () => res.end(`got ${n}`));
    },
  };
  return {
    admit: () => (p.refuse ? 'too many connections' : true),
    open: () => ({ message() {}, drain() {}, closed() {} }),
    stream: (req) => routes[req.path],
    http(req: HttpRequest): HttpResponse | Promise<HttpResponse> {
      if (req.path === '/throws') return Promise.reject(new Error('boom'));
      if (req.path === '/post-only') return { status: 405, headers: { allow: 'POST' }, body: 'method not allowed\n' };
      if (req.path === '/ok') return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'ok' };
      if (req.path.startsWith('/raw')) return { status: 200, headers: {}, body: JSON.stringify({ path: req.path, query: req.query }) };
      return notFound();
    },
  };
}

const newProbe = (): Probe => ({
  echo: { writeFalse: 0, drains: 0, maxBodyBuffered: 0, written: 0 },
  counted: 0,
  aborts: 0,
  afterAbortErrors: [],
  afterAbortWrite: undefined,
  bodyClosed: 0,
  refuse: false,
});

async function withTransport(kind: 'uws' | 'ws', fn: (port: number, p: Probe) => Promise<void>): Promise<void> {
  const p = newProbe();
  const t: Transport = (kind === 'uws' ? createUwsTransport : createWsTransport)(OPTS, callbacks(p));
  const port = await t.listen('127.0.0.1', 0);
  try {
    await fn(port, p);
  } finally {
    await t.close();
  }
}

/** Send a request exactly as written (no client-side normalisation) and return the raw response. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts).toString('latin1')));
    s.on('error', reject);
  });
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/**
 * A request with node:http (keep-alive agent: connections are reused after streamed responses);
 * `send` writes the body (then the request is ended).
 */
function call(port: number, method: string, path: string, send?: (req: ReturnType<typeof httpRequest>) => Promise<void>, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (send) send(req).then(() => req.end(), reject);
    else req.end();
  });
}

function assertCors(headers: IncomingMessage['headers'], what: string): void {
  for (const [k, v] of Object.entries(CORS_HEADERS)) assert.equal(headers[k], v, `${what}: ${k}`);
}

for (const kind of ['uws', 'ws'] as const) {
  test(`${kind}: the request path is the raw path as sent, split at the first '?'`, { skip: skipWithoutUws(kind) }, async () => {
    await withTransport(kind, async (port) => {
      for (const [target, path, query] of [
        ['/raw/x/..%2F..%2Fy', '/raw/x/..%2F..%2Fy', ''],
        ['/raw/a/../b?q=1?r=%2e', '/raw/a/../b', 'q=1?r=%2e'],
        ['/raw/a/%2e%2e/b', '/raw/a/%2e%2e/b', ''],
        ['/raw/a//b/./c/', '/raw/a//b/./c/', ''],
      ] as const) {
        const text = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        assert.match(text, /^HTTP\/1\.1 200/, target);
        const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { path: string; query: string };
        assert.deepEqual(body, { path, query }, target);
      }
    });
  });

  test(`${kind}: a 5 MB body streams back through the echo route with backpressure both ways`, { skip: skipWithoutUws(kind) }, async () => {
    await withTransport(kind, async (port, p) => {
      const payload = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
      const got = await new Promise<Buffer>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/echo', headers: { 'content-length': String(payload.length) } }, (res) => {
          assert.equal(res.statusCode, 200);
          assertCors(res.headers, 'streamed 200');
          // a slow reader: stop reading until the server has blocked on backpressure
          res.pause();
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve(Buffer.concat(parts)));
          res.on('error', reject);
          // blocked: nothing more is written for a while (the kernel buffers are full too)
          let last = -1;
          waitFor(() => p.echo.writeFalse > 0, 20_000, 'write() returning false')
            .then(() =>
              waitFor(
                () => {
                  const still = p.echo.written === last;
                  last = p.echo.written;
                  return still;
                },
                20_000,
                'the echo to stall',
              ),
            )
            .then(() => new Promise((r) => setTimeout(r, 100)))
            .then(() => res.resume(), reject);
        });
        req.on('error', reject);
        req.end(payload);
      });
      assert.equal(got.length, payload.length);
      assert.ok(got.equals(payload), 'echoed bytes differ');
      assert.ok(p.echo.writeFalse > 0 && p.echo.drains > 0, `write false ${p.echo.writeFalse}, drains ${p.echo.drains}`);
      // node:http does not read the request ahead while the echo is blocked; uWS cannot pause reading
      // while a write waits for a drain (http-uws.ts), so it reads ahead up to its limit there
      if (kind === 'ws') assert.ok(p.echo.maxBodyBuffered < 1024 * 1024, `request body buffered up to ${p.echo.maxBodyBuffered} bytes`);
    });
  });

  test(`${kind}: a route that does not read the body stops the transport reading the network`, { skip: skipWithoutUws(kind) }, async () => {
    await withTransport(kind, async (port, p) => {
      const size = 32 * 1024 * 1024;
      const reply = call(port, 'POST', '/hold', async (req) => {
        req.setHeader('content-length', String(size));
        req.write(Buffer.alloc(size, 0x64));
      });
      await waitFor(() => p.held !== undefined && p.held.readableLength > 0, 20_000, 'the body to start');
      let last = -1;
      await waitFor(
        () => {
          const still = p.held?.readableLength === last;
          last = p.held?.readableLength ?? -1;
          return still;
        },
        20_000,
        'reading to stop',
      );
      await new Promise((r) => setTimeout(r, 200));
      const held = p.held?.readableLength ?? 0;
      assert.ok(held < 2 * 1024 * 1024, `the transport read ${held} bytes ahead of the route`);
      p.held?.resume();
      const r = await reply;
      assert.equal(r.body.toString(), String(size));
    });
  });

  test(`${kind}: a chunked request body arrives as it is sent; a 4-byte body and an empty GET end`, { skip: skipWithoutUws(kind) }, async () => {
    await withTransport(kind, async (port, p) => {
      const pieces = [Buffer.from('first piece '), Buffer.alloc(100_000, 0x62), Buffer.from('last')];
      const all = Buffer.concat(pieces);
      const r = await call(port, 'POST', '/count', async (req) => {
        req.setHeader('transfer-encoding', 'chunked');
        for (const piece of pieces) {
          const before = p.counted;
          req.write(piece);
          // the route saw this piece before the next one is sent: the body is streamed
          await waitFor(() => p.counted > before, 10_000, 'the piece to reach the route');
        }
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-route'], 'count');
      assertCors(r.headers, 'streamed end()');
      assert.equal(r.body.toString(), `${all.length} ${createHash('sha256').update(all).digest('hex')}`);

      const small = await call(port, 'POST', '/echo', async (req) => {
        req.setHeader('content-length', '4');
        req.write('abcd');
      });
      assert.equal(small.status, 200);
      assert.equal(small.body.toString(), 'abcd');

      const empty = await call(port, 'GET', '/stream-empty');
      assert.equal(empty.status, 200);
      assert.equal(empty.body.toString(), 'got 0');
      assertCors(empty.headers, 'streamed end() without writeHead');
    });
  });

  test(`${kind}: a client that goes away mid-response fires onAborted once; calls after it are harmless`, { skip: skipWithoutUws(kind) }, async () => {
    await withTransport(kind, async (port, p) => {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/forever', headers: { 'content-length': '1000000' } }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => {});
        req.write(Buffer.alloc(1000, 0x63)); // part of the promised body: the body is cut short too
        setTimeout(() => reject(new Error('no response')), 20_000).unref();
      });
      await waitFor(() => p.aborts > 0 && p.bodyClosed > 0, 20_000, 'onAborted and the body closed');
      assert.equal(p.aborts, 1);
      assert.deepEqual(p.afterAbortErrors, []);
      assert.equal(p.afterAbortWrite, false);
      // the server is still fine
      assert.equal((await call(port, 'GET', '/ok')).body.toString(), 'ok');
    });
  });

  test(`${kind}: CORS on every response: 200, 404, 405, streamed, 500s, OPTIONS 204, the 429 WebSocket refusal`, { skip: skipWithoutUws(kind) }, async () => {
    await withTransport(kind, async (port, p) => {
      const ok = await call(port, 'GET', '/ok');
      assert.equal(ok.status, 200);
      assertCors(ok.headers, '200');
      assert.equal(ok.headers['content-type'], 'text/plain');
      const missing = await call(port, 'GET', '/nothing-here');
      assert.equal(missing.status, 404);
      assertCors(missing.headers, '404');
      const wrong = await call(port, 'GET', '/post-only');
      assert.equal(wrong.status, 405);
      assert.equal(wrong.headers.allow, 'POST');
      assertCors(wrong.headers, '405');
      const thrown = await call(port, 'GET', '/throws');
      assert.equal(thrown.status, 500);
      assertCors(thrown.headers, 'rejected handler 500');
      const streamThrown = await call(port, 'POST', '/stream-throws', async (req) => {
        req.write('x');
      });
      assert.equal(streamThrown.status, 500);
      assertCors(streamThrown.headers, 'thrown stream handler 500');
      for (const path of ['/', '/echo', '/npub1x/repo.git/info/refs']) {
        const pre = await call(port, 'OPTIONS', path, undefined, { 'access-control-request-method': 'POST', origin: 'https://example.org' });
        assert.equal(pre.status, 204, path);
        assert.equal(pre.body.length, 0, path);
        assertCors(pre.headers, `OPTIONS ${path}`);
      }
      p.refuse = true;
      const refused = await new Promise<IncomingMessage>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
        ws.on('unexpected-response', (_req, res) => {
          resolve(res);
          ws.terminate();
        });
        ws.on('open', () => reject(new Error('upgrade was admitted')));
        ws.on('error', () => {});
      });
      assert.equal(refused.statusCode, 429);
      assertCors(refused.headers, '429 WebSocket refusal');
    });
  });
}

test('the relay: CORS on the home page, NIP-11 and any OPTIONS', async () => {
  const relay = await startTestRelay();
  try {
    const home = await fetch(`http://127.0.0.1:${relay.port}/`);
    assert.equal(home.status, 200);
    await home.text();
    for (const [k, v] of Object.entries(CORS_HEADERS)) assert.equal(home.headers.get(k), v, `home page ${k}`);
    const pre = await fetch(`http://127.0.0.1:${relay.port}/some/repo.git/info/refs`, { method: 'OPTIONS' });
    assert.equal(pre.status, 204);
    assert.equal(await pre.text(), '');
    assert.equal(pre.headers.get('access-control-allow-methods'), 'GET, POST, OPTIONS');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /\bContent-Type\b.*\bGit-Protocol\b/);
  } finally {
    await relay.destroy();
  }
});
