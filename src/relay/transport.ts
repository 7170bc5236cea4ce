// The transport interface: what the relay needs from a WebSocket + HTTP server, so uWebSockets.js
// (where a build loads: uws-loader.ts) and the pure-JS `ws` server (any Node) are
// interchangeable. Implementations: transport-uws.ts, transport-ws.ts. Nothing Nostr-specific
// lives here.
import type { Readable } from 'node:stream';

export interface Socket {
  readonly ip: string;
  /** Queue a text frame: a string, or its UTF-8 bytes. */
  send(text: string | Uint8Array): void;
  /**
   * Queue the text frame `head + body + ']'` (a live EVENT: head is `["EVENT",<subId>,`, body the
   * event's JSON): the transport builds it the cheapest way it can (src/live/frames.ts).
   */
  sendEventFrame(head: Uint8Array, body: Uint8Array): void;
  /** Bytes queued and not yet written to the network. */
  bufferedAmount(): number;
  /** Close gracefully with a code and reason. */
  close(code: number, reason: string): void;
}

export interface SocketHandler {
  /** A text message; `bytes` is its size on the wire. */
  message(text: string, bytes: number): void;
  /** The send buffer drained (the socket can take more). */
  drain(): void;
  /** The socket closed (any reason). Do not send after this. */
  closed(): void;
}

export interface HttpRequest {
  method: string;
  /** the request path exactly as sent (not percent-decoded, dot segments kept), without the query */
  path: string;
  query: string;
  ip: string;
  header(lowerCaseName: string): string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/**
 * A streamed HTTP response (git smart HTTP). The transport adds the CORS headers to every response.
 * Bytes flow with backpressure: when write() returns false, wait for onDrain before writing more.
 */
export interface StreamResponse {
  /** Status line and headers; once, before any write/end. */
  writeHead(status: number, headers: Record<string, string>): void;
  /**
   * Queue body bytes. The transport may keep a reference to the chunk until it is on the wire: do
   * not modify it after the call. false: wait for onDrain before writing more (and always false
   * once the response is ended, destroyed or aborted: no drain follows then).
   */
  write(chunk: Uint8Array): boolean;
  /** Called each time the send buffer drained after write() returned false. */
  onDrain(cb: () => void): void;
  /** Finish the response (without writeHead: status 200, no headers besides CORS). */
  end(chunk?: Uint8Array | string): void;
  /** Close the connection at once without completing the response (after a partial body). Does not fire onAborted. */
  destroy(): void;
  /** The client went away before end() (never fires after end() or destroy()). */
  onAborted(cb: () => void): void;
  /** true once the client went away or destroy() was called: stop writing. */
  readonly aborted: boolean;
}

/**
 * A streamed HTTP request: the buffered request fields plus the body as a Node Readable. The
 * transport stops reading from the network while the Readable's buffer is full (pause/resume),
 * and every chunk is a copy the consumer owns. When the client goes away before the body ended the
 * Readable is destroyed, with an error only if it has 'error' listeners (as node:http does).
 */
export interface StreamRequest extends HttpRequest {
  readonly body: Readable;
}

export type StreamHandler = (req: StreamRequest, res: StreamResponse) => void;

export interface TransportCallbacks {
  /** Admission before the WebSocket upgrade; a string refuses with HTTP 429 and that text. */
  admit(ip: string): true | string;
  open(socket: Socket): SocketHandler;
  http(req: HttpRequest): HttpResponse | Promise<HttpResponse>;
  /**
   * Asked synchronously, from method, path and headers, before the buffered `http` route: a
   * handler takes the request as a stream (body and response); undefined leaves it to `http`.
   */
  stream?(req: HttpRequest): StreamHandler | undefined;
}

export interface TransportOptions {
  /** frames larger than this are closed by the transport itself (the relay answers NOTICE below it) */
  maxPayloadBytes: number;
  /** send buffer above which a socket is considered stuck and closed */
  maxBackpressureBytes: number;
  idleTimeoutSeconds: number;
  /** take the client address from X-Forwarded-For */
  trustProxy: boolean;
}

export interface Transport {
  readonly name: 'uws' | 'ws';
  /** Start listening; resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Stop accepting and close every socket. */
  close(): Promise<void>;
}

/**
 * CORS headers the transports put on every HTTP response (buffered, streamed, errors, the 429 that
 * refuses a WebSocket); OPTIONS on any path is answered 204 by the transport itself (git.md §2.1).
 */
export const CORS_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'Content-Type, Git-Protocol, Content-Encoding, Accept, Authorization, X-Requested-With',
  'access-control-max-age': '86400',
});

/** A route's headers with lower-case names and the CORS set on top (a route cannot drop or change it). */
export function withCors(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return Object.assign(out, CORS_HEADERS);
}

export const preflight = (): HttpResponse => ({ status: 204, headers: {}, body: '' });
export const internalError = (): HttpResponse => ({ status: 500, headers: { 'content-type': 'text/plain' }, body: 'internal error\n' });

/** The raw path and query of a request target: split at the first `?`, nothing decoded or normalised. */
export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

export const notFound = (): HttpResponse => ({ status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found\n' });

export function forwardedIp(header: string, fallback: string): string {
  const first = header.split(',')[0]?.trim();
  return first ? first : fallback;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  206: 'Partial Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
export const statusLine = (status: number): string => `${status} ${STATUS_TEXT[status] ?? ''}`.trim();
