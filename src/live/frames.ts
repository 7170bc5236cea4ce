// Live EVENT frames as UTF-8 bytes. The transports copy a string into native memory on every send
// (flattening `["EVENT",<sub>,` + raw + `]` on the JS heap first); a fan-out instead encodes the
// event's JSON once (EventBytes, shared by every subscription it goes to) and builds each
// subscription's frame as one buffer: its precomputed prefix, those bytes, and `]`.
// A transport that copies a frame into its own buffer when it sends it (uWS) builds frames back to
// back in a FrameSlab instead: a view each, no buffer allocation per delivery, and the slab's bytes
// are written over once the transport has sent everything built in it.

/** The event's JSON as UTF-8, encoded on first use and shared by all deliveries of one fan-out. */
export class EventBytes {
  private bytes: Buffer | undefined;
  constructor(readonly raw: string) {}
  get value(): Buffer {
    return (this.bytes ??= Buffer.from(this.raw, 'utf8'));
  }
}

/** `["EVENT",<subIdJson>,` as bytes: computed once per subscription. */
export const eventFramePrefix = (subIdJson: string): Buffer => Buffer.from(`["EVENT",${subIdJson},`, 'utf8');

const CLOSE_BRACKET = 0x5d;

/** `["EVENT",<subId>,<raw>]` as one buffer (pooled for frames under 4 KiB). */
export function eventFrame(prefix: Uint8Array, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + body.length + 1);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  out[out.length - 1] = CLOSE_BRACKET;
  return out;
}

/**
 * Frames written back to back into one reusable buffer. The owner calls `release()` when no
 * frame built since the last release is still waiting to be sent; a view never sees its bytes
 * written over. A burst that does not fit moves to a slab twice the size (the views still queued
 * keep the old one alive until they are sent), up to `maxBytes`; past that, frames get buffers of
 * their own. So the slab settles at the size of the largest burst, at most `maxBytes`.
 */
export class FrameSlab {
  private slab: Uint8Array;
  private used = 0;
  constructor(
    initialBytes = 64 * 1024,
    private readonly maxBytes = 4 * 1024 * 1024,
  ) {
    this.slab = Buffer.allocUnsafeSlow(initialBytes);
  }
  /** bytes of the current slab */
  get size(): number {
    return this.slab.length;
  }
  /** `head + body + ']'` */
  frame(head: Uint8Array, body: Uint8Array): Uint8Array {
    const len = head.length + body.length + 1;
    if (this.used + len > this.slab.length) {
      if (this.slab.length >= this.maxBytes || len > this.maxBytes >>> 3) return eventFrame(head, body);
      this.slab = Buffer.allocUnsafeSlow(Math.min(this.maxBytes, this.slab.length * 2));
      this.used = 0;
    }
    const start = this.used;
    const s = this.slab;
    // the head is a dozen bytes: a loop beats set()'s call overhead
    for (let i = 0; i < head.length; i++) s[start + i] = head[i]!;
    s.set(body, start + head.length);
    s[start + len - 1] = CLOSE_BRACKET;
    this.used = start + len;
    return new Uint8Array(s.buffer, s.byteOffset + start, len);
  }
  /** Every frame built so far has been sent (or dropped): its bytes may be written over. */
  release(): void {
    this.used = 0;
  }
}
