// Public API of GRASP-02 proactive sync: the engine the relay constructs when sync.enabled, its
// status shape, and the pure pieces (URLs, filters, computeActions) other modules may reuse.
export { SyncEngine, emptySyncTotals, type SyncEngineDeps, type SyncStatus, type SyncTotals } from './engine.js';
export type { PeerStatus, PeerCounters } from './peer.js';
export { computeActions, computeConnections } from './actions.js';
export { normalizeRelayUrl, isSelf } from './urls.js';
export { L1_FILTER, repoFilters, rootFilters, itemFilters } from './filters.js';
export { LivePlan, blockSize } from './live.js';
