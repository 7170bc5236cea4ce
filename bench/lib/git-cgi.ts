// The git bench's baseline server: `git http-backend` behind a minimal CGI shim on node:http.
// One git process per request with the CGI environment (RFC 3875 as git needs it), the request
// body piped in, the CGI header block parsed off stdout and the rest streamed to the client with
// backpressure. Same pack.threads as the relay so both serve with the same git work.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CgiServer {
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

export interface CgiOptions {
  /** GIT_PROJECT_ROOT: repositories are served at /<path under it> */
  projectRoot: string;
  /** `-c` settings for the git it runs (as GIT_CONFIG_COUNT/KEY/VALUE) */
  config?: Record<string, string>;
  /** drop the client's Git-Protocol header: the server speaks protocol v0 only (tests of old servers) */
  protocolV0?: boolean;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const HEADER_END_LF = Buffer.from('\n\n');

function cgiEnv(req: IncomingMessage, opts: CgiOptions): NodeJS.ProcessEnv {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    LC_ALL: 'C',
    GIT_PROJECT_ROOT: opts.projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    SERVER_SOFTWARE: 'grasp-bench-cgi',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
  };
  const h = req.headers;
  if (h['content-type'] !== undefined) env.CONTENT_TYPE = h['content-type'];
  if (h['content-length'] !== undefined) env.CONTENT_LENGTH = h['content-length'];
  if (typeof h['git-protocol'] === 'string' && opts.protocolV0 !== true) env.HTTP_GIT_PROTOCOL = h['git-protocol'];
  if (typeof h['content-encoding'] === 'string') env.HTTP_CONTENT_ENCODING = h['content-encoding'];
  const cfg = Object.entries(opts.config ?? {});
  if (cfg.length > 0) {
    env.GIT_CONFIG_COUNT = String(cfg.length);
    cfg.forEach(([k, v], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = k;
      env[`GIT_CONFIG_VALUE_${i}`] = v;
    });
  }
  return env;
}

/** Apply a CGI header block (Status: and the rest) to the response. */
function applyHeaders(res: ServerResponse, block: string): void {
  let status = 200;
  let reason: string | undefined;
  for (const l of block.split(/\r?\n/)) {
    const i = l.indexOf(':');
    if (i <= 0) continue;
    const name = l.slice(0, i).trim();
    const value = l.slice(i + 1).trim();
    if (name.toLowerCase() === 'status') {
      const m = /^(\d{3})\s*(.*)$/.exec(value);
      if (m) {
        status = Number(m[1]);
        reason = m[2] || undefined;
      }
    } else res.appendHeader(name, value);
  }
  res.statusCode = status;
  if (reason !== undefined) res.statusMessage = reason;
}

function handle(req: IncomingMessage, res: ServerResponse, opts: CgiOptions): void {
  const child = spawn('git', ['http-backend'], { env: cgiEnv(req, opts), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  child.stderr.resume();
  req.pipe(child.stdin);
  let head: Buffer | undefined = Buffer.alloc(0);
  const fail = (why: string): void => {
    if (!res.headersSent) {
      res.statusCode = 502;
      res.end(why);
    } else res.destroy();
  };
  child.on('error', (e) => fail(e.message));
  child.stdout.on('data', (chunk: Buffer) => {
    if (head === undefined) {
      // body: stream with backpressure
      if (!res.write(chunk)) {
        child.stdout.pause();
        res.once('drain', () => child.stdout.resume());
      }
      return;
    }
    head = Buffer.concat([head, chunk]);
    let end = head.indexOf(HEADER_END);
    let sep = HEADER_END.length;
    const lf = head.indexOf(HEADER_END_LF);
    if (lf >= 0 && (end < 0 || lf < end)) {
      end = lf;
      sep = HEADER_END_LF.length;
    }
    if (end < 0) {
      if (head.length > 64 * 1024) {
        child.kill();
        fail('CGI header block too long');
      }
      return;
    }
    applyHeaders(res, head.subarray(0, end).toString('latin1'));
    const rest = head.subarray(end + sep);
    head = undefined;
    if (rest.length > 0 && !res.write(rest)) {
      child.stdout.pause();
      res.once('drain', () => child.stdout.resume());
    }
  });
  child.stdout.on('end', () => {
    if (head !== undefined) fail('no CGI header block from git http-backend');
    else res.end();
  });
  res.on('close', () => {
    if (!res.writableFinished) child.kill();
  });
}

export async function startCgi(opts: CgiOptions): Promise<CgiServer> {
  const server: Server = createServer((req, res) => handle(req, res, opts));
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
