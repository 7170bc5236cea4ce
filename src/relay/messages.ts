// Client→relay message parsing (NIP-01, 45, 77) and relay→client message building. Parsing keeps
// the event's JSON text as received (`raw`) so it is stored and served without re-serialisation.
// Validation of event fields and filters lives in validate.ts.
import type { NostrEvent } from '../nostr/event.js';

export type ClientMessage =
  | { type: 'EVENT'; event: unknown; raw: string }
  | { type: 'REQ'; subId: unknown; filters: unknown[] }
  | { type: 'COUNT'; subId: unknown; filters: unknown[] }
  | { type: 'CLOSE'; subId: unknown }
  | { type: 'NEG'; msg: unknown[] }
  | { type: 'AUTH'; event: unknown };

export class MessageError extends Error {}

/** Parse one client message. Throws MessageError with a NIP-01-style explanation. */
export function parseClientMessage(text: string): ClientMessage {
  let arr: unknown;
  try {
    arr = JSON.parse(text);
  } catch {
    throw new MessageError('invalid: message is not valid JSON');
  }
  if (!Array.isArray(arr) || arr.length === 0 || typeof arr[0] !== 'string') {
    throw new MessageError('invalid: message must be a JSON array starting with a type string');
  }
  const type = arr[0];
  switch (type) {
    case 'EVENT': {
      if (arr.length !== 2 || typeof arr[1] !== 'object' || arr[1] === null || Array.isArray(arr[1])) {
        throw new MessageError('invalid: EVENT must be ["EVENT", <event object>]');
      }
      return { type, event: arr[1], raw: extractObjectText(text) };
    }
    case 'REQ':
    case 'COUNT':
      if (arr.length < 3) throw new MessageError(`invalid: ${type} needs a subscription id and at least one filter`);
      return { type, subId: arr[1], filters: arr.slice(2) };
    case 'CLOSE':
      if (arr.length !== 2) throw new MessageError('invalid: CLOSE must be ["CLOSE", <subscription id>]');
      return { type, subId: arr[1] };
    case 'NEG-OPEN':
    case 'NEG-MSG':
    case 'NEG-CLOSE':
      return { type: 'NEG', msg: arr };
    case 'AUTH':
      return { type: 'AUTH', event: arr[1] };
    default:
      throw new MessageError(`invalid: unknown message type ${JSON.stringify(type.slice(0, 32))}`);
  }
}

/**
 * The text of the single object in `["EVENT", {...}]`: from the first `{` to the last `}`.
 * Sound because the only other element is the literal string "EVENT".
 */
function extractObjectText(text: string): string {
  return text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
}

const EVENT_KEYS = 7;

/** Number of own keys, without allocating a key array (this runs once per event). */
function keyCount(o: object): number {
  let n = 0;
  for (const _k in o) n++;
  return n;
}

/**
 * The JSON to store for a validated event: the received text when the object has exactly the
 * NIP-01 fields, otherwise a canonical re-serialisation without the extra fields.
 */
export function storableRaw(event: NostrEvent, raw: string): string {
  if (keyCount(event) === EVENT_KEYS) return raw;
  const { id, pubkey, created_at, kind, tags, content, sig } = event;
  return JSON.stringify({ id, pubkey, created_at, kind, tags, content, sig });
}

// ---- relay → client -------------------------------------------------------------------------

/** `["EVENT",subId,raw]` built by splicing; `subIdJson` is JSON.stringify(subId), computed once. */
export const eventMessage = (subIdJson: string, raw: string): string => `["EVENT",${subIdJson},${raw}]`;
export const okMessage = (id: string, ok: boolean, message: string): string => JSON.stringify(['OK', id, ok, message]);
export const eoseMessage = (subIdJson: string): string => `["EOSE",${subIdJson}]`;
export const closedMessage = (subId: string, message: string): string => JSON.stringify(['CLOSED', subId, message]);
export const noticeMessage = (message: string): string => JSON.stringify(['NOTICE', message]);
export const countMessage = (subId: string, count: number): string => JSON.stringify(['COUNT', subId, { count }]);
