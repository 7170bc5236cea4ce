// Nostr event and filter types shared by every part, plus the kind classes of NIP-01.
// Pure data helpers only: no I/O, no crypto (see src/crypto), no parsing of wire messages
// (see src/relay/messages.ts).

export interface NostrEvent {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
  sig: string;
}

/** A NIP-01 filter. Tag filters are `#<single letter>` keys. */
export interface Filter {
  ids?: string[];
  authors?: string[];
  kinds?: number[];
  since?: number;
  until?: number;
  limit?: number;
  [tag: `#${string}`]: string[] | undefined;
}

export type KindClass = 'regular' | 'replaceable' | 'ephemeral' | 'addressable';

export function kindClass(kind: number): KindClass {
  if (kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000)) return 'replaceable';
  if (kind >= 20000 && kind < 30000) return 'ephemeral';
  if (kind >= 30000 && kind < 40000) return 'addressable';
  return 'regular';
}

export const isReplaceable = (kind: number): boolean => kindClass(kind) === 'replaceable';
export const isAddressable = (kind: number): boolean => kindClass(kind) === 'addressable';
export const isEphemeral = (kind: number): boolean => kindClass(kind) === 'ephemeral';

/** First value of the first tag named `name`, if any. */
export function firstTagValue(event: NostrEvent, name: string): string | undefined {
  for (const t of event.tags) if (t[0] === name && t.length > 1) return t[1];
  return undefined;
}

/** The `d` tag value of an event ('' when absent), as NIP-01 defines it for addressable kinds. */
export function dTag(event: NostrEvent): string {
  return firstTagValue(event, 'd') ?? '';
}

/**
 * The address `kind:pubkey:d` of a replaceable (d = '') or addressable event;
 * undefined for other kinds.
 */
export function eventAddress(event: NostrEvent): string | undefined {
  const c = kindClass(event.kind);
  if (c === 'addressable') return `${event.kind}:${event.pubkey}:${dTag(event)}`;
  if (c === 'replaceable') return `${event.kind}:${event.pubkey}:`;
  return undefined;
}

/** Parse `kind:pubkey:d` (d may contain ':'). Returns undefined when malformed. */
export function parseAddress(addr: string): { kind: number; pubkey: string; d: string } | undefined {
  const i = addr.indexOf(':');
  if (i <= 0) return undefined;
  const j = addr.indexOf(':', i + 1);
  if (j < 0) return undefined;
  const kindStr = addr.slice(0, i);
  const pubkey = addr.slice(i + 1, j);
  if (!/^\d{1,10}$/.test(kindStr) || !isHex64(pubkey)) return undefined;
  return { kind: Number(kindStr), pubkey, d: addr.slice(j + 1) };
}

/** NIP-40 expiration timestamp, or undefined. */
export function expirationOf(event: NostrEvent): number | undefined {
  const v = firstTagValue(event, 'expiration');
  if (v === undefined || !/^\d{1,15}$/.test(v)) return undefined;
  return Number(v);
}

const HEX64 = /^[0-9a-f]{64}$/;
export function isHex64(s: unknown): s is string {
  return typeof s === 'string' && s.length === 64 && HEX64.test(s);
}
