// Public API of our NIP-77 negentropy (protocol version 1) implementation: typed-array storage
// with O(1) range fingerprints, initiator and responder. Pure: no I/O, no timers.
export { NegentropyError } from './errors.js';
export { buildItems, NegentropyStorage } from './storage.js';
export type { NegentropyItems } from './storage.js';
export { NegentropyInitiator, NegentropyResponder } from './sides.js';
export type { NegentropyOptions } from './sides.js';
export { encodeVarint, decodeVarint, hexToBytes, bytesToHex, PROTOCOL_VERSION } from './codec.js';
