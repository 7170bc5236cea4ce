// Finds a uWebSockets.js build that loads on this Node and libc, and decides the transport from
// `server.transport` (auto | uws | ws). Builds are tried in order: the uWS v20.57.0 build published
// as @btc-vision/uwebsockets.js (Node ABIs 115/127/137/141, glibc ≥ 2.38), then the Node-20-only
// build aliased as `uWebSockets.js`. Each is required inside try/catch; a failure is kept as a
// short reason for the start-up log line or the StartupError. See docs/transports.md.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as UWS from 'uWebSockets.js';

export type UwsModule = typeof UWS;
export type TransportSetting = 'auto' | 'uws' | 'ws';

/** One uWebSockets.js build the loader can try. */
export interface UwsCandidate {
  /** npm package name as installed (what an operator sees in node_modules) */
  name: string;
  /** require the build's native module; throws when it cannot load here */
  load(): unknown;
  /** the installed version, when it can be read */
  version(): string | undefined;
}

export interface UwsAttempt {
  build: string;
  reason: string;
}

export interface UwsLoad {
  /** the loaded module, when a build loaded */
  uws?: UwsModule;
  /** `name@version` of the build that loaded */
  build?: string;
  /** every build tried before the one that loaded (or all of them), with why it did not */
  failed: UwsAttempt[];
}

const req = createRequire(import.meta.url);

function packageVersion(pkgJsonPath: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(pkgJsonPath, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The native binary name the uWS builds use for this process. */
export const binaryName = (): string => `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;

/**
 * The builds in the order they are tried. The Node-20 build's own entry point falls back to a slow
 * JS emulation (with a console warning) when its binary does not load, so its binary is required
 * directly: either the real uWS loads or this candidate fails.
 */
export const UWS_BUILDS: readonly UwsCandidate[] = [
  {
    name: '@btc-vision/uwebsockets.js',
    load: () => req('@btc-vision/uwebsockets.js'),
    // its package.json is not in the package's "exports": read it beside the resolved entry point
    version: () => packageVersion(join(dirname(req.resolve('@btc-vision/uwebsockets.js')), 'package.json')),
  },
  {
    name: 'uWebSockets.js',
    load: () => req(`uWebSockets.js/binaries/${binaryName()}`),
    version: () => packageVersion(req.resolve('uWebSockets.js/package.json')),
  },
];

let platform: string | undefined;

/** This process's platform in the words an operator needs: Node version, ABI, libc (computed once). */
export function describePlatform(): string {
  platform ??= platformNow();
  return platform;
}

function platformNow(): string {
  let libc = '';
  if (process.platform === 'linux') {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    libc = header?.glibcVersionRuntime ? `, glibc ${header.glibcVersionRuntime}` : ', not glibc';
  }
  return `Node ${process.versions.node} (ABI ${process.versions.modules}), ${process.platform}-${process.arch}${libc}`;
}

/** A load error as one short clause: not installed, no binary for this ABI, needs a newer glibc, … */
export function failureReason(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = String(err?.message ?? e);
  const glibc = /version [`']GLIBC_([\d.]+)' not found/.exec(msg);
  if (glibc) return `needs glibc ≥ ${glibc[1]}`;
  if (/cannot find module/i.test(msg) && /uws_[a-z0-9]+_[a-z0-9]+_\d+\.node/.test(msg)) return `no binary for Node ABI ${process.versions.modules}`;
  if (err?.code === 'MODULE_NOT_FOUND' || err?.code === 'ERR_MODULE_NOT_FOUND') return 'not installed';
  if (/NODE_MODULE_VERSION/.test(msg)) return `built for another Node ABI (this is ${process.versions.modules})`;
  // the last line of a wrapped error is the dlopen error itself
  const lines = msg.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const last = lines[lines.length - 1] ?? 'failed to load';
  return last.length > 160 ? last.slice(0, 157) + '…' : last;
}

function looksLikeUws(x: unknown): x is UwsModule {
  return typeof x === 'object' && x !== null && typeof (x as { App?: unknown }).App === 'function' && typeof (x as { us_listen_socket_close?: unknown }).us_listen_socket_close === 'function';
}

/** Try each candidate in order; the first that loads and looks like uWS wins. Never throws. */
export function tryLoadUws(candidates: readonly UwsCandidate[]): UwsLoad {
  const failed: UwsAttempt[] = [];
  for (const c of candidates) {
    let mod: unknown;
    try {
      mod = c.load();
    } catch (e) {
      failed.push({ build: c.name, reason: failureReason(e) });
      continue;
    }
    if (!looksLikeUws(mod)) {
      failed.push({ build: c.name, reason: 'loaded, but is not a uWebSockets.js module' });
      continue;
    }
    let version: string | undefined;
    try {
      version = c.version();
    } catch {
      version = undefined;
    }
    return { uws: mod, build: version ? `${c.name}@${version}` : c.name, failed };
  }
  return { failed };
}

let cached: UwsLoad | undefined;

/** The uWS build for this process (loaded once). */
export function loadUws(): UwsLoad {
  cached ??= tryLoadUws(UWS_BUILDS);
  return cached;
}

/** The loaded uWS module, or an error listing why no build loads. */
export function requireUws(): UwsModule {
  const r = loadUws();
  if (r.uws) return r.uws;
  throw new Error(`no uWebSockets.js build loads on ${describePlatform()}: ${summarise(r.failed)}`);
}

const summarise = (failed: readonly UwsAttempt[]): string => failed.map((f) => `${f.build}: ${f.reason}`).join('; ') || 'no build configured';

export type TransportChoice =
  | { transport: 'uws'; uws: UwsModule; why: string }
  | { transport: 'ws'; why: string }
  | { error: string };

/** The transport for a `server.transport` setting, with one sentence saying why (for the log). */
export function chooseTransport(setting: TransportSetting, load: () => UwsLoad = loadUws): TransportChoice {
  if (setting === 'ws') return { transport: 'ws', why: 'server.transport = "ws"' };
  const r = load();
  const platform = describePlatform();
  if (r.uws) {
    const skipped = r.failed.length > 0 ? ` (skipped ${summarise(r.failed)})` : '';
    return { transport: 'uws', uws: r.uws, why: `${r.build} loads on ${platform}${skipped}` };
  }
  if (setting === 'uws') {
    return {
      error: `server.transport = "uws" but no uWebSockets.js build loads on ${platform} (${summarise(r.failed)}); set server.transport = "auto" or "ws" (GRASP_RELAY_SERVER_TRANSPORT=auto), or see docs/transports.md for which Node and libc each build supports`,
    };
  }
  return { transport: 'ws', why: `no uWebSockets.js build loads on ${platform} (${summarise(r.failed)})` };
}
