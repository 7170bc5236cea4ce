// The NIP-77 initiator side for sync: wraps the negentropy module's storage and initiator for
// one session over a local item set. No I/O; peer.ts carries the messages.
import { NegentropyInitiator, NegentropyStorage } from '../negentropy/index.js';
import type { NegentropyItems } from '../store/types.js';

export interface NegSession {
  initiate(): string;
  reconcile(hex: string): { output: string | null; need: string[] };
}

export function negentropySession(items: NegentropyItems, frameSizeLimit: number): NegSession {
  // our messages stay under the limit; the peer's may be any size (the WebSocket bounds them)
  const init = new NegentropyInitiator(new NegentropyStorage(items), frameSizeLimit > 0 ? { frameSizeLimit, maxIncomingFrame: 0 } : {});
  return {
    initiate: () => init.initiate(),
    reconcile: (hex) => {
      const r = init.reconcile(hex);
      return { output: r.output, need: r.need };
    },
  };
}
