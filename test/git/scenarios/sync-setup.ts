// Shared setup of the git sync scenarios (git.md §6 28–31, the mesh): relays with git sync on,
// announcements naming several relays (clone URL and relay URL of each), what a repository serves
// (refs and HEAD through the real git CLI), the engine's status, scratch leftovers, and moving an
// injected clock forward until a condition holds with the engine idle between steps.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { GitSync, RemoteStatus } from '../../../src/git/sync/types.js';
import type { Filter, NostrEvent } from '../../../src/nostr/event.js';
import { TestClient } from '../../helpers/client.js';
import { sign, type Keypair } from '../../helpers/events.js';
import type { ManualClock } from '../../sync/clock.js';
import { gitOk, lsRemote, type GitRelay } from '../helpers.js';

const wsOf = (http: string): string => http.replace(/^http/, 'ws');

/**
 * A 30617 by `owner` for d listing every relay of `relays` in `clone` (its repository URL) and
 * `relays` (its WebSocket URL), in that order, after `cloneFirst` (URLs tried before them).
 */
export function meshAnnouncement(
  owner: Keypair,
  d: string,
  relays: GitRelay[],
  opts: { maintainers?: string[]; cloneFirst?: string[]; created_at?: number } = {},
): NostrEvent {
  const tags: string[][] = [
    ['d', d],
    ['name', d],
    ['description', `the ${d} repository`],
    ['clone', ...(opts.cloneFirst ?? []), ...relays.map((r) => r.repoUrl(owner, d))],
    ['relays', ...relays.map((r) => wsOf(r.http))],
    ['maintainers', owner.pk, ...(opts.maintainers ?? [])],
    ['alt', `git repository: ${d}`],
  ];
  return sign(owner, { kind: 30617, tags, ...(opts.created_at !== undefined ? { created_at: opts.created_at } : {}) });
}

/** The relay's git sync engine (git.syncEnabled must be on). */
export function gitSync(relay: GitRelay): GitSync {
  const s = relay.git?.sync;
  if (s === undefined) throw new Error(`git sync is not enabled on ${relay.url}`);
  return s;
}

/** What operators see of one remote host (lower-case host:port) on this relay, if it was ever tried. */
export function remoteOf(relay: GitRelay, host: string): RemoteStatus | undefined {
  return gitSync(relay).status().remotes.find((r) => r.host === host.toLowerCase());
}

/** host:port of a relay's HTTP URL (how git sync keys its per-host politeness). */
export const hostOf = (relay: GitRelay): string => new URL(relay.http).host;

/** Sync scratch repositories left under the relay's git root. */
export function scratchLeft(relay: GitRelay): string[] {
  const dir = join(relay.git!.root, '.scratch');
  try {
    return readdirSync(dir).filter((n) => n.startsWith('sync-'));
  } catch {
    return [];
  }
}

/** What a repository URL serves: every advertised ref (HEAD included) and the branch HEAD names. */
export interface Served {
  refs: Record<string, string>;
  head: string | undefined;
}

export async function served(url: string): Promise<Served> {
  const refs = Object.fromEntries([...(await lsRemote(url)).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const sym = await gitOk(['ls-remote', '--symref', url, 'HEAD']);
  const head = /^ref: (\S+)\tHEAD$/m.exec(sym)?.[1];
  return { refs, head };
}

/**
 * The same view read in process from the relay's repository (two git processes, no HTTP): cheap
 * enough to poll; assert with served() over HTTP once it holds.
 */
export async function servedLocally(relay: GitRelay, owner: Keypair, d: string): Promise<Served> {
  const r = { owner: owner.pk, d };
  const repos = relay.git!.repos;
  if (!repos.exists(r)) return { refs: {}, head: undefined };
  const refs = await repos.refs(r);
  const head = await repos.head(r);
  const all: Array<[string, string]> = [...refs.entries()];
  const tip = head !== undefined ? refs.get(head) : undefined;
  if (tip !== undefined) all.push(['HEAD', tip]);
  return { refs: Object.fromEntries(all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), head: tip !== undefined ? head : undefined };
}

export const sameServed = (a: Served, b: Served): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Event ids a relay answers a REQ with (over a real WebSocket). */
export async function reqIds(relay: GitRelay, ...filters: Filter[]): Promise<string[]> {
  const c = await TestClient.connect(relay.url);
  try {
    return (await c.req('ids', ...filters)).events.map((e) => e.id).sort();
  } finally {
    await c.close();
  }
}

/** Publish as a client to each relay; every one must answer OK true. Returns the OK messages. */
export async function publishTo(relays: GitRelay[], ev: NostrEvent): Promise<string[]> {
  const out: string[] = [];
  for (const r of relays) {
    const c = await TestClient.connect(r.url);
    try {
      const ok = await c.publish(ev);
      if (!ok.ok) throw new Error(`${r.url} refused kind ${ev.kind}: ${ok.message}`);
      out.push(ok.message);
    } finally {
      await c.close();
    }
  }
  return out;
}

/**
 * Move the injected clock forward `stepMs` at a time, awaiting every relay's git sync to go idle
 * after each step, until `cond` holds; fails after `maxMs` of injected time. Returns the injected
 * time it took.
 */
export async function advanceUntil(
  clock: ManualClock,
  relays: GitRelay[],
  cond: () => boolean | Promise<boolean>,
  opts: { stepMs: number; maxMs: number; what: string },
): Promise<number> {
  const start = clock.now();
  for (;;) {
    for (const r of relays) await gitSync(r).idle();
    if (await cond()) return clock.now() - start;
    if (clock.now() - start >= opts.maxMs) throw new Error(`${opts.what}: not reached after ${opts.maxMs} ms of injected time`);
    clock.advance(opts.stepMs);
  }
}

/** Object ids of `oids` the relay's repository (owner, d) lacks. */
export async function missingOn(relay: GitRelay, owner: Keypair, d: string, oids: string[]): Promise<string[]> {
  return [...(await relay.git!.repos.missing({ owner: owner.pk, d }, oids))];
}
