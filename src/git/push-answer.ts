// A push's report-status answers written by the relay itself, without git (git.md §2.5): an `ng`
// for every command when a push is refused (or cut off), an `ok` for every command when it changes
// nothing. What to answer is decided by the backend; this file only frames the answer.
import type { Exchange } from './exchange.js';
import { NO_CACHE } from './exchange.js';
import { reportStatus, type CommandSection } from './pktline.js';

/** Why a push is refused: an `ng` reason per ref, and one line for the refs without their own. */
export interface Refusal {
  reasons: Map<string, string>;
  summary: string;
}

const NOT_APPLIED = 'not applied: another ref in this push was refused';
const RESULT_TYPE = 'application/x-git-receive-pack-result';

export const wantsReport = (s: CommandSection): boolean => s.capabilities.includes('report-status') || s.capabilities.includes('report-status-v2');

const sideband = (s: CommandSection): boolean => s.capabilities.includes('side-band-64k') || s.capabilities.includes('side-band');

/** 200 report-status with an `ng` for every command (the reason given, else "not applied"). */
export function refusalAnswer(ex: Exchange, section: CommandSection, refusal: Refusal, unpack: string): void {
  ex.head(200, { 'content-type': RESULT_TYPE, ...NO_CACHE });
  ex.write(
    reportStatus({
      unpack,
      refs: section.commands.map((c) => ({ ref: c.ref, ng: refusal.reasons.get(c.ref) ?? (unpack === 'ok' ? NOT_APPLIED : refusal.summary) })),
      sideband: sideband(section),
      summary: refusal.summary,
    }),
  );
  ex.res.end();
}

/** 200 report-status with `ok` for every command. */
export function okAnswer(ex: Exchange, section: CommandSection): void {
  ex.head(200, { 'content-type': RESULT_TYPE, ...NO_CACHE });
  if (wantsReport(section)) ex.write(reportStatus({ unpack: 'ok', refs: section.commands.map((c) => ({ ref: c.ref })), sideband: sideband(section) }));
  ex.res.end();
}
