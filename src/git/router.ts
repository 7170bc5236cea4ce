// URL → repository → handler for git smart HTTP (git.md §2.1 "Router", §2.9, §5): the raw path is
// split on `/`, the npub must be lower-case bech32 of 32 bytes, the identifier is percent-decoded
// exactly once and must pass the policy's identifier rule, and the repository must be hosted.
// Disk paths come from (owner, d) after that lookup, never from URL text. Paths that do not start
// with `/npub1` are not ours (the relay's other routes answer them).
import { decode } from 'nostr-tools/nip19';
import { isValidRepoIdentifier } from '../policy/index.js';
import type { HttpRequest, StreamHandler, StreamResponse } from '../relay/transport.js';
import type { HostedRepo } from './hosting.js';

export type RepoPath =
  | { kind: 'repo'; npub: string; owner: string; d: string; rest: string[] }
  | { kind: 'not-found' };

/** Parse a raw request path; undefined when it is not a git path at all. */
export function parseRepoPath(rawPath: string): RepoPath | undefined {
  const parts = rawPath.split('/');
  if (parts[0] !== '' || parts[1] === undefined || !parts[1].startsWith('npub1')) return undefined;
  const npub = parts[1];
  const seg = parts[2];
  if (seg === undefined || seg === '') return { kind: 'not-found' };
  let owner: string;
  try {
    if (npub !== npub.toLowerCase()) return { kind: 'not-found' };
    const r = decode(npub as `npub1${string}`);
    if (r.type !== 'npub') return { kind: 'not-found' };
    owner = r.data;
  } catch {
    return { kind: 'not-found' };
  }
  let d: string;
  try {
    d = decodeURIComponent(seg);
  } catch {
    return { kind: 'not-found' };
  }
  if (d.endsWith('.git')) d = d.slice(0, -4);
  if (!isValidRepoIdentifier(d)) return { kind: 'not-found' };
  return { kind: 'repo', npub, owner, d, rest: parts.slice(3) };
}

export interface GitHandlers {
  hosted(owner: string, d: string): HostedRepo | undefined;
  /** the repository's directory, only for a hosted repository that exists on disk */
  dirOf(r: HostedRepo): string | undefined;
  page(r: HostedRepo, npub: string, req: HttpRequest, res: StreamResponse): void;
  notFoundPage(): string;
  infoRefs(r: HostedRepo, dir: string): StreamHandler;
  uploadPack(r: HostedRepo, dir: string): StreamHandler;
  receivePack(r: HostedRepo, dir: string): StreamHandler;
}

/** Answer a small complete response on a streamed request (the body is not read). */
export function sendText(res: StreamResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.aborted) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  res.end(body);
}

const answer =
  (status: number, body: string, headers: Record<string, string> = {}): StreamHandler =>
  (req, res) => {
    req.body.resume(); // discard whatever body came
    sendText(res, status, body, headers);
  };

export function createRouter(h: GitHandlers): (req: HttpRequest) => StreamHandler | undefined {
  const notFound = answer(404, 'repository not found\n');
  return (req) => {
    const p = parseRepoPath(req.path);
    if (p === undefined) return undefined;
    const isPage = p.kind === 'repo' && (p.rest.length === 0 || (p.rest.length === 1 && p.rest[0] === ''));
    const pageNotFound: StreamHandler = (rq, res) => {
      rq.body.resume();
      if (res.aborted) return;
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(rq.method === 'HEAD' ? '' : h.notFoundPage());
    };
    if (p.kind === 'not-found') {
      const segs = req.path.split('/');
      return segs.length <= 3 || (segs.length === 4 && segs[3] === '') ? pageNotFound : notFound;
    }
    const repo = h.hosted(p.owner, p.d);
    const dir = repo === undefined ? undefined : h.dirOf(repo);
    if (repo === undefined || dir === undefined) return isPage ? pageNotFound : notFound;
    const m = req.method;
    if (isPage) {
      if (m !== 'GET' && m !== 'HEAD') return answer(405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return (rq, res) => {
        rq.body.resume();
        h.page(repo, p.npub, rq, res);
      };
    }
    const rest = p.rest.join('/');
    if (rest === 'info/refs') {
      if (m !== 'GET' && m !== 'HEAD') return answer(405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return h.infoRefs(repo, dir);
    }
    if (rest === 'git-upload-pack' || rest === 'git-receive-pack') {
      if (m !== 'POST') return answer(405, 'method not allowed\n', { allow: 'POST' });
      return rest === 'git-upload-pack' ? h.uploadPack(repo, dir) : h.receivePack(repo, dir);
    }
    return notFound; // dumb-protocol files and anything else
  };
}
