// `grasp-relay import [FILE]`: JSONL events from FILE or stdin through the same write path as a
// client's (verified, policy, batched store). Events the policy refused because a dependency was
// missing are retried after the rest, until a pass makes no progress. Progress on stderr.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { systemClock } from '../clock.js';
import { createLogger } from '../log.js';
import { createCore } from '../main.js';
import type { NostrEvent } from '../nostr/event.js';
import type { IngestResult } from '../relay/ingest.js';
import { stringOption, type ParsedArgs } from './args.js';
import { configFromArgs } from './config-path.js';
import { Progress } from './progress.js';

const IN_FLIGHT = 512;

export async function cmdImport(args: ParsedArgs): Promise<number> {
  let config = configFromArgs(args);
  if (args.options.has('open')) config = { ...config, policy: { ...config.policy, mode: 'open' } };
  const log = createLogger(config.log.level === 'info' ? 'warn' : config.log.level);
  const core = await createCore(config, log, systemClock);
  const file = args.positional[1] ?? stringOption(args, 'file');
  const input = file && file !== '-' ? createReadStream(file) : process.stdin;
  const totals = { lines: 0, stored: 0, duplicate: 0, refused: 0, invalid: 0 };
  const progress = new Progress('import', () => `${totals.lines} lines: ${totals.stored} stored, ${totals.duplicate} duplicate, ${totals.refused} refused, ${totals.invalid} invalid`);
  const retry: Array<{ event: NostrEvent; raw: string }> = [];
  const inflight = new Set<Promise<void>>();

  const submit = (event: NostrEvent, raw: string, keepForRetry: boolean): Promise<IngestResult> =>
    core.ingest.submit(event, raw, 'client').then((r) => {
      if (r.ok && r.duplicate) totals.duplicate++;
      else if (r.ok) totals.stored++;
      else if (keepForRetry && r.decision?.waitingFor?.length) retry.push({ event, raw });
      else totals.refused++;
      return r;
    });

  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      const raw = line.trim();
      if (raw === '') continue;
      totals.lines++;
      let event: NostrEvent;
      try {
        event = JSON.parse(raw) as NostrEvent;
      } catch {
        totals.invalid++;
        continue;
      }
      const p = submit(event, raw, true).then(() => undefined);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      if (inflight.size >= IN_FLIGHT) await Promise.race(inflight);
      progress.tick();
    }
    await Promise.all(inflight);
    // dependency passes: retry what waited for something, while a pass stores anything
    let pending = retry.splice(0);
    while (pending.length > 0) {
      const before = totals.stored;
      const next: typeof pending = [];
      for (const { event, raw } of pending) {
        const r = await submit(event, raw, false).catch(() => undefined);
        if (r && !r.ok && r.decision?.waitingFor?.length) {
          totals.refused--;
          next.push({ event, raw });
        }
      }
      if (totals.stored === before) {
        totals.refused += next.length;
        break;
      }
      pending = next;
    }
  } finally {
    progress.done();
    await core.close();
  }
  process.stderr.write(`import done: ${JSON.stringify(totals)}\n`);
  return 0;
}
