// Relay URL normalisation for sync: the one key under which a peer relay is known, and the test
// that keeps the service from syncing from itself. Pure; no I/O.

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

/** `host[:port]` of a configured service host, lower-case, default ports dropped. */
function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  h = h.replace(/^[a-z]+:\/\//, '');
  const slash = h.indexOf('/');
  if (slash >= 0) h = h.slice(0, slash);
  return h.replace(/:(80|443)$/, '');
}

/** Whether a normalised relay URL points at this service (any of `service.hosts`). */
export function isSelf(url: string, hosts: readonly string[]): boolean {
  let host: string;
  try {
    host = new URL(url).host.toLowerCase();
  } catch {
    return false;
  }
  host = host.replace(/:(80|443)$/, '');
  for (const h of hosts) if (normalizeHost(h) === host) return true;
  return false;
}

/** The NIP-11 document URL (http/https) for a relay URL. */
export function nip11Url(url: string): string {
  return url.replace(/^ws(s?):\/\//, 'http$1://');
}
