// Structural validation of events and filters from the wire, with the configured limits.
// Returns NIP-01 messages with machine prefixes; never throws. Signature and id checks are
// src/crypto's job; acceptance rules are src/policy's.
import type { LimitsConfig } from '../config/schema.js';
import { expirationOf, isHex64, type Filter, type NostrEvent } from '../nostr/event.js';

const HEX128 = /^[0-9a-f]{128}$/;

/** Check an event object's shape and limits. `now` in seconds. Returns an error message or undefined. */
export function checkEvent(e: unknown, limits: LimitsConfig, now: number): string | undefined {
  if (typeof e !== 'object' || e === null) return 'invalid: event must be an object';
  const ev = e as Record<string, unknown>;
  if (!isHex64(ev.id)) return 'invalid: id must be 64 lower-case hex characters';
  if (!isHex64(ev.pubkey)) return 'invalid: pubkey must be 64 lower-case hex characters';
  if (typeof ev.sig !== 'string' || ev.sig.length !== 128 || !HEX128.test(ev.sig)) {
    return 'invalid: sig must be 128 lower-case hex characters';
  }
  const ca = ev.created_at;
  if (typeof ca !== 'number' || !Number.isSafeInteger(ca) || ca < 0) return 'invalid: created_at must be a non-negative integer';
  const kind = ev.kind;
  if (typeof kind !== 'number' || !Number.isInteger(kind) || kind < 0 || kind > 65535) {
    return 'invalid: kind must be an integer between 0 and 65535';
  }
  if (typeof ev.content !== 'string') return 'invalid: content must be a string';
  if (ev.content.length > limits.maxContentBytes) return `invalid: content longer than ${limits.maxContentBytes}`;
  const tags = ev.tags;
  if (!Array.isArray(tags)) return 'invalid: tags must be an array';
  if (tags.length > limits.maxEventTags) return `invalid: more than ${limits.maxEventTags} tags`;
  for (const t of tags) {
    if (!Array.isArray(t)) return 'invalid: each tag must be an array of strings';
    for (const v of t) if (typeof v !== 'string') return 'invalid: each tag must be an array of strings';
  }
  if (ca > now + limits.maxFutureSeconds) return `invalid: created_at is more than ${limits.maxFutureSeconds} seconds in the future`;
  if (limits.maxPastSeconds > 0 && ca < now - limits.maxPastSeconds) {
    return `invalid: created_at is more than ${limits.maxPastSeconds} seconds in the past`;
  }
  const exp = expirationOf(ev as unknown as NostrEvent);
  if (exp !== undefined && exp <= now) return 'invalid: event has expired';
  return undefined;
}

const FILTER_LIST_KEYS = new Set(['ids', 'authors', 'kinds']);

/**
 * Validate a filter from the wire. Returns the filter (same object, typed) or an error message
 * with a prefix. Unknown fields are refused (`unsupported:`), so a filter never silently widens.
 */
export function checkFilter(f: unknown, limits: LimitsConfig): { filter: Filter } | { error: string } {
  if (typeof f !== 'object' || f === null || Array.isArray(f)) return { error: 'invalid: filter must be an object' };
  const obj = f as Record<string, unknown>;
  for (const key in obj) {
    const v = obj[key];
    if (FILTER_LIST_KEYS.has(key) || (key.length === 2 && key[0] === '#')) {
      if (!Array.isArray(v)) return { error: `invalid: filter field ${key} must be an array` };
      if (v.length > limits.maxFilterValues) return { error: `invalid: filter field ${key} has more than ${limits.maxFilterValues} values` };
      if (key === 'kinds') {
        for (const k of v) if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k > 65535) return { error: 'invalid: kinds must be integers' };
      } else if (key === 'ids' || key === 'authors') {
        for (const x of v) if (!isHex64(x)) return { error: `invalid: ${key} must be 64-character lower-case hex` };
      } else {
        for (const x of v) if (typeof x !== 'string') return { error: `invalid: ${key} values must be strings` };
      }
    } else if (key === 'since' || key === 'until' || key === 'limit') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return { error: `invalid: ${key} must be a non-negative integer` };
    } else {
      return { error: `unsupported: filter field ${JSON.stringify(key.slice(0, 32))}` };
    }
  }
  return { filter: obj as Filter };
}

/** Validate the filter list of a REQ/COUNT. */
export function checkFilters(filters: unknown[], limits: LimitsConfig): { filters: Filter[] } | { error: string } {
  if (filters.length > limits.maxFilters) return { error: `invalid: more than ${limits.maxFilters} filters` };
  const out: Filter[] = [];
  for (const f of filters) {
    const r = checkFilter(f, limits);
    if ('error' in r) return r;
    out.push(r.filter);
  }
  return { filters: out };
}
