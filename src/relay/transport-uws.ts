// uWebSockets.js transport: whichever uWS build uws-loader.ts finds loadable on this Node and libc.
// Owns the uWS app, the listen socket and the per-socket glue; knows nothing of Nostr.
// HTTP requests (buffered and streamed routes, CORS) are served by http-uws.ts.
// Timeouts uWS imposes, with no setting in uWS.js: a request whose body stalls for about 10 s and a
// response the client does not drain for about 10 s are aborted (server-side silence is fine).
// Ordinary git clients keep bytes moving; for very slow links set `server.transport = "ws"`.
// uWS pause() stops the socket in both directions, so a streamed request body is paused only
// while no response write waits for a drain; read-ahead beyond 16 MB then cuts the client off
// (only a client that sends without reading its response gets there; git clients do not).
// Close codes: uWS drops a socket whose message is over its maxPayloadLength, or whose text is not
// UTF-8, without a close frame (the client sees 1006) and with no hook. So uWS's own limit is set
// above the transport's (uwsPayloadLength) and a message over the transport's limit is ended here
// with 1009 and a reason, as the ws transport does; only a message past uWS's own limit still sees
// 1006. Invalid UTF-8 is checked by uWS before any handler runs: no 1007 is possible with uWS.
// Known quirk: a port first bound as port 0 (ephemeral) cannot be bound again by uWS while
// connections from that run are in TIME-WAIT (~60 s); a fixed port, as in production, can. Tests
// that restart a relay on the same port pick a fixed port or use the ws transport.
import type * as UWS from 'uWebSockets.js';
import { FrameSlab } from '../live/frames.js';
import { scheduleFlush } from './send-batch.js';
import {
  forwardedIp,
  statusLine,
  type Socket,
  type SocketHandler,
  type Transport,
  type TransportCallbacks,
  type TransportOptions,
  withCors,
} from './transport.js';
import { serveUwsHttp } from './http-uws.js';
import { requireUws, type UwsModule } from './uws-loader.js';

interface UserData {
  ip: string;
  handler?: SocketHandler;
  socket?: Socket;
  /** set once uWS reports the close, or we ended the socket: never touch ws after that */
  closed?: boolean;
  /** bytes in uWS's send buffer at the last flush or drain */
  queued?: number;
}

const decoder = new TextDecoder();
/** the most uWS buffers for one message beyond the transport's limit (a bound on memory per socket) */
const MAX_MARGIN_BYTES = 8 * 1024 * 1024;

/**
 * uWS's own maxPayloadLength: four times the transport's limit, at most 8 MiB over it, so that a
 * message somewhat over the limit reaches the handler, which ends the socket with 1009 and a reason.
 */
export function uwsPayloadLength(maxPayloadBytes: number): number {
  return maxPayloadBytes + Math.min(3 * maxPayloadBytes, MAX_MARGIN_BYTES);
}
/** uWS ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT */
const LISTEN_EXCLUSIVE_PORT = 1;

/** `uws`: the module to use (as chosen by chooseTransport); by default the build the loader finds. */
export function createUwsTransport(opts: TransportOptions, cb: TransportCallbacks, uws: UwsModule = requireUws()): Transport {
  const app = uws.App();
  const open = new Set<UWS.WebSocket<UserData>>();
  let listenSocket: UWS.us_listen_socket | null = null;
  // live frames of all sockets, built back to back (frames.ts); reused once no frame built in it
  // waits in any socket's pending list
  const slab = new FrameSlab();
  let queuedFrames = 0;

  app.ws<UserData>('/*', {
    maxPayloadLength: uwsPayloadLength(opts.maxPayloadBytes),
    maxBackpressure: opts.maxBackpressureBytes,
    closeOnBackpressureLimit: 1,
    idleTimeout: opts.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    upgrade(res, req, context) {
      let ip = decoder.decode(res.getRemoteAddressAsText());
      if (opts.trustProxy) ip = forwardedIp(req.getHeader('x-forwarded-for'), ip);
      const admitted = cb.admit(ip);
      if (admitted !== true) {
        res.writeStatus(statusLine(429));
        for (const [k, v] of Object.entries(withCors({ 'content-type': 'text/plain' }))) res.writeHeader(k, v);
        res.end(admitted);
        return;
      }
      res.upgrade<UserData>(
        { ip },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open(ws) {
      open.add(ws);
      const data = ws.getUserData();
      // frames queued in this burst, written under one cork (send-batch.ts)
      let pending: Array<string | Uint8Array> = [];
      let pendingChars = 0;
      // uWS's own buffer as of the last flush or drain (a native call per send otherwise)
      data.queued = 0;
      const flush = (): void => {
        const list = pending;
        pending = [];
        pendingChars = 0;
        try {
          if (!data.closed && list.length > 0) {
            ws.cork(() => {
              // a send past maxBackpressure closes the socket (closeOnBackpressureLimit) at once
              for (let i = 0; i < list.length && !data.closed; i++) ws.send(list[i]!, false, false);
            });
          }
        } finally {
          // sent or dropped: these frames no longer need their slab bytes
          queuedFrames -= list.length;
        }
        if (data.closed) return;
        data.queued = ws.getBufferedAmount();
        if (data.queued === 0) data.handler?.drain();
      };
      const socket: Socket = {
        ip: data.ip,
        send(text) {
          if (data.closed) return;
          if (pending.length === 0) scheduleFlush(flush);
          pending.push(text);
          pendingChars += text.length;
          queuedFrames++;
        },
        // ws.send copies the bytes into uWS's cork buffer or the socket's buffer, so the frame
        // can live in the shared slab until flush() has sent it
        sendEventFrame(head, body) {
          if (data.closed) return;
          if (queuedFrames === 0) slab.release();
          socket.send(slab.frame(head, body));
        },
        bufferedAmount: () => (data.closed ? 0 : pendingChars + data.queued!),
        close(code, reason) {
          if (data.closed) return;
          flush();
          if (data.closed) return;
          data.closed = true;
          ws.end(code, reason);
        },
      };
      data.socket = socket;
      data.handler = cb.open(socket);
    },
    message(ws, message) {
      const data = ws.getUserData();
      if (message.byteLength > opts.maxPayloadBytes) {
        data.socket?.close(1009, `message too big: the limit is ${opts.maxPayloadBytes} bytes`);
        return;
      }
      if (data.handler) data.handler.message(decoder.decode(message), message.byteLength);
    },
    drain(ws) {
      const data = ws.getUserData();
      data.queued = ws.getBufferedAmount();
      data.handler?.drain();
    },
    close(ws) {
      open.delete(ws);
      const data = ws.getUserData();
      data.closed = true;
      data.handler?.closed();
    },
  });

  app.any('/*', (res, req) => serveUwsHttp(res, req, cb, opts.trustProxy));

  return {
    name: 'uws',
    listen(host, port) {
      return new Promise((resolve, reject) => {
        // exclusive: uWS otherwise shares the port (SO_REUSEPORT) with another process silently
        const listen = app.listen as unknown as (h: string, p: number, options: number, cb: (ls: UWS.us_listen_socket | false) => void) => void;
        listen.call(app, host, port, LISTEN_EXCLUSIVE_PORT, (ls) => {
          if (!ls) return reject(new Error(`cannot listen on ${host}:${port}`));
          listenSocket = ls;
          resolve(uws.us_socket_local_port(ls as unknown as UWS.us_socket));
        });
      });
    },
    async close() {
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = null;
      for (const ws of [...open]) ws.getUserData().socket?.close(1001, 'relay shutting down');
      (app as unknown as { close?: () => void }).close?.();
    },
  };
}
