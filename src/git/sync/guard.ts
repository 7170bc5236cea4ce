// The network guard of git sync (git.md §3 "Network guard"): which remote URLs may be fetched
// (http(s) only, no credentials, nothing git could read as a local path, an option or a transport
// helper) and which addresses their hosts may resolve to (no loopback, private, link-local,
// multicast, unspecified or reserved address, nor an IPv4-mapped / NAT64 / 6to4 form of one).
// The addresses it returns are pinned into git with `http.curloptResolve` (fetch.ts), so git
// connects to exactly what was checked: no DNS-rebinding window between our lookup and git's.
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, isIPv4 } from 'node:net';
import type { FetchFailure } from './types.js';

/** Longest remote URL accepted (bytes of UTF-8). */
export const MAX_URL_BYTES = 2048;

export interface CheckedUrl {
  /** the WHATWG-normalised URL, fragment dropped: what git is given */
  url: string;
  /** lower-case host:port, default port filled in (`[v6]:port` for IPv6 literals) */
  host: string;
  /** the host name or address literal, lower-case, without brackets */
  hostname: string;
  port: number;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; failure: FetchFailure };

const fail = (cls: FetchFailure['cls'], message: string): { ok: false; failure: FetchFailure } => ({ ok: false, failure: { cls, message } });

// C0 controls, DEL, C1 controls and every Unicode space or line separator
// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE_RE = /[\u0000-\u0020\u007f-\u009f\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/** One line for messages: a URL shown back is cut short and stripped of anything unprintable. */
export function showUrl(url: string): string {
  // eslint-disable-next-line no-control-regex
  const s = url.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function schemeRefused(raw: string): { ok: false; failure: FetchFailure } {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(raw);
  return fail('bad-url', m ? `scheme ${showUrl(m[1]!.toLowerCase())}: refused (http(s) only): ${showUrl(raw)}` : `not an http(s) URL: ${showUrl(raw)}`);
}

/**
 * Whether `raw` may be handed to `git fetch`: only `https:` (and `http:` when allowHttp), a
 * non-empty host, no userinfo, no control characters or spaces, no leading `-`, at most
 * MAX_URL_BYTES. Anything else — `file:`, `ext::…`, `ssh:`, `git:`, scp-like `host:path`, a bare
 * path — is 'bad-url'.
 */
export function checkRemoteUrl(raw: string, opts: { allowHttp: boolean }): Checked<CheckedUrl> {
  if (typeof raw !== 'string' || raw.length === 0) return fail('bad-url', 'empty remote URL');
  if (Buffer.byteLength(raw, 'utf8') > MAX_URL_BYTES) return fail('bad-url', `remote URL longer than ${MAX_URL_BYTES} bytes`);
  if (CONTROL_OR_SPACE_RE.test(raw)) return fail('bad-url', `remote URL with control characters or spaces: ${showUrl(raw)}`);
  if (raw.startsWith('-')) return fail('bad-url', `remote URL starting with '-': ${showUrl(raw)}`);
  // git's own transport syntax: `<helper>::<address>` runs git-remote-<helper>
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(raw)) return fail('bad-url', `git transport helper URL refused: ${showUrl(raw)}`);
  // the plain `scheme://host` form only (WHATWG would also read `https:host` or `http:///host`)
  if (!/^https?:\/\/[^/?#\\]/i.test(raw)) {
    return /^https?:/i.test(raw) ? fail('bad-url', `malformed http(s) URL: ${showUrl(raw)}`) : schemeRefused(raw);
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return fail('bad-url', `not a URL: ${showUrl(raw)}`);
  }
  const scheme = u.protocol;
  if (scheme === 'http:' && !opts.allowHttp) return fail('bad-url', `http:// remotes are disabled (git.syncAllowHttp): ${showUrl(raw)}`);
  if (scheme !== 'https:' && scheme !== 'http:') return schemeRefused(raw);
  if (u.username !== '' || u.password !== '' || /^[a-z]+:\/\/[^/?#]*@/i.test(raw)) return fail('bad-url', 'remote URL with credentials refused');
  if (u.hostname === '') return fail('bad-url', `remote URL without a host: ${showUrl(raw)}`);
  u.hash = '';
  const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port !== '' ? Number(u.port) : scheme === 'https:' ? 443 : 80;
  const host = `${u.hostname}:${port}`;
  return { ok: true, value: { url: u.href, host, hostname, port } };
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** `dns.promises.lookup(host, { all: true })`, injectable for tests. */
export type LookupFn = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: LookupFn = async (hostname) => {
  const all = await dnsLookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

// Special-purpose ranges (IANA IPv4/IPv6 special-purpose address registries) a sync fetch must not reach.
const V4_FORBIDDEN: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved (IETF)'],
  ['192.0.2.0', 24, 'reserved (documentation)'],
  ['192.88.99.0', 24, 'reserved (6to4 relay)'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved (benchmarking)'],
  ['198.51.100.0', 24, 'reserved (documentation)'],
  ['203.0.113.0', 24, 'reserved (documentation)'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const V6_FORBIDDEN: Array<[string, number, string]> = [
  ['::', 96, 'unspecified, loopback or IPv4-compatible'],
  ['100::', 64, 'reserved (discard)'],
  ['2001::', 23, 'reserved (IETF)'],
  ['2001:db8::', 32, 'reserved (documentation)'],
  ['3fff::', 20, 'reserved (documentation)'],
  ['5f00::', 16, 'reserved (SRv6)'],
  ['64:ff9b:1::', 48, 'local-use NAT64'],
  ['fc00::', 7, 'private (unique local)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

function blockList(v4: Array<[string, number, string]>, v6: Array<[string, number, string]>): BlockList {
  const b = new BlockList();
  for (const [net, prefix] of v4) b.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of v6) b.addSubnet(net, prefix, 'ipv6');
  return b;
}
const FORBIDDEN = blockList(V4_FORBIDDEN, V6_FORBIDDEN);
const V4_LISTS = V4_FORBIDDEN.map(([net, prefix, why]) => ({ list: blockList([[net, prefix, why]], []), why }));
const V6_LISTS = V6_FORBIDDEN.map(([net, prefix, why]) => ({ list: blockList([], [[net, prefix, why]]), why }));

/** The 16 bytes of an IPv6 address (dotted-quad tail allowed, zone id ignored), or undefined. */
export function ipv6Bytes(addr: string): Uint8Array | undefined {
  let a = addr.toLowerCase();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (isIP(a) !== 6) return undefined;
  let tail: number[] = [];
  const lastColon = a.lastIndexOf(':');
  const last = a.slice(lastColon + 1);
  if (last.includes('.')) {
    tail = last.split('.').map(Number);
    a = a.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = a.includes('::') ? a.split('::') : [a, undefined];
  const hs = head === '' ? [] : head!.split(':');
  const rs = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - hs.length - rs.length;
  const groups = [...hs, ...Array<string>(fill).fill('0'), ...rs].map((g) => parseInt(g, 16));
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

const v4At = (b: Uint8Array, i: number): string => `${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}`;

/** The IPv4 address an IPv6 address stands for (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16), if any. */
export function embeddedIPv4(addr: string): string | undefined {
  const b = ipv6Bytes(addr);
  if (!b) return undefined;
  const zeros = (from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4At(b, 12);
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4At(b, 12);
  if (b[0] === 0x20 && b[1] === 0x02) return v4At(b, 2);
  return undefined;
}

/** Why a sync fetch must not connect to `addr` ('loopback', 'private', …), or undefined when it may. */
export function forbiddenReason(addr: string): string | undefined {
  if (isIPv4(addr)) {
    if (!FORBIDDEN.check(addr, 'ipv4')) return undefined;
    return V4_LISTS.find((l) => l.list.check(addr, 'ipv4'))?.why ?? 'reserved';
  }
  const bare = addr.includes('%') ? addr.slice(0, addr.indexOf('%')) : addr;
  if (isIP(bare) !== 6) return 'not an IP address';
  const v4 = embeddedIPv4(bare);
  if (v4 !== undefined) {
    const why = forbiddenReason(v4);
    return why === undefined ? undefined : `${why} (as ${bare})`;
  }
  if (!FORBIDDEN.check(bare, 'ipv6')) return undefined;
  return V6_LISTS.find((l) => l.list.check(bare, 'ipv6'))?.why ?? 'reserved';
}

/**
 * Resolve `hostname` (all its addresses; an address literal stands for itself) and refuse it when
 * ANY address is forbidden (unless allowPrivate). DNS failure or no address → 'dns'. The
 * addresses are returned so the fetch can pin them.
 */
export async function resolveRemote(hostname: string, opts: { allowPrivate: boolean; lookup?: LookupFn }): Promise<Checked<ResolvedAddress[]>> {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  let addrs: ResolvedAddress[];
  const literal = isIP(bare);
  if (literal !== 0) addrs = [{ address: bare, family: literal === 6 ? 6 : 4 }];
  else {
    try {
      addrs = await (opts.lookup ?? systemLookup)(bare);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return fail('dns', `cannot resolve ${showUrl(bare)}: ${code ?? (e as Error).message}`);
    }
    if (addrs.length === 0) return fail('dns', `cannot resolve ${showUrl(bare)}: no address`);
  }
  if (!opts.allowPrivate) {
    for (const a of addrs) {
      const why = forbiddenReason(a.address);
      if (why !== undefined) return fail('forbidden-address', `${showUrl(bare)} resolves to ${a.address}: ${why}`);
    }
  }
  return { ok: true, value: addrs };
}

/**
 * The `http.curloptResolve` value pinning `hostname:port` to the checked addresses (curl's
 * CURLOPT_RESOLVE syntax, IPv6 in brackets), or undefined for an address literal (nothing to resolve).
 */
export function curlResolveEntry(hostname: string, port: number, addrs: ResolvedAddress[]): string | undefined {
  if (isIP(hostname) !== 0 || addrs.length === 0) return undefined;
  return `${hostname}:${port}:${addrs.map((a) => (a.family === 6 ? `[${a.address}]` : a.address)).join(',')}`;
}
