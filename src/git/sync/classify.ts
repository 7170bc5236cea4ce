// What a failed `git fetch` from a remote was (git.md §3 "Politeness and health"): git's exit and
// stderr (curl's and the remote's messages as git relays them) mapped to a FetchErrorClass, with
// one printable line for operators — never the remote's raw multi-line output.
import type { FetchErrorClass, FetchFailure } from './types.js';

/** Longest message kept. */
const MAX_MESSAGE = 200;

const RULES: Array<[RegExp, FetchErrorClass]> = [
  [/could not resolve (host|proxy)|name or service not known|temporary failure in name resolution/i, 'dns'],
  [/ssl|tls|certificate|gnutls|handshake|self.signed|unable to get local issuer/i, 'tls'],
  [/operation too slow|timed? ?out|timeout was reached/i, 'timeout'],
  [/connection refused|failed to connect|couldn't connect|connection reset|recv failure|send failure|network is unreachable|no route to host|empty reply from server/i, 'refused'],
  [
    /fsck|index-pack|unpack-objects|bad pack|pack signature|pack has|protocol error|unexpected disconnect|expected flush|expected ['"]?(acknowledgments|packfile)|did not send all necessary objects|bad object|invalid (packet|object|response|server)|malformed|early eof|remote end hung up|not a git repository|unknown capability|bad band|RPC failed|transfer closed/i,
    'protocol',
  ],
];

/** HTTP status git reported: "The requested URL returned error: 503", "RPC failed; HTTP 500 curl 22 …". */
function httpStatus(stderr: string): number | undefined {
  const m = /returned error: (\d{3})/i.exec(stderr) ?? /\bHTTP (\d{3})\b/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/** The line of git's stderr that says what went wrong, stripped to printable text. */
export function oneLine(stderr: string): string {
  const lines = stderr
    .split(/\r?\n|\r/)
    // eslint-disable-next-line no-control-regex
    .map((l) => l.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim())
    .filter((l) => l !== '' && !/^(hint|warning):/i.test(l));
  // git's final "fatal:" line is usually the summary; the curl/remote cause can precede it
  const pick = lines.find((l) => /^error: RPC failed/i.test(l)) ?? lines.findLast((l) => /^(fatal|error):/i.test(l)) ?? lines.at(-1) ?? '';
  const s = pick.replace(/^(fatal|error):\s*/i, '').replace(/\s+/g, ' ');
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 3)}...` : s;
}

/** Classify a failed fetch from git's exit code and stderr; `hostname` (which curl echoes) is masked too. */
export function classifyGitFailure(code: number | null, raw: string, hostname?: string): FetchFailure {
  const message = oneLine(raw) || `git fetch exited with ${code === null ? 'a signal' : `code ${code}`}`;
  // the URL itself (which git quotes back) must not decide the class: https://tls.example/, …/fsck.git
  const masked = hostname !== undefined && hostname !== '' ? raw.split(hostname).join('HOST') : raw;
  const stderr = masked.replace(/'[A-Za-z][A-Za-z0-9+.-]*:\/\/[^']*'/g, "'URL'").replace(/\b[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+/g, 'URL');
  // "repository '<url>' not found": git's reading of a 404 on info/refs
  if (/repository '.*' not found/i.test(stderr)) return { cls: 'not-found', message, status: 404 };
  // a remote asking for credentials: git has none to give (no helper, no prompt)
  if (/could not read (username|password)|authentication failed/i.test(stderr)) return { cls: 'http', message, status: 401 };
  const status = httpStatus(stderr);
  if (status === 404 || status === 410) return { cls: 'not-found', message, status };
  for (const [re, cls] of RULES) {
    if (re.test(stderr)) {
      if (cls === 'protocol' && status !== undefined && status >= 400) return { cls: 'http', message, status };
      return { cls, message };
    }
  }
  if (status !== undefined && status >= 400) return { cls: 'http', message, status };
  return { cls: 'git', message };
}
