// The GRASP fields of the NIP-11 document, generated from the config: supported_grasps,
// repo_acceptance_criteria (a human sentence) and curation (only when operator lists are in force).
import type { PolicyConfig, ServiceConfig } from '../config/schema.js';

export interface Nip11PolicyFields {
  supported_grasps: string[];
  repo_acceptance_criteria: string;
  curation?: Nip11Curation;
}

/** What the operator curates. Allowlists are published (they tell users what is hosted); blocklists only as counts. */
export interface Nip11Curation {
  repo_allowlist?: string[];
  repo_blocklist_entries?: number;
  blocked_pubkeys?: number;
  archive_allowlist?: string[];
}

export function nip11PolicyFields(cfg: { service: ServiceConfig; policy: PolicyConfig }): Nip11PolicyFields {
  const p = cfg.policy;
  const grasps = [...cfg.service.grasps];
  if (p.archive !== 'off' && !grasps.includes('GRASP-05')) grasps.push('GRASP-05');

  const out: Nip11PolicyFields = { supported_grasps: grasps, repo_acceptance_criteria: acceptanceSentence(cfg) };

  const curation: Nip11Curation = {};
  if (p.repoAllowlist.length > 0) curation.repo_allowlist = [...p.repoAllowlist];
  if (p.repoBlocklist.length > 0) curation.repo_blocklist_entries = p.repoBlocklist.length;
  if (p.blockedPubkeys.length > 0) curation.blocked_pubkeys = p.blockedPubkeys.length;
  if (p.archive === 'allowlist' && p.archiveAllowlist.length > 0) curation.archive_allowlist = [...p.archiveAllowlist];
  if (Object.keys(curation).length > 0) out.curation = curation;
  return out;
}

function acceptanceSentence(cfg: { service: ServiceConfig; policy: PolicyConfig }): string {
  const p = cfg.policy;
  const parts: string[] = [];
  if (p.mode === 'open') {
    parts.push('Open relay: every valid event is accepted.');
  } else {
    const host = cfg.service.hosts[0] ?? '';
    let s =
      `Repository announcements (kind 30617) are accepted when they list this service (${host}) in both a clone URL ` +
      `and a relays URL, or when their author is a maintainer of an accepted announcement of the same repository`;
    if (p.archive === 'all') s += ', or (archive mode) for any repository';
    else if (p.archive === 'allowlist') s += ', or (archive mode) for the repositories on the archive list';
    parts.push(`${s}.`);
    parts.push('Repository state (kind 30618) is accepted from the repository\'s maintainers.');
    parts.push('Other events are accepted when they reference, or are referenced by, an accepted repository or event.');
    if (p.repoAllowlist.length > 0) parts.push('Only the repositories on the operator\'s allowlist are accepted.');
    if (p.repoBlocklist.length > 0) parts.push('Some repositories are blocked by the operator.');
  }
  if (p.blockedPubkeys.length > 0) parts.push('Some authors are blocked by the operator.');
  return parts.join(' ');
}
