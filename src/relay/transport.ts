// The transport interface: what the relay needs from a WebSocket + HTTP server, so uWebSockets.js
// (Node 20) and the pure-JS `ws` server (any Node) are interchangeable. Implementations:
// transport-uws.ts, transport-ws.ts. Nothing Nostr-specific lives here.
import type { Readable } from 'node:stream';

export interface Socket {
  readonly ip: string;
  /** Queue a text frame. */
  send(text: string): void;
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
  /** Queue body bytes (the chunk may be reused by the caller after the call). false: wait for onDrain. */
  write(chunk: Uint8Array): boolean;
  /** Called once each time the send buffer drained after write() returned false. */
  onDrain(cb: () => void): void;
  /** Finish the response (writeHead must have been called). */
  end(chunk?: Uint8Array | string): void;
  /** Close the connection at once without completing the response (after a partial body). */
  destroy(): void;
  /** The client went away before end() (never fires after end()). */
  onAborted(cb: () => void): void;
  readonly aborted: boolean;
}

/**
 * A streamed HTTP request: the buffered request fields plus the body as a Node Readable. The
 * transport stops reading from the network while the Readable's buffer is full (pause/resume),
 * and every chunk is a copy the consumer owns.
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

export const notFound = (): HttpResponse => ({ status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found\n' });

export function forwardedIp(header: string, fallback: string): string {
  const first = header.split(',')[0]?.trim();
  return first ? first : fallback;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  204: 'No Content',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
export const statusLine = (status: number): string => `${status} ${STATUS_TEXT[status] ?? ''}`.trim();
