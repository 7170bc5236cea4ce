// Worker-thread entry for the verify pool (src/crypto/verify.ts): loads one backend, then answers
// batches. Raw backends get packed (id, sig, pubkey) records in a transferred ArrayBuffer and write
// one result byte per record after them, transferring the same buffer back (no copies, no garbage).
import { parentPort, workerData } from 'node:worker_threads';
import { loadBackend, PACKED_RECORD, type SigBackend, type VerifyBackendName } from './backends.js';
import type { NostrEvent } from '../nostr/event.js';

/** main → worker */
export type WorkerRequest =
  | { seq: number; n: number; buf: ArrayBuffer }
  | { seq: number; events: NostrEvent[] };

/** worker → main */
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'raw'; seq: number; n: number; buf: ArrayBuffer }
  | { type: 'event'; seq: number; res: Uint8Array };

export interface WorkerInit {
  backend: VerifyBackendName;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('verify-worker must run in a worker thread');
  const init = workerData as WorkerInit;
  let backend: SigBackend;
  try {
    backend = await loadBackend(init.backend);
  } catch (err) {
    port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
    return;
  }
  port.on('message', (msg: WorkerRequest) => {
    if ('buf' in msg) {
      const u8 = Buffer.from(msg.buf);
      const resOff = msg.n * PACKED_RECORD;
      for (let i = 0; i < msg.n; i++) u8[resOff + i] = backend.verifyPacked(u8, i * PACKED_RECORD) ? 1 : 0;
      port.postMessage({ type: 'raw', seq: msg.seq, n: msg.n, buf: msg.buf } satisfies WorkerReply, [msg.buf]);
    } else {
      const res = new Uint8Array(msg.events.length);
      for (let i = 0; i < msg.events.length; i++) res[i] = backend.verifyEvent(msg.events[i]) ? 1 : 0;
      port.postMessage({ type: 'event', seq: msg.seq, res } satisfies WorkerReply, [res.buffer]);
    }
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}

void main();
