// A real LMDB store in a fresh temp directory for the policy tests, and a helper that inserts
// events through the store's writer (the policy is then checked against what was stored).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { NostrEvent } from '../../src/nostr/event.js';
import type { Store } from '../../src/store/types.js';
import { openStore } from '../../src/store/lmdb-store.js';

export interface TempStore {
  store: Store;
  insert(...events: NostrEvent[]): Promise<void>;
  destroy(): Promise<void>;
}

export async function tempStore(): Promise<TempStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'grasp-policy-test-'));
  const store = await openStore({ dataDir, mapSizeGiB: 1 });
  return {
    store,
    async insert(...events) {
      for (const ev of events) {
        const r = await store.insert(ev, JSON.stringify(ev));
        assert.equal(r.status, 'stored', `setup insert of kind ${ev.kind} ${ev.id}: ${JSON.stringify(r)}`);
      }
    },
    async destroy() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
