// The operator's lists: blocked authors, and repository allow/block/archive lists whose entries
// are `npub`, `npub/d`, hex pubkey, `hex/d` or a bare `d`. Parsed once at startup; a malformed
// entry is a configuration error (thrown), never silently ignored.
import { decode } from 'nostr-tools/nip19';
import { isHex64 } from '../nostr/event.js';

export class PolicyListError extends Error {}

/** A pubkey written as npub or hex (any case), as lower-case hex; undefined when neither. */
export function parsePubkey(s: string): string | undefined {
  const t = s.trim();
  if (t.startsWith('npub1')) {
    try {
      const r = decode(t as `npub1${string}`);
      return r.type === 'npub' ? r.data : undefined;
    } catch {
      return undefined;
    }
  }
  const lower = t.toLowerCase();
  return isHex64(lower) ? lower : undefined;
}

/** A set of pubkeys from `npub`/hex entries. Throws PolicyListError naming a bad entry. */
export function parsePubkeyList(entries: readonly string[], listName: string): Set<string> {
  const out = new Set<string>();
  for (const e of entries) {
    const pk = parsePubkey(e);
    if (pk === undefined) throw new PolicyListError(`policy.${listName}: "${e}" is neither an npub nor a 64-character hex pubkey`);
    out.add(pk);
  }
  return out;
}

/** A repository list: whole authors, single repositories (pubkey + d), and bare identifiers. */
export class RepoList {
  private readonly pubkeys = new Set<string>();
  private readonly repos = new Set<string>();
  private readonly ids = new Set<string>();
  readonly size: number;

  constructor(entries: readonly string[], listName: string) {
    for (const raw of entries) {
      const e = raw.trim();
      const slash = e.indexOf('/');
      if (slash >= 0) {
        const pk = parsePubkey(e.slice(0, slash));
        const d = e.slice(slash + 1);
        if (pk === undefined || d === '' || d.includes('/')) {
          throw new PolicyListError(`policy.${listName}: "${raw}" must be npub, npub/<d>, hex pubkey, hex/<d> or a bare repository identifier`);
        }
        this.repos.add(`${pk}/${d}`);
        continue;
      }
      const pk = parsePubkey(e);
      if (pk !== undefined) this.pubkeys.add(pk);
      else if (e.startsWith('npub1')) throw new PolicyListError(`policy.${listName}: "${raw}" is not a valid npub`);
      else if (e !== '') this.ids.add(e);
      else throw new PolicyListError(`policy.${listName}: empty entry`);
    }
    this.size = entries.length;
  }

  /** Whether the repository `d` announced by `pubkey` is named by this list. */
  matches(pubkey: string, d: string): boolean {
    return this.pubkeys.has(pubkey) || this.ids.has(d) || this.repos.has(`${pubkey}/${d}`);
  }
}
