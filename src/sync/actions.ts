// computeActions: the single decision point for new historic sync work. new = wanted − pending −
// confirmed, per relay. Pure: no I/O, no clock; callers pass plain sets and act on the result.

export type ItemSets = ReadonlyMap<string, ReadonlySet<string>>;

/**
 * For each relay in `relays` (default: every relay in `wanted`), the wanted items that are
 * neither pending nor confirmed, in `wanted` order. Relays with nothing new are omitted.
 */
export function computeActions(
  wanted: ItemSets,
  pending: ItemSets,
  confirmed: ItemSets,
  relays: Iterable<string> = wanted.keys(),
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const relay of relays) {
    const w = wanted.get(relay);
    if (w === undefined || w.size === 0) continue;
    const p = pending.get(relay);
    const c = confirmed.get(relay);
    const fresh: string[] = [];
    for (const item of w) {
      if (p?.has(item) === true || c?.has(item) === true) continue;
      fresh.push(item);
    }
    if (fresh.length > 0) out.set(relay, fresh);
  }
  return out;
}

/**
 * Which peer connections to open and close: every relay something wants, plus bootstrap relays;
 * everything else that is connected is closed. Pure.
 */
export function computeConnections(
  wantedRelays: Iterable<string>,
  bootstrap: Iterable<string>,
  current: Iterable<string>,
): { open: string[]; close: string[] } {
  const need = new Set<string>(wantedRelays);
  for (const b of bootstrap) need.add(b);
  const cur = new Set<string>(current);
  return {
    open: [...need].filter((r) => !cur.has(r)),
    close: [...cur].filter((r) => !need.has(r)),
  };
}
