// HTTP requests on the node:http (`ws`) transport: CORS and preflight on every response, buffered
// routes (`TransportCallbacks.http`) and streamed routes (`TransportCallbacks.stream`: the
// IncomingMessage is the body as it is, the response wraps the ServerResponse and its backpressure).
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  internalError,
  preflight,
  splitTarget,
  withCors,
  type HttpRequest,
  type HttpResponse,
  type StreamHandler,
  type StreamResponse,
  type TransportCallbacks,
} from './transport.js';

export function serveNodeHttp(req: IncomingMessage, res: ServerResponse, cb: TransportCallbacks, ip: string): void {
  // the raw target as sent: split at the first '?', never URL-parsed (that would decode and normalise)
  const { path, query } = splitTarget(req.url ?? '/');
  const request: HttpRequest = {
    method: (req.method ?? 'GET').toUpperCase(),
    path,
    query,
    ip,
    header: (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : (v ?? '');
    },
  };
  if (request.method === 'OPTIONS') return sendBuffered(res, preflight());
  let handler: StreamHandler | undefined;
  try {
    handler = cb.stream?.(request);
  } catch {
    return sendBuffered(res, internalError());
  }
  if (handler) return serveStream(req, res, request, handler);
  Promise.resolve()
    .then(() => cb.http(request))
    .catch(internalError)
    .then((r) => sendBuffered(res, r));
}

function sendBuffered(res: ServerResponse, r: HttpResponse): void {
  if (res.destroyed) return;
  const headers = withCors(r.headers);
  // a known length instead of chunked encoding, as uWS sends it
  if (r.status !== 204 && r.status !== 304 && headers['content-length'] === undefined) headers['content-length'] = String(Buffer.byteLength(r.body));
  res.writeHead(r.status, headers);
  res.end(r.body);
}

function serveStream(req: IncomingMessage, res: ServerResponse, request: HttpRequest, handler: StreamHandler): void {
  let ended = false;
  let destroyed = false;
  let aborted = false;
  const abortCbs: (() => void)[] = [];
  const head = (status = 200, headers: Record<string, string> = {}): void => {
    if (!res.headersSent) res.writeHead(status, withCors(headers));
  };
  res.on('close', () => {
    // 'close' before end(): the client went away (or destroy() was called)
    if (ended || destroyed || aborted) return;
    aborted = true;
    for (const f of abortCbs) f();
  });
  const response: StreamResponse = {
    writeHead(status, headers) {
      if (res.headersSent) throw new Error('writeHead called twice');
      head(status, headers);
    },
    write(chunk) {
      if (ended || destroyed || aborted || res.destroyed) return false;
      head();
      return res.write(chunk);
    },
    onDrain(f) {
      res.on('drain', f);
    },
    end(chunk) {
      if (ended || destroyed || aborted || res.destroyed) return;
      ended = true;
      head();
      if (chunk === undefined) res.end();
      else res.end(chunk);
    },
    destroy() {
      if (ended || destroyed || aborted) return;
      destroyed = true;
      res.destroy();
    },
    onAborted(f) {
      abortCbs.push(f);
    },
    get aborted() {
      return aborted || destroyed || res.destroyed;
    },
  };
  try {
    handler({ ...request, body: req }, response);
  } catch {
    if (!res.headersSent && !res.destroyed) {
      ended = true;
      sendBuffered(res, internalError());
    } else response.destroy();
  }
}
