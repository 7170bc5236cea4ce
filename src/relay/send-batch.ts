// Per-tick write coalescing for the WebSocket transports. A live fan-out sends many frames to the
// same sockets in one burst (a durable write batch resolves hundreds of inserts in consecutive
// microtasks); written one by one, each frame costs a syscall. Instead a socket's first send in a
// burst registers a flush here, and every registered flush runs once in a microtask queued behind
// the burst — under uWS's cork, or with the Node socket corked since the first send — so a socket
// gets one write per burst however many frames it received. Ordering per socket is unchanged.

export type Flush = () => void;

let dirty: Flush[] = [];
let scheduled = false;

function runAll(): void {
  scheduled = false;
  const list = dirty;
  dirty = [];
  for (const f of list) {
    try {
      f();
    } catch {
      // a socket that went away mid-flush: its own close handling reports it
    }
  }
}

/**
 * Run `flush` once, after the code and the microtasks already queued have run. The caller keeps
 * its own "registered" flag so a socket registers once per burst.
 */
export function scheduleFlush(flush: Flush): void {
  dirty.push(flush);
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(runAll);
  }
}
