// Plain data shared by the git half (git.md): repository identity, object ids, ref commands and
// the ref sets of signed states. No I/O and no policy here.

/** A hosted repository: the owner's pubkey (hex) and the identifier `d` of the announcement. */
export interface RepoId {
  owner: string;
  d: string;
}

/** A SHA-1 object id, 40 lower-case hex characters. */
export type Oid = string;

export const ZERO_OID: Oid = '0'.repeat(40);

export const isOid = (s: string): boolean => s.length === 40 && /^[0-9a-f]{40}$/.test(s);

/** Ref name → oid (refs/heads/*, refs/tags/*, refs/nostr/*). */
export type Refs = Map<string, Oid>;

/** One receive-pack command: `<old> <new> <ref>`; ZERO_OID old = create, ZERO_OID new = delete. */
export interface RefCommand {
  old: Oid;
  new: Oid;
  ref: string;
}

/** A repository state (kind 30618) reduced to what git needs. */
export interface StateRefs {
  id: string;
  author: string;
  created_at: number;
  /** refs/heads/* and refs/tags/* → oid (peeled `^{}` entries dropped) */
  refs: Refs;
  /** the branch HEAD points at (`refs/heads/x`), when the state names one */
  head?: string;
}

export const repoKey = (r: RepoId): string => `${r.owner}/${r.d}`;
