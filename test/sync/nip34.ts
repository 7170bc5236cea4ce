// NIP-34 fixtures for sync tests: announcements naming services and peer relays, states,
// issues, patches, PRs, NIP-22 comments and statuses, signed with deterministic test keys.
import { npubEncode } from 'nostr-tools/nip19';
import type { NostrEvent } from '../../src/nostr/event.js';
import { keypair, sign, type Keypair } from '../helpers/events.js';

export { keypair, type Keypair };

const httpOf = (ws: string): string => ws.replace(/^ws(s?):\/\//, 'http$1://').replace(/\/$/, '');

/** A 30617 listing `services` in clone and relays, plus extra `relays`. */
export function announcement(
  owner: Keypair,
  d: string,
  opts: { services?: string[]; relays?: string[]; maintainers?: string[]; created_at?: number } = {},
): NostrEvent {
  const services = opts.services ?? [];
  const tags: string[][] = [['d', d], ['name', d]];
  if (services.length > 0) tags.push(['clone', ...services.map((s) => `${httpOf(s)}/${npubEncode(owner.pk)}/${d}.git`)]);
  else tags.push(['clone', `https://elsewhere.example/${d}.git`]);
  tags.push(['relays', ...services, ...(opts.relays ?? [])]);
  if (opts.maintainers !== undefined) tags.push(['maintainers', ...opts.maintainers]);
  return sign(owner, { kind: 30617, tags, ...(opts.created_at !== undefined ? { created_at: opts.created_at } : {}) });
}

export const addressOf = (owner: Keypair, d: string): string => `30617:${owner.pk}:${d}`;

export function state(author: Keypair, d: string, created_at?: number): NostrEvent {
  return sign(author, {
    kind: 30618,
    tags: [['d', d], ['refs/heads/main', 'a'.repeat(40)], ['HEAD', 'ref: refs/heads/main']],
    ...(created_at !== undefined ? { created_at } : {}),
  });
}

export function issue(author: Keypair, repo: string, subject = 'an issue', created_at?: number): NostrEvent {
  const owner = repo.split(':')[1]!;
  return sign(author, {
    kind: 1621,
    tags: [['a', repo], ['p', owner], ['subject', subject]],
    content: subject,
    ...(created_at !== undefined ? { created_at } : {}),
  });
}

export function patch(author: Keypair, repo: string): NostrEvent {
  return sign(author, { kind: 1617, tags: [['a', repo], ['t', 'root']], content: 'From 1 Mon Sep 17 00:00:00 2001\n' });
}

export function pr(author: Keypair, repo: string): NostrEvent {
  return sign(author, { kind: 1618, tags: [['a', repo], ['subject', 'a PR'], ['c', 'b'.repeat(40)], ['branch-name', 'feature']] });
}

/** A NIP-22 comment on a root event (E/K/P root scope, e/k parent); no repository tag. */
export function comment(author: Keypair, root: NostrEvent, text = 'a comment', created_at?: number): NostrEvent {
  return sign(author, {
    kind: 1111,
    tags: [['E', root.id], ['K', String(root.kind)], ['P', root.pubkey], ['e', root.id], ['k', String(root.kind)], ['p', root.pubkey]],
    content: text,
    ...(created_at !== undefined ? { created_at } : {}),
  });
}

/** A status (1630 open … 1633 draft) on a root, `e` with marker root; no repository tag. */
export function status(author: Keypair, root: NostrEvent, kind = 1630): NostrEvent {
  return sign(author, { kind, tags: [['e', root.id, '', 'root'], ['p', root.pubkey]] });
}

/** A whole repository: announcement, state, issue, patch, PR, comments and statuses on them. */
export function repository(
  owner: Keypair,
  d: string,
  opts: { services?: string[]; relays?: string[] },
): { announcement: NostrEvent; rest: NostrEvent[]; all: NostrEvent[]; address: string } {
  const ann = announcement(owner, d, opts);
  const addr = addressOf(owner, d);
  const other = keypair('contributor');
  const iss = issue(other, addr);
  const pat = patch(other, addr);
  const p = pr(other, addr);
  const rest = [state(owner, d), iss, pat, p, comment(owner, iss), comment(other, pat), status(owner, p, 1631), status(owner, iss, 1632)];
  return { announcement: ann, rest, all: [ann, ...rest], address: addr };
}
