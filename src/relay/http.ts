// HTTP routes beside the WebSocket: NIP-11 on GET / with Accept: application/nostr+json (with
// CORS), CORS preflight, and a route table other parts register into (metrics, status page).
import { notFound, type HttpRequest, type HttpResponse } from './transport.js';

export type Route = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;

export const CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
};

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

  /** Register a POST route for an exact path (operator actions; never CORS-enabled). */
  post(path: string, route: Route): void {
    this.postRoutes.set(path, route);
  }

  handle = (req: HttpRequest): HttpResponse | Promise<HttpResponse> => {
    if (req.method === 'OPTIONS') return { status: 204, headers: { ...CORS_HEADERS }, body: '' };
    if (req.method === 'POST') {
      const r = this.postRoutes.get(req.path);
      if (r !== undefined) return r(req);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return { status: 405, headers: { 'content-type': 'text/plain', ...CORS_HEADERS }, body: 'method not allowed\n' };
    }
    if (req.path === '/' && req.header('accept').includes('application/nostr+json')) {
      return {
        status: 200,
        headers: { 'content-type': 'application/nostr+json', ...CORS_HEADERS },
        body: JSON.stringify(this.nip11()),
      };
    }
    if (req.path === '/') return this.home(req);
    const r = this.routes.get(req.path);
    return r ? r(req) : notFound();
  };
}
