// Repository identifiers as directory names (git.md §2.3): every byte outside [A-Za-z0-9_~-]
// percent-encoded, dots included, long names hashed, and the way back for the startup scan.
// Pure; src/git/repos.ts builds the paths from these names.
import { createHash } from 'node:crypto';

/** An encoded name past this many bytes is replaced by `~<sha256(d) hex>`. */
export const MAX_NAME_BYTES = 200;
/** A hashed name: `~<sha256(d) hex>`. */
export const HASHED_NAME_RE = /^~[0-9a-f]{64}$/;
const SAFE_BYTE = (b: number): boolean =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x7e || b === 0x2d;

/**
 * The directory name (without `.git`) of identifier d: every byte outside [A-Za-z0-9_~-] as
 * `%XX` (upper-case hex; dots included, so no name starts with a dot). A leading `~` is escaped
 * too so that only hashed names start with `~` (a `~<64 hex>` identifier cannot collide with the
 * hashed name of a long one). Over MAX_NAME_BYTES → `~<sha256(d) hex>`.
 */
export function encodeName(d: string): string {
  if (d === '') throw new Error('empty repository identifier');
  const bytes = Buffer.from(d, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (SAFE_BYTE(b) && !(i === 0 && b === 0x7e)) out += String.fromCharCode(b);
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out.length > MAX_NAME_BYTES ? '~' + createHash('sha256').update(bytes).digest('hex') : out;
}

/** The identifier of an encoded name, or undefined when it is hashed or not a name encodeName makes. */
export function decodeName(name: string): string | undefined {
  if (name === '' || name.startsWith('~') || !/^(?:[A-Za-z0-9_~-]|%[0-9A-F]{2})+$/.test(name)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '%') {
      bytes.push(parseInt(name.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(name.charCodeAt(i));
  }
  const d = Buffer.from(bytes).toString('utf8');
  // only the canonical encoding of valid UTF-8 round-trips
  return encodeName(d) === name ? d : undefined;
}
