// `grasp-relay repo key|announce|state`: what ngit does for a GRASP push, for someone who has only
// git and Node. `key` makes a secret key; `announce <d>` signs and publishes a repository
// announcement (30617) naming a relay; `state <d>` signs the refs of a local git repository as
// a repository state (30618) and publishes it, after which a plain `git push` is accepted.
// The secret key comes from an environment variable (never the command line).
import { spawnSync } from 'node:child_process';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { decode, npubEncode, nsecEncode } from 'nostr-tools/nip19';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import WebSocket from 'ws';
import type { NostrEvent } from '../nostr/event.js';
import { stringOption, type ParsedArgs } from './args.js';

const DEFAULT_RELAY = 'ws://127.0.0.1:7777';
const DEFAULT_KEY_ENV = 'NOSTR_SECRET_KEY';

export const REPO_USAGE = `  repo key                  print a new secret key (hex) and its npub
  repo announce <d>         publish a repository announcement (30617) naming the relay
       [--relay URL] [--name N] [--description TEXT] [--key-env VAR]
  repo state <d>            publish the refs of the git repository here as a state (30618)
       [--relay URL] [--git-dir DIR] [--key-env VAR]   (then: git push <clone URL> <branches>)`;

class UsageError extends Error {}

function secretKey(args: ParsedArgs): Uint8Array {
  const envName = stringOption(args, 'key-env') ?? DEFAULT_KEY_ENV;
  const v = process.env[envName]?.trim();
  if (!v) throw new UsageError(`set ${envName} to your secret key (hex or nsec); \`grasp-relay repo key\` makes one`);
  if (v.startsWith('nsec1')) {
    const r = decode(v as `nsec1${string}`);
    if (r.type === 'nsec') return r.data;
  }
  if (/^[0-9a-fA-F]{64}$/.test(v)) return hexToBytes(v.toLowerCase());
  throw new UsageError(`${envName} is neither a 64-character hex key nor an nsec`);
}

/** ws://host:port → http://host:port, wss:// → https://. */
export function httpBaseOf(relay: string): string {
  const u = new URL(relay);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new UsageError(`--relay must be a ws:// or wss:// URL, got ${relay}`);
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`;
}

export const cloneUrlOf = (relay: string, pubkey: string, d: string): string => `${httpBaseOf(relay)}/${npubEncode(pubkey)}/${encodeURIComponent(d)}.git`;

/** Publish one event and wait for its OK. */
export function publish(relay: string, event: NostrEvent, timeoutMs = 15_000): Promise<{ ok: boolean; message: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(relay);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no OK from ${relay} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    ws.on('open', () => ws.send(JSON.stringify(['EVENT', event])));
    ws.on('message', (data) => {
      let m: unknown;
      try {
        m = JSON.parse(String(data));
      } catch {
        return;
      }
      if (Array.isArray(m) && m[0] === 'OK' && m[1] === event.id) {
        clearTimeout(timer);
        ws.close();
        resolve({ ok: m[2] === true, message: String(m[3] ?? '') });
      }
    });
    ws.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach ${relay}: ${e.message}`));
    });
  });
}

/** The branches and tags of a local repository, and its HEAD branch. */
export function localRefs(gitDir: string): { refs: Array<[string, string]>; head?: string } {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', GIT_CONFIG_NOSYSTEM: '1' };
  const r = spawnSync('git', ['-C', gitDir, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads', 'refs/tags'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new UsageError(`git for-each-ref failed in ${gitDir}: ${(r.stderr || r.error?.message || '').trim()}`);
  const refs: Array<[string, string]> = [];
  for (const line of r.stdout.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) refs.push([line.slice(sp + 1), line.slice(0, sp)]);
  }
  const h = spawnSync('git', ['-C', gitDir, 'symbolic-ref', '-q', 'HEAD'], { env, encoding: 'utf8' });
  const head = h.status === 0 ? h.stdout.trim() : undefined;
  return head !== undefined && head !== '' ? { refs, head } : { refs };
}

export async function cmdRepo(args: ParsedArgs): Promise<number> {
  const sub = args.positional[1];
  try {
    if (sub === 'key') {
      const sk = generateSecretKey();
      console.log(bytesToHex(sk));
      console.error(`npub: ${npubEncode(getPublicKey(sk))}\nnsec: ${nsecEncode(sk)}\nkeep it secret; export it as ${DEFAULT_KEY_ENV} for the other repo commands`);
      return 0;
    }
    if (sub !== 'announce' && sub !== 'state') throw new UsageError(`repo needs key, announce or state\n${REPO_USAGE}`);
    const d = args.positional[2];
    if (d === undefined || d === '') throw new UsageError(`repo ${sub} needs the repository identifier, e.g. grasp-relay repo ${sub} my-project`);
    const relay = stringOption(args, 'relay') ?? DEFAULT_RELAY;
    const sk = secretKey(args);
    const pk = getPublicKey(sk);
    const clone = cloneUrlOf(relay, pk, d);
    let tags: string[][];
    if (sub === 'announce') {
      tags = [
        ['d', d],
        ['name', stringOption(args, 'name') ?? d],
        ['description', stringOption(args, 'description') ?? ''],
        ['clone', clone],
        ['relays', relay],
        ['maintainers', pk],
        ['alt', `git repository: ${d}`],
      ];
    } else {
      const { refs, head } = localRefs(stringOption(args, 'git-dir') ?? '.');
      if (refs.length === 0) throw new UsageError('no branches or tags to publish: commit something first');
      tags = [['d', d], ...refs.map(([ref, oid]) => [ref, oid])];
      if (head !== undefined && refs.some(([ref]) => ref === head)) tags.push(['HEAD', `ref: ${head}`]);
    }
    const event = finalizeEvent({ kind: sub === 'announce' ? 30617 : 30618, created_at: Math.floor(Date.now() / 1000), tags, content: '' }, sk) as NostrEvent;
    const r = await publish(relay, event);
    console.log(`${r.ok ? 'accepted' : 'refused'}: ${r.message || '(no message)'}`);
    if (!r.ok) return 1;
    if (sub === 'announce') console.log(`clone URL: ${clone}`);
    else {
      const branches = tags.filter((t) => t[0]!.startsWith('refs/heads/')).map((t) => t[0]!.slice('refs/heads/'.length));
      const withTags = tags.some((t) => t[0]!.startsWith('refs/tags/')) ? ' --tags' : '';
      console.log(`now push: git push ${clone} ${branches.join(' ')}${withTags}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`grasp-relay repo: ${e.message}`);
      return 2;
    }
    console.error(`grasp-relay repo: ${(e as Error).message}`);
    return 1;
  }
}
