// NIP-34 events for the ops tests: a GRASP repository announcement built as grasp.md §2 says
// (clone http://<host>/<npub>/<d>.git and relays ws://<host> for each service host, plus extra
// relays), its state, an issue and a comment, signed with deterministic test keys; and a capture
// of what `grasp-relay status` prints.
import { npubEncode } from 'nostr-tools/nip19';
import type { NostrEvent } from '../../src/nostr/event.js';
import type { StatusOutput } from '../../src/cli/status.js';
import { keypair, sign, type Keypair } from '../helpers/events.js';

export { keypair, type Keypair };

export interface RepoFixture {
  announcement: NostrEvent;
  state: NostrEvent;
  issue: NostrEvent;
  comment: NostrEvent;
  all: NostrEvent[];
  address: string;
}

/** A repository hosted on `hosts` (host[:port] each), also naming `extraRelays` (ws URLs). */
export function repository(
  owner: Keypair,
  d: string,
  opts: { hosts: string[]; extraRelays?: string[]; name?: string; description?: string },
): RepoFixture {
  const npub = npubEncode(owner.pk);
  const announcement = sign(owner, {
    kind: 30617,
    tags: [
      ['d', d],
      ['name', opts.name ?? d],
      ['description', opts.description ?? ''],
      ['clone', ...opts.hosts.map((h) => `http://${h}/${npub}/${d}.git`)],
      ['relays', ...opts.hosts.map((h) => `ws://${h}`), ...(opts.extraRelays ?? [])],
    ],
  });
  const address = `30617:${owner.pk}:${d}`;
  const state = sign(owner, { kind: 30618, tags: [['d', d], ['refs/heads/main', 'c'.repeat(40)], ['HEAD', 'ref: refs/heads/main']] });
  const contributor = keypair('ops-contributor');
  const issue = sign(contributor, { kind: 1621, tags: [['a', address], ['p', owner.pk], ['subject', 'status page shows peers']], content: 'It should.' });
  const comment = sign(owner, {
    kind: 1111,
    tags: [['E', issue.id], ['K', '1621'], ['P', issue.pubkey], ['e', issue.id], ['k', '1621'], ['p', issue.pubkey]],
    content: 'Agreed.',
  });
  return { announcement, state, issue, comment, all: [announcement, state, issue, comment], address };
}

/** Publish straight into a relay's write path (origin client); every event must be accepted. */
export async function put(relay: { url: string; ingest: { submit(e: NostrEvent, raw: string, origin: 'client'): Promise<{ ok: boolean; message: string }> } }, events: NostrEvent[]): Promise<void> {
  for (const e of events) {
    const r = await relay.ingest.submit(e, JSON.stringify(e), 'client');
    if (!r.ok) throw new Error(`${relay.url} refused kind ${e.kind}: ${r.message}`);
  }
}

/** A StatusOutput that collects what `grasp-relay status` writes (no colour). */
export function capture(): StatusOutput & { out: string; err: string } {
  const o = {
    out: '',
    err: '',
    color: false,
    write(t: string) {
      o.out += t;
    },
    error(t: string) {
      o.err += t;
    },
  };
  return o;
}
