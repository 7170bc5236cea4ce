// Live EVENT frames as UTF-8 bytes. The transports copy a string into native memory on every send
// (flattening `["EVENT",<sub>,` + raw + `]` on the JS heap first); a fan-out instead encodes the
// event's JSON once (EventBytes, shared by every subscription it goes to) and builds each
// subscription's frame as one buffer: its precomputed prefix, those bytes, and `]`.

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
