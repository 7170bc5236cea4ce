// The transport interface: what the relay needs from a WebSocket + HTTP server, so uWebSockets.js
// (Node 20) and the pure-JS `ws` server (any Node) are interchangeable. Implementations:
// transport-uws.ts, transport-ws.ts. Nothing Nostr-specific lives here.

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

export interface TransportCallbacks {
  /** Admission before the WebSocket upgrade; a string refuses with HTTP 429 and that text. */
  admit(ip: string): true | string;
  open(socket: Socket): SocketHandler;
  http(req: HttpRequest): HttpResponse | Promise<HttpResponse>;
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
