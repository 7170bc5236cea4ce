// Dependency waves for a NIP-34 dataset: events that reference each other (e/E/q ids, a/A
// addresses, a 30618 state and its 30617 announcement) never share a wave, so a relay fed wave
// by wave, with many events in flight inside a wave, sees every event after what it references.
import type { NostrEvent } from '../../src/nostr/event.js';

/** Group `events` (given in dependency order) into waves; wave k only references waves < k. */
export function dependencyWaves<T extends NostrEvent>(events: readonly T[]): T[][] {
  const depthById = new Map<string, number>();
  const depthByAddr = new Map<string, number>();
  const announceDepthByD = new Map<string, number>();
  const waves: T[][] = [];
  for (const e of events) {
    let depth = 0;
    const dep = (d: number | undefined): void => {
      if (d !== undefined && d + 1 > depth) depth = d + 1;
    };
    let dTag = '';
    for (const t of e.tags) {
      const v = t[1];
      if (v === undefined) continue;
      switch (t[0]) {
        case 'e':
        case 'E':
        case 'q':
          dep(depthById.get(v));
          break;
        case 'a':
        case 'A':
          dep(depthByAddr.get(v));
          break;
        case 'd':
          dTag = v;
          break;
      }
    }
    if (e.kind === 30618) dep(announceDepthByD.get(dTag));
    depthById.set(e.id, depth);
    if (e.kind >= 30000 && e.kind < 40000) depthByAddr.set(`${e.kind}:${e.pubkey}:${dTag}`, depth);
    if (e.kind === 30617) announceDepthByD.set(dTag, Math.max(depth, announceDepthByD.get(dTag) ?? 0));
    (waves[depth] ??= []).push(e);
  }
  return waves.filter((w) => w !== undefined);
}
