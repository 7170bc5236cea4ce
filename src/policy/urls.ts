// URL comparison for the write policy and the sync engine: the normalised form of a relay or
// clone URL, and whether a URL points at this service (parsed host[:port], never a substring).

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/**
 * The comparison form of a URL: lower-case scheme and host, the port only when it is not the
 * scheme's default, path without trailing slashes, query kept, credentials and fragment dropped.
 * `wss://Relay.Example.com:443/` → `wss://relay.example.com`. Undefined when unparsable or hostless.
 */
export function normalizeServiceUrl(url: string): string | undefined {
  const u = parseUrl(url);
  if (u === undefined) return undefined;
  const scheme = u.protocol.toLowerCase();
  const host = hostnameOf(u);
  if (host === '') return undefined;
  const port = u.port !== '' && u.port !== DEFAULT_PORTS[scheme] ? `:${u.port}` : '';
  const path = u.pathname.replace(/\/+$/, '');
  return `${scheme}//${host}${port}${path}${u.search}`;
}

/** One entry of `service.hosts`, parsed: host name and explicit port (if the entry had one). */
export interface HostSpec {
  hostname: string;
  port: string | undefined;
}

/**
 * Parse a `service.hosts` entry (`git.example.com`, `127.0.0.1:7777`, `[::1]:7777`; a scheme
 * and path are tolerated and ignored). Undefined when unusable.
 */
export function parseHostSpec(entry: string): HostSpec | undefined {
  const s = entry.trim();
  if (s === '') return undefined;
  // A non-special scheme keeps the port verbatim (no default-port elision) and parses IPv6.
  const u = parseUrl(s.includes('://') ? s : `grasp://${s}`);
  if (u === undefined) return undefined;
  const hostname = hostnameOf(u);
  if (hostname === '') return undefined;
  // (`https://git.example.com:443` in the config: the special scheme already elided the port.)
  return { hostname, port: u.port === '' ? undefined : u.port };
}

/**
 * Whether `url` (already restricted by the caller to the wanted schemes) names one of `hosts`:
 * same host name, and the same port (an entry without a port matches the scheme's default port).
 * `evil-git.example.com.attacker.net` is not `git.example.com`.
 */
export function urlIsService(url: string, schemes: readonly string[], hosts: readonly HostSpec[]): boolean {
  // Cheap necessary condition before parsing (most URLs name other hosts); skipped when
  // percent-encoding could spell the host differently.
  if (!url.includes('%')) {
    const lower = url.toLowerCase();
    if (!hosts.some((h) => lower.includes(h.hostname))) return false;
  }
  const u = parseUrl(url);
  if (u === undefined) return false;
  const scheme = u.protocol.toLowerCase();
  if (!schemes.includes(scheme)) return false;
  const hostname = hostnameOf(u);
  const effectivePort = u.port !== '' ? u.port : DEFAULT_PORTS[scheme];
  for (const h of hosts) {
    if (h.hostname !== hostname) continue;
    if (h.port === undefined ? u.port === '' : h.port === effectivePort) return true;
  }
  return false;
}

function parseUrl(s: string): URL | undefined {
  try {
    return new URL(s.trim());
  } catch {
    return undefined;
  }
}

/** Lower-case host name without a trailing dot (non-special schemes keep case in WHATWG URL). */
function hostnameOf(u: URL): string {
  return u.hostname.toLowerCase().replace(/\.$/, '');
}
