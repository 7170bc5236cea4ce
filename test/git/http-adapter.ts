// A minimal node:http server implementing StreamRequest / StreamResponse, for testing GitBackend
// before the transports' streaming routes are on main (then the tests switch to createWsTransport /
// createUwsTransport). Not production code: no CORS, no buffered routes.
import { createServer, type Server } from 'node:http';
import type { HttpRequest, StreamHandler, StreamRequest, StreamResponse } from '../../src/relay/transport.js';

export interface TestServer {
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function startStreamServer(route: (req: HttpRequest) => StreamHandler | undefined): Promise<TestServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const base: HttpRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: url.search.slice(1),
      ip: req.headers['x-test-ip'] !== undefined ? String(req.headers['x-test-ip']) : (req.socket.remoteAddress ?? ''),
      header: (name) => {
        const v = req.headers[name];
        return Array.isArray(v) ? v.join(', ') : (v ?? '');
      },
    };
    const handler = route(base);
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    let ended = false;
    let aborted = false;
    const abortCbs: Array<() => void> = [];
    res.on('close', () => {
      if (!ended && !aborted) {
        aborted = true;
        for (const cb of abortCbs) cb();
      }
    });
    const sreq: StreamRequest = { ...base, body: req };
    const sres: StreamResponse = {
      writeHead: (status, headers) => void res.writeHead(status, headers),
      write: (chunk) => res.write(chunk),
      onDrain: (cb) => void res.on('drain', cb),
      end: (chunk) => {
        ended = true;
        if (chunk === undefined) res.end();
        else res.end(chunk);
      },
      destroy: () => {
        aborted = true;
        res.destroy();
      },
      onAborted: (cb) => void abortCbs.push(cb),
      get aborted() {
        return aborted;
      },
    };
    handler(sreq, sres);
  });
  server.requestTimeout = 0;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    server,
    close: async () => {
      const done = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await done;
    },
  };
}
