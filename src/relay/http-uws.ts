// HTTP requests on the uWebSockets.js transport: CORS and preflight on every response, buffered
// routes (`TransportCallbacks.http`) and streamed routes (`TransportCallbacks.stream`: the request
// body as a Node Readable with pause/resume, the response with write/onWritable backpressure).
// uWS rules kept here: the HttpRequest is read synchronously; onAborted and onData are registered
// before the handler returns; every chunk is copied out of uWS's transient ArrayBuffer; every call
// on the response from a later callback is corked; after abort (or end) the response is never touched.
import { Readable } from 'node:stream';
import type * as UWS from 'uWebSockets.js';
import {
  forwardedIp,
  internalError,
  preflight,
  statusLine,
  withCors,
  type HttpRequest,
  type HttpResponse,
  type StreamHandler,
  type StreamRequest,
  type StreamResponse,
  type TransportCallbacks,
} from './transport.js';

const decoder = new TextDecoder();
/** request body bytes read ahead while the response is blocked on the client (see pauseReading) */
const READ_AHEAD_LIMIT = 16 * 1024 * 1024;

export function serveUwsHttp(res: UWS.HttpResponse, req: UWS.HttpRequest, cb: TransportCallbacks, trustProxy: boolean): void {
  // uWS: the response is invalid after abort; register once, synchronously
  const state = { aborted: false, done: false, onAbort: undefined as (() => void) | undefined };
  res.onAborted(() => {
    state.aborted = true;
    state.onAbort?.();
  });
  let ip = decoder.decode(res.getRemoteAddressAsText());
  if (trustProxy) ip = forwardedIp(req.getHeader('x-forwarded-for'), ip);
  const headers = new Map<string, string>();
  req.forEach((k, v) => headers.set(k, v));
  const request: HttpRequest = {
    method: req.getMethod().toUpperCase(),
    // uWS: the raw path as sent, without the query (not decoded, dot segments kept)
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    ip,
    header: (name) => headers.get(name) ?? '',
  };
  if (request.method === 'OPTIONS') {
    sendBuffered(res, state, preflight());
    return;
  }
  let handler: StreamHandler | undefined;
  try {
    handler = cb.stream?.(request);
  } catch {
    sendBuffered(res, state, internalError());
    return;
  }
  if (handler) {
    serveStream(res, state, request, handler);
    return;
  }
  Promise.resolve()
    .then(() => cb.http(request))
    .catch(internalError)
    .then((r) => {
      if (state.aborted) return;
      res.cork(() => sendBuffered(res, state, r));
    });
}

interface ResState {
  aborted: boolean;
  done: boolean;
  onAbort: (() => void) | undefined;
}

function sendBuffered(res: UWS.HttpResponse, state: ResState, r: HttpResponse): void {
  state.done = true;
  res.writeStatus(statusLine(r.status));
  for (const [k, v] of Object.entries(withCors(r.headers))) res.writeHeader(k, v);
  res.end(r.body);
}

function serveStream(res: UWS.HttpResponse, state: ResState, request: HttpRequest, handler: StreamHandler): void {
  let paused = false;
  let bodyDone = false;
  let drainWanted = false;
  const dead = (): boolean => state.aborted || state.done;
  const resume = (): void => {
    if (!paused || state.aborted || state.done) return;
    paused = false;
    res.cork(() => res.resume());
  };
  const body = new Readable({ read: resume });
  // uWS pause() stops the socket both ways: while a write waits for onWritable, reading goes on
  const pauseReading = (): void => {
    if (paused || drainWanted || bodyDone || dead()) return;
    paused = true;
    res.pause();
  };
  res.onData((ab, isLast) => {
    if (bodyDone) return;
    // the ArrayBuffer is only valid during this call: copy it
    if (ab.byteLength > 0 && !body.destroyed) {
      const more = body.push(Buffer.from(new Uint8Array(ab)));
      if (!more && !isLast) pauseReading();
      if (body.readableLength > READ_AHEAD_LIMIT && !isLast && !dead()) {
        // reading cannot be paused while the response waits for a drain (see pauseReading): a
        // client that neither reads its response nor stops sending is cut off
        response.destroy();
        return;
      }
    }
    if (isLast) {
      bodyDone = true;
      if (!body.destroyed) body.push(null);
    }
  });

  let head: { status: number; headers: Record<string, string> } | undefined;
  let headSent = false;
  let destroyed = false;
  const drainCbs: (() => void)[] = [];
  const abortCbs: (() => void)[] = [];
  const sendHead = (): void => {
    if (headSent) return;
    headSent = true;
    const h = head ?? { status: 200, headers: {} };
    res.writeStatus(statusLine(h.status));
    for (const [k, v] of Object.entries(withCors(h.headers))) res.writeHeader(k, v);
  };
  const stopBody = (): void => {
    if (!bodyDone && !body.destroyed) body.destroy(body.listenerCount('error') > 0 ? new Error('aborted') : undefined);
  };
  state.onAbort = () => {
    stopBody();
    if (state.done || destroyed) return;
    for (const f of abortCbs) f();
  };
  res.onWritable(() => {
    if (dead() || !drainWanted) return true;
    drainWanted = false;
    for (const f of drainCbs) f();
    if (!drainWanted && body.readableLength >= body.readableHighWaterMark) pauseReading();
    return true;
  });

  const response: StreamResponse = {
    writeHead(status, headers) {
      if (head || headSent) throw new Error('writeHead called twice');
      head = { status, headers };
    },
    write(chunk) {
      if (dead()) return false;
      let ok = true;
      res.cork(() => {
        sendHead();
        ok = res.write(chunk);
      });
      if (!ok) {
        drainWanted = true;
        // uWS re-arms reading (and writable events) itself after a write under backpressure
        paused = false;
      }
      return ok;
    },
    onDrain(f) {
      drainCbs.push(f);
    },
    end(chunk) {
      if (dead()) return;
      res.cork(() => {
        // a paused uWS socket sends nothing either: resume before the last bytes
        if (paused) {
          paused = false;
          res.resume();
        }
        sendHead();
        state.done = true;
        // the rest of an unread body is not worth reading: close the connection after the response
        res.end(chunk ?? '', !bodyDone);
      });
    },
    destroy() {
      if (dead()) return;
      destroyed = true;
      state.aborted = true;
      stopBody();
      res.cork(() => res.close());
    },
    onAborted(f) {
      abortCbs.push(f);
    },
    get aborted() {
      return state.aborted;
    },
  };
  const streamReq: StreamRequest = { ...request, body };
  try {
    handler(streamReq, response);
  } catch {
    if (dead()) return;
    if (!headSent) {
      head = undefined;
      res.cork(() => sendBuffered(res, state, internalError()));
    } else response.destroy();
  }
}
