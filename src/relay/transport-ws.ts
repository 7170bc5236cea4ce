// Pure-JS transport on node:http + the `ws` package, for Node versions and libcs no uWS build
// loads on. Same behaviour as transport-uws.ts. HTTP requests (buffered and streamed routes, CORS)
// are served by http-node.ts; no request timeout, so slow links work here. WebSocket sends are
// corked per burst (the frames of one REQ or one fan-out leave in one write, as uWS does), received
// frames are decoded without a copy, and `ws` unmasks with bufferutil's prebuilt binary when it loads.
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { eventFrame } from '../live/frames.js';
import { scheduleFlush } from './send-batch.js';
import {
  forwardedIp,
  type Socket,
  type Transport,
  type TransportCallbacks,
  type TransportOptions,
  withCors,
} from './transport.js';
import { serveNodeHttp } from './http-node.js';

const CLOSE_GRACE_MS = 2000;
/** every frame the relay sends is text, also when handed over as UTF-8 bytes */
const TEXT = { binary: false } as const;

export function createWsTransport(opts: TransportOptions, cb: TransportCallbacks): Transport {
  const ipOf = (req: IncomingMessage): string => {
    const direct = req.socket.remoteAddress ?? '';
    const h = req.headers['x-forwarded-for'];
    return opts.trustProxy && typeof h === 'string' ? forwardedIp(h, direct) : direct;
  };
  // requestTimeout 0: node:http would kill a request body still arriving after 300 s (a slow push);
  // the git timeouts bound streamed requests instead. Headers must still arrive within 60 s.
  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => serveNodeHttp(req, res, cb, ipOf(req)));
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayloadBytes, perMessageDeflate: false });
  server.on('upgrade', (req, sock, head) => {
    const ip = ipOf(req);
    const admitted = cb.admit(ip);
    if (admitted !== true) {
      const headers = Object.entries(withCors({ 'content-type': 'text/plain', connection: 'close' }))
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      sock.end(`HTTP/1.1 429 Too Many Requests\r\n${headers}content-length: ${Buffer.byteLength(admitted)}\r\n\r\n${admitted}`);
      return;
    }
    wss.handleUpgrade(req, sock, head, (ws) => attach(ws, sock, ip));
  });

  /** `raw`: the TCP socket under `ws` (corked while a burst of frames is queued) */
  function attach(ws: WebSocket, raw: Duplex, ip: string): void {
    ws.binaryType = 'nodebuffer';
    let closed = false;
    // A burst of sends is written with the TCP socket corked (one writev, send-batch.ts). Its
    // last frame is held back and sent at the flush with the one write callback of the burst,
    // which reports the drain once the kernel has taken everything.
    let held: string | Uint8Array | undefined;
    const written = (err?: Error | null): void => {
      if (!err && !closed && ws.bufferedAmount === 0) handler.drain();
    };
    const flush = (): void => {
      const last = held;
      held = undefined;
      if (last !== undefined && !closed) ws.send(last, TEXT, written);
      raw.uncork();
    };
    const socket: Socket = {
      ip,
      // ws holds a frame's buffer until the socket has written it: a buffer of its own, so a slow
      // reader does not keep a slab of other sockets' frames alive
      sendEventFrame(head, body) {
        socket.send(eventFrame(head, body));
      },
      send(text) {
        if (closed) return;
        if (ws.bufferedAmount > opts.maxBackpressureBytes) {
          socket.close(1008, 'send buffer full');
          return;
        }
        if (held === undefined) {
          raw.cork();
          scheduleFlush(flush);
        } else ws.send(held, TEXT);
        held = text;
      },
      bufferedAmount: () => ws.bufferedAmount + (held?.length ?? 0),
      close(code, reason) {
        if (closed) return;
        if (held !== undefined) {
          ws.send(held, TEXT);
          held = undefined;
        }
        closed = true;
        ws.close(code, reason);
        // a peer that does not read never answers the close handshake: do not wait on it
        setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
      },
    };
    const handler = cb.open(socket);
    let alive = true;
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, opts.idleTimeoutSeconds * 1000);
    ping.unref();
    ws.on('pong', () => (alive = true));
    // binaryType 'nodebuffer' (the default): one Buffer per message, reassembled by ws; decoded in place
    ws.on('message', (data, isBinary) => {
      alive = true;
      if (isBinary) return;
      const buf = data as Buffer;
      handler.message(buf.toString('utf8'), buf.length);
    });
    closeWithReason(ws, opts.maxPayloadBytes);
    ws.on('close', () => {
      clearInterval(ping);
      closed = true;
      handler.closed();
    });
    ws.on('error', () => ws.terminate());
  }

  return {
    name: 'ws',
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const addr = server.address();
          resolve(typeof addr === 'object' && addr ? addr.port : port);
        });
      });
    },
    async close() {
      for (const ws of wss.clients) {
        ws.close(1001, 'relay shutting down');
        ws.terminate();
      }
      const done = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await done;
    },
  };
}

/**
 * ws closes a socket whose frame is over maxPayload (1009) or whose text is not UTF-8 (1007) with
 * the code only; a client is owed the reason. Its receiver reports the error to a listener that
 * closes with the bare code, so ours runs first (ws's later close() is then a no-op).
 */
function closeWithReason(ws: WebSocket, maxPayloadBytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { prependListener?: (ev: 'error', f: (e: Error & { code?: string }) => void) => void } })._receiver;
  receiver?.prependListener?.('error', (err) => {
    if (ws.readyState !== ws.OPEN) return;
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') ws.close(1009, `message too big: the limit is ${maxPayloadBytes} bytes`);
    else if (err.code === 'WS_ERR_INVALID_UTF8') ws.close(1007, 'invalid UTF-8 in a text message');
  });
}
