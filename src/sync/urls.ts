// Relay URL normalisation for sync: the one key under which a peer relay is known, and the test
// that keeps the service from syncing from itself. Pure; no I/O.
import { parseHostSpec, urlIsService, type HostSpec } from '../policy/urls.js';

const RELAY_SCHEMES = ['ws:', 'wss:'];

/**
 * Normalise a relay URL: ws/wss only, scheme and host lower-case, default port dropped, trailing
 * slash removed, fragment and credentials refused. Returns undefined for anything else.
 */
export function normalizeRelayUrl(input: string): string | undefined {
  const s = input.trim();
  if (s === '') return undefined;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return undefined;
  if (u.username !== '' || u.password !== '' || u.hostname === '') return undefined;
  // WHATWG URL already lower-cases the host and drops :80 for ws and :443 for wss.
  let path = u.pathname;
  while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (path === '/') path = '';
  return `${u.protocol}//${u.host}${path}${u.search}`;
}

/**
 * Whether a relay URL points at this service (any of `service.hosts`), by the same parsed
 * host[:port] comparison the write policy uses (src/policy/urls.ts).
 */
export function isSelf(url: string, hosts: readonly string[]): boolean {
  const specs: HostSpec[] = [];
  for (const h of hosts) {
    const spec = parseHostSpec(h);
    if (spec !== undefined) specs.push(spec);
  }
  return urlIsService(url, RELAY_SCHEMES, specs);
}

/** The NIP-11 document URL (http/https) for a relay URL. */
export function nip11Url(url: string): string {
  return url.replace(/^ws(s?):\/\//, 'http$1://');
}
