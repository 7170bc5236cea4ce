// The write policy's public entry point: createPolicy (mode grasp or open) and the NIP-11 fields.
// The relay core and the sync engine import from here only; the rules live in grasp.ts.
import type { PolicyConfig, ServiceConfig } from '../config/schema.js';
import type { NostrEvent } from '../nostr/event.js';
import type { StoreReader } from '../store/types.js';
import { checkEvent, compilePolicy } from './grasp.js';
import { classifyAnnouncement, type Hosting } from './hosting.js';
import type { Origin, PolicyDecision, WritePolicy } from './types.js';

export type { Origin, PolicyDecision, RejectCode, RejectPrefix, WritePolicy } from './types.js';
export { nip11PolicyFields, type Nip11Curation, type Nip11PolicyFields } from './nip11.js';
export { normalizeServiceUrl } from './urls.js';
export { PolicyListError } from './lists.js';
export { isValidRepoIdentifier } from './grasp.js';
export { announcementsForD, recursiveMaintainers, tagValues, KIND_ANNOUNCEMENT, type MaintainerSet } from './maintainers.js';
export { urlIsService, parseHostSpec, type HostSpec } from './urls.js';
export type { Hosting } from './hosting.js';

/** The hosting rule of the git half: which announcements get a repository, read-write or read-only. */
export function createHostingRules(cfg: { service: ServiceConfig; policy: PolicyConfig }): (announcement: NostrEvent) => Hosting {
  const compiled = compilePolicy(cfg);
  return (ann) => classifyAnnouncement(compiled, ann);
}

/**
 * Build the write policy from the config. Lists and hosts are parsed here, once; a malformed
 * entry throws (PolicyListError / Error naming the key) so the relay refuses to start.
 */
export function createPolicy(cfg: { service: ServiceConfig; policy: PolicyConfig }): WritePolicy {
  const compiled = compilePolicy(cfg);
  return {
    mode: compiled.mode,
    // Origin does not change any rule (grasp.md §2); it is part of the contract so that a future
    // rule never has to infer it.
    check(event: NostrEvent, store: StoreReader, _origin: Origin): PolicyDecision {
      return checkEvent(compiled, event, store);
    },
  };
}
