// HTTP routes beside the WebSocket: NIP-11 on GET / with Accept: application/nostr+json, and a
// route table other parts register into (metrics, status page). CORS headers and the OPTIONS
// preflight are added by the transport to every response (CORS_HEADERS in transport.ts).
import { notFound, preflight, type HttpRequest, type HttpResponse } from './transport.js';

export type Route = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;

export class HttpRoutes {
  private readonly routes = new Map<string, Route>();
  private readonly postRoutes = new Map<string, Route>();
  /** GET / for a browser (no nostr+json Accept); replaced by the status page when enabled */
  home: Route = () => ({
    status: 200,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: 'grasp-relay: connect with a Nostr client over WebSocket.\n',
  });

  constructor(private readonly nip11: () => Record<string, unknown>) {}

  /** Register a GET route for an exact path. */
  get(path: string, route: Route): void {
    this.routes.set(path, route);
  }

  /** Register a POST route for an exact path (operator actions, token-protected). */
  post(path: string, route: Route): void {
    this.postRoutes.set(path, route);
  }

  handle = (req: HttpRequest): HttpResponse | Promise<HttpResponse> => {
    if (req.method === 'OPTIONS') return preflight();
    if (req.method === 'POST') {
      const r = this.postRoutes.get(req.path);
      if (r !== undefined) return r(req);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return { status: 405, headers: { 'content-type': 'text/plain' }, body: 'method not allowed\n' };
    }
    if (req.path === '/' && req.header('accept').includes('application/nostr+json')) {
      return {
        status: 200,
        headers: { 'content-type': 'application/nostr+json' },
        body: JSON.stringify(this.nip11()),
      };
    }
    if (req.path === '/') return this.home(req);
    const r = this.routes.get(req.path);
    return r ? r(req) : notFound();
  };
}
