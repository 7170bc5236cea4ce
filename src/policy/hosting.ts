// Which accepted announcements this service hosts git data for (git.md vocabulary "Hosted"): one
// that lists the service in clone and relays (read-write), or one kept under GRASP-05 archive mode
// (read-only), unless a block list matches. Pure, over the compiled policy.
import { dTag, type NostrEvent } from '../nostr/event.js';
import type { CompiledPolicy } from './grasp.js';
import { listsService } from './maintainers.js';

/** hosted: served and pushable; archived: served, filled by sync, pushes refused; none: not ours. */
export type Hosting = 'hosted' | 'archived' | 'none';

export function classifyAnnouncement(c: CompiledPolicy, ann: NostrEvent): Hosting {
  const d = dTag(ann);
  if (c.blockedPubkeys.has(ann.pubkey) || c.repoBlocklist.matches(ann.pubkey, d)) return 'none';
  if (c.mode === 'grasp' && c.repoAllowlist.size > 0 && !c.repoAllowlist.matches(ann.pubkey, d) && !listsService(ann, c.hosts)) return 'none';
  if (listsService(ann, c.hosts)) return 'hosted';
  if (c.archive === 'all') return 'archived';
  if (c.archive === 'allowlist' && c.archiveAllowlist.matches(ann.pubkey, d)) return 'archived';
  return 'none';
}
