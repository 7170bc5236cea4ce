// Repository state events (kind 30618) as git sees them: the ref map and HEAD of a state, whether
// a state tracks anything, and the PR tip (`c`) of 1618/1619. Pure parsing of signed events.
import { dTag, type NostrEvent } from '../nostr/event.js';
import { isOid, type Oid, type StateRefs } from './types.js';

export const KIND_REPO_STATE = 30618;
export const KIND_PR = 1618;
export const KIND_PR_UPDATE = 1619;

const REF_RE = /^refs\/(heads|tags)\/./;

/**
 * The refs a 30618 declares (refs/heads/*, refs/tags/*; peeled `^{}` entries and malformed
 * values ignored) and its HEAD branch. undefined for a state without ref tags ("no longer
 * tracking", NIP-34): such a state never authorises or aligns anything.
 */
export function parseState(ev: NostrEvent): StateRefs | undefined {
  const refs = new Map<string, Oid>();
  let headTag: string | undefined;
  for (const t of ev.tags) {
    const name = t[0];
    const value = t[1];
    if (name === undefined || value === undefined) continue;
    if (name === 'HEAD') {
      headTag ??= value;
      continue;
    }
    if (!REF_RE.test(name) || name.endsWith('^{}') || !isValidRefName(name)) continue;
    const oid = value.toLowerCase();
    if (isOid(oid) && !refs.has(name)) refs.set(name, oid);
  }
  if (refs.size === 0) return undefined;
  const s: StateRefs = { id: ev.id, author: ev.pubkey, created_at: ev.created_at, refs };
  const head = headBranch(headTag, refs);
  if (head !== undefined) s.head = head;
  return s;
}

/** `ref: refs/heads/x`, `refs/heads/x` or `x` → `refs/heads/x`, when the state names that branch. */
function headBranch(tag: string | undefined, refs: ReadonlyMap<string, Oid>): string | undefined {
  if (tag === undefined) return undefined;
  let v = tag.trim();
  if (v.startsWith('ref:')) v = v.slice(4).trim();
  if (!v.startsWith('refs/')) v = `refs/heads/${v}`;
  return refs.has(v) && v.startsWith('refs/heads/') ? v : undefined;
}

/** The state's identifier (`d`). */
export const stateD = (ev: NostrEvent): string => dTag(ev);

/**
 * A ref name git would accept and we are willing to write: no control characters, spaces, `~^:?*[\`,
 * no `..`, `@{`, `//`, no component starting with `.` or ending with `.lock`, no trailing `/` or `.`.
 */
export function isValidRefName(ref: string): boolean {
  if (ref.length === 0 || ref.length > 1024) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return false;
  if (ref.includes('..') || ref.includes('@{') || ref.includes('//') || ref.endsWith('/') || ref.endsWith('.') || ref === '@') return false;
  for (const part of ref.split('/')) if (part.startsWith('.') || part.endsWith('.lock') || part === '') return false;
  return true;
}

/** The tip a PR (1618) or PR update (1619) names in its `c` tag, when it is a 40-hex oid. */
export function prTip(ev: NostrEvent): Oid | undefined {
  for (const t of ev.tags) {
    if (t[0] === 'c' && t[1] !== undefined) {
      const v = t[1].toLowerCase();
      return isOid(v) ? v : undefined;
    }
  }
  return undefined;
}

/** Whether `a` is newer than `b` as NIP-01 orders replaceable events (created_at, then lowest id). */
export function isNewer(a: { created_at: number; id: string }, b: { created_at: number; id: string }): boolean {
  return a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id);
}
