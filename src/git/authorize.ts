// The push decision (git.md §2.5), a pure function over plain data: the receive-pack commands,
// the repository's current refs, which objects it holds, the signed states that could authorise
// the push and what is known of refs/nostr/<id>. No I/O: the caller gathers the data under the
// repository lock and applies the answer. All or nothing: one refused command refuses the push.
import { isNewer } from './state.js';
import { ZERO_OID, type Oid, type RefCommand, type StateRefs } from './types.js';

export interface AuthorizeInput {
  /** `npub…/d`, for messages */
  repoName: string;
  commands: readonly RefCommand[];
  /** the repository's refs now (refs/heads, refs/tags, refs/nostr) */
  localRefs: ReadonlyMap<string, Oid>;
  /** oids among the candidates' refs that the repository already holds */
  held: ReadonlySet<Oid>;
  /**
   * States that may authorise branch and tag commands, in the order they are tried: purgatory
   * states from maintainers newer than the authoritative state (newest first), then the
   * authoritative state itself.
   */
  candidates: readonly StateRefs[];
  /** npub of a pubkey, for messages */
  npub(pubkey: string): string;
  nostr: {
    /** tip named by a stored or purgatory PR / PR update with this id */
    tipOf(id: string): Oid | undefined;
    /** unclaimed refs/nostr refs the repository holds now */
    placeholders: number;
    maxPlaceholders: number;
  };
  /** set for archived, retired or over-quota repositories: every command refused with it */
  readOnly?: string;
}

/** Why a push was refused, as counted in /metrics. */
export type RefusalCode = 'read-only' | 'namespace' | 'stale' | 'nostr-ref' | 'no-state' | 'state-mismatch' | 'missing-object';

export type AuthorizeResult =
  | { ok: true; /** the state the branch/tag commands align with (none for no-ops and refs/nostr only) */ state?: StateRefs }
  | { ok: false; code: RefusalCode; /** ref → reason (≤ 200 bytes), one per command */ reasons: Map<string, string>; summary: string };

const NOSTR_REF = /^refs\/nostr\/([0-9a-f]{64})$/;
const BRANCH_OR_TAG = /^refs\/(heads|tags)\/./;
const MAX_REASON = 200;
const short = (oid: string): string => oid.slice(0, 7);
const clip = (s: string): string => (Buffer.byteLength(s) <= MAX_REASON ? s : `${Buffer.from(s).subarray(0, MAX_REASON - 3).toString('utf8').replace(/\uFFFD$/, '')}...`);

export function authorize(input: AuthorizeInput): AuthorizeResult {
  const { commands, localRefs } = input;
  const reasons = new Map<string, string>();
  const refuseAll = (code: RefusalCode, why: (c: RefCommand) => string | undefined, summary: string): AuthorizeResult => {
    for (const c of commands) reasons.set(c.ref, clip(why(c) ?? 'not applied: another ref in this push was refused'));
    return { ok: false, code, reasons, summary: clip(summary) };
  };

  // 7. read-only repositories
  if (input.readOnly !== undefined) return refuseAll('read-only', () => input.readOnly, input.readOnly);

  // 1. namespaces
  const outside = commands.filter((c) => !BRANCH_OR_TAG.test(c.ref) && !NOSTR_REF.test(c.ref));
  if (outside.length > 0) {
    const msg = 'only branches and tags of a signed state (30618) and refs/nostr/<event-id> can be pushed here';
    const bad = new Set(outside.map((c) => c.ref));
    return refuseAll('namespace', (c) => (bad.has(c.ref) ? msg : undefined), `${outside[0]!.ref}: ${msg}`);
  }

  // 2. old values must be current
  const stale = commands.filter((c) => (localRefs.get(c.ref) ?? ZERO_OID) !== c.old);
  if (stale.length > 0) {
    const bad = new Set(stale.map((c) => c.ref));
    return refuseAll('stale', (c) => (bad.has(c.ref) ? 'stale: fetch and retry' : undefined), `${stale[0]!.ref} changed on the relay: fetch and retry`);
  }

  // 3. a push that changes nothing needs no state
  if (commands.every((c) => c.old === c.new)) return { ok: true };

  // 4. refs/nostr/<id>
  let newPlaceholders = 0;
  for (const c of commands) {
    const m = NOSTR_REF.exec(c.ref);
    if (!m) continue;
    if (c.new === ZERO_OID) {
      return refuseAll('nostr-ref', (x) => (x.ref === c.ref ? 'refs/nostr refs are managed by the relay and cannot be deleted' : undefined), `${c.ref} cannot be deleted`);
    }
    const tip = input.nostr.tipOf(m[1]!);
    if (tip !== undefined && tip !== c.new) {
      const why = `event ${short(m[1]!)} names tip ${short(tip)}, not ${short(c.new)}`;
      return refuseAll('nostr-ref', (x) => (x.ref === c.ref ? why : undefined), `${c.ref}: ${why}`);
    }
    if (tip === undefined && !localRefs.has(c.ref)) newPlaceholders++;
  }
  if (newPlaceholders > 0 && input.nostr.placeholders + newPlaceholders > input.nostr.maxPlaceholders) {
    const why = `too many refs/nostr refs wait for their event on ${input.repoName}: publish the PR event first`;
    return refuseAll('nostr-ref', (c) => (NOSTR_REF.test(c.ref) ? why : undefined), why);
  }

  // 5. branches and tags: the first candidate state the push fully aligns the repository with
  const gitCmds = commands.filter((c) => BRANCH_OR_TAG.test(c.ref));
  if (gitCmds.length === 0) return { ok: true };
  const pushedNow = new Set<Oid>();
  for (const c of commands) if (c.new !== ZERO_OID) pushedNow.add(c.new);
  let firstMiss: { state: StateRefs; ref: string; why: string; code: RefusalCode } | undefined;
  for (const s of input.candidates) {
    const miss = mismatch(s, gitCmds, localRefs, input.held, pushedNow, input.npub);
    if (miss === undefined) return { ok: true, state: s };
    firstMiss ??= { state: s, ...miss };
  }

  // 6. no match: the most useful diagnosis
  if (firstMiss === undefined) {
    const why = `no state from a maintainer of ${input.repoName} is waiting: publish the 30618 first`;
    return refuseAll('no-state', (c) => (BRANCH_OR_TAG.test(c.ref) ? why : undefined), why);
  }
  const { ref, why, code } = firstMiss;
  return refuseAll(code, (c) => (c.ref === ref ? why : BRANCH_OR_TAG.test(c.ref) ? `${ref}: ${why}` : undefined), `${ref}: ${why}`);
}

/** Why pushing `cmds` would not leave the repository aligned with `s`, or undefined if it would. */
function mismatch(
  s: StateRefs,
  cmds: readonly RefCommand[],
  local: ReadonlyMap<string, Oid>,
  held: ReadonlySet<Oid>,
  pushedNow: ReadonlySet<Oid>,
  npub: (pk: string) => string,
): { ref: string; why: string; code: RefusalCode } | undefined {
  const by = `state ${short(s.id)} by ${npub(s.author).slice(0, 16)}…`;
  // (a) every command agrees with the state
  for (const c of cmds) {
    const want = s.refs.get(c.ref);
    if (want === undefined) {
      if (c.new !== ZERO_OID) return { ref: c.ref, why: `${c.ref} is not in ${by}`, code: 'state-mismatch' };
    } else if (c.new !== want) {
      const got = c.new === ZERO_OID ? 'deletes it' : `pushes ${short(c.new)}`;
      return { ref: c.ref, why: `${by} declares ${short(want)}; this push ${got}`, code: 'state-mismatch' };
    }
  }
  // (b) after the push every ref of the state can hold the state's value
  const pushedRefs = new Map(cmds.map((c) => [c.ref, c.new]));
  for (const [ref, want] of s.refs) {
    if (pushedRefs.get(ref) === want || local.get(ref) === want || held.has(want) || pushedNow.has(want)) continue;
    return { ref, why: `${by} declares ${short(want)}, which this push does not contain and the relay does not hold: push it too`, code: 'missing-object' };
  }
  return undefined;
}

/**
 * The authoritative state among `states` (already restricted to authors in the maintainer set):
 * the newest by (created_at, lowest id).
 */
export function newestState(states: Iterable<StateRefs>): StateRefs | undefined {
  let best: StateRefs | undefined;
  for (const s of states) if (best === undefined || isNewer(s, best)) best = s;
  return best;
}
