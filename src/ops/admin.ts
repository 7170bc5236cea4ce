// Operator actions over HTTP, off unless a token is configured: POST /admin/resync[?relay=URL]
// with `Authorization: Bearer <token>` forces a full resync of one peer or all; POST
// /admin/resync?git=1 hunts the git data of every hosted repository now (git sync), its progress in
// GET /status (git.sync.resync). The token comes from the environment variable named by
// service.adminTokenEnv, never from the config file.
import { timingSafeEqual } from 'node:crypto';
import type { RelayHandle } from '../main.js';
import type { HttpRequest, HttpResponse } from '../relay/transport.js';

const json = (status: number, body: unknown): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

function tokenMatches(header: string, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (m === null) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Registers the admin routes when a token is set; returns whether it did. */
export function installAdmin(relay: RelayHandle, env: NodeJS.ProcessEnv = process.env): boolean {
  const token = env[relay.config.service.adminTokenEnv];
  if (token === undefined || token === '') return false;
  relay.routes.post('/admin/resync', (req: HttpRequest) => {
    if (!tokenMatches(req.header('authorization'), token)) return json(401, { ok: false, error: 'unauthorized' });
    const q = new URLSearchParams(req.query);
    const target = q.get('relay') ?? undefined;
    const git = q.get('git');
    if (git !== null && git !== '0' && git !== 'false') {
      if (target !== undefined) return json(400, { ok: false, error: 'git=1 hunts every repository: it does not take relay=' });
      if (relay.git === undefined) return json(409, { ok: false, error: 'the git half is disabled (git.enabled = false)' });
      if (relay.git.sync === undefined) return json(409, { ok: false, error: 'git sync is disabled (git.syncEnabled = false)' });
      const requestedAt = Date.now();
      // a resync already running is joined, not restarted: its progress is returned
      const progress = relay.git.sync.resync();
      return json(202, { ok: true, git: true, progress, requestedAt });
    }
    if (relay.sync === undefined) return json(409, { ok: false, error: 'sync is disabled' });
    // taken before the resync starts: a peer that finishes within the same millisecond still counts
    const requestedAt = Date.now();
    try {
      relay.sync.resync(target);
    } catch (e) {
      return json(404, { ok: false, error: (e as Error).message });
    }
    return json(202, { ok: true, relay: target ?? 'all', requestedAt });
  });
  return true;
}
