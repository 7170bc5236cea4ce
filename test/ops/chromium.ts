// Headless Chromium for the status page test, driven from the command line (no playwright):
// find a binary, dump the DOM after scripts ran, take a screenshot. Each run gets its own
// throw-away profile directory; output is bounded by a timeout.
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The Chromium binary: $CHROMIUM_BIN, else the first of the usual names on PATH. */
export function findChromium(): string | undefined {
  const candidates = process.env.CHROMIUM_BIN ? [process.env.CHROMIUM_BIN] : [];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) for (const n of NAMES) if (dir) candidates.push(join(dir, n));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

const BASE_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--hide-scrollbars',
];

function run(bin: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'grasp-relay-chromium-'));
  return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      bin,
      [...BASE_FLAGS, `--user-data-dir=${profile}`, ...args],
      { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${bin} failed: ${err.message}\n${stderr.slice(-2000)}`));
        else resolve({ stdout, stderr });
      },
    );
  }).finally(() => rmSync(profile, { recursive: true, force: true }));
}

/**
 * The DOM after the page's scripts ran. `virtualTimeMs` lets timers (the page's refresh) fire
 * without waiting in real time; the page's fetches are real.
 */
export async function dumpDom(bin: string, url: string, opts: { virtualTimeMs?: number; timeoutMs?: number } = {}): Promise<{ dom: string; log: string }> {
  const args = ['--enable-logging=stderr', '--v=0'];
  if (opts.virtualTimeMs !== undefined) args.push(`--virtual-time-budget=${opts.virtualTimeMs}`);
  const { stdout, stderr } = await run(bin, [...args, '--dump-dom', url], opts.timeoutMs ?? 60_000);
  return { dom: stdout, log: stderr };
}

export async function screenshot(bin: string, url: string, file: string, size = { width: 1280, height: 900 }, timeoutMs = 60_000): Promise<void> {
  await run(bin, [`--screenshot=${file}`, `--window-size=${size.width},${size.height}`, url], timeoutMs);
}

/** Visible text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed. */
export function visibleText(html: string): string {
  return html
    .replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The HTML of the first element with this id, up to its first closing tag of the same name (use for elements not nested in their own kind: main, section, table). */
export function section(html: string, id: string): string {
  const start = html.search(new RegExp(`<[a-z]+[^>]*\\bid="${id}"`));
  if (start < 0) return '';
  const tag = /^<([a-z]+)/.exec(html.slice(start))![1]!;
  // sections are not nested in themselves on this page: the first closing tag ends it
  const end = html.indexOf(`</${tag}>`, start);
  return html.slice(start, end < 0 ? undefined : end);
}
