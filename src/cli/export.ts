// `grasp-relay export [--filter JSON]`: stored events as JSONL on stdout, exactly as stored,
// streamed in slices with backpressure on stdout. Progress on stderr.
import { systemClock } from '../clock.js';
import { createLogger } from '../log.js';
import { openStore } from '../store/lmdb-store.js';
import type { Filter } from '../nostr/event.js';
import { checkFilter } from '../relay/validate.js';
import { stringOption, type ParsedArgs } from './args.js';
import { configFromArgs } from './config-path.js';
import { Progress } from './progress.js';

export async function cmdExport(args: ParsedArgs): Promise<number> {
  const config = configFromArgs(args);
  let filter: Filter = {};
  const f = stringOption(args, 'filter');
  if (f !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(f);
    } catch {
      console.error('grasp-relay export: --filter is not valid JSON');
      return 2;
    }
    const checked = checkFilter(parsed, { ...config.limits, maxFilterValues: Number.MAX_SAFE_INTEGER });
    if ('error' in checked) {
      console.error(`grasp-relay export: ${checked.error}`);
      return 2;
    }
    filter = checked.filter;
  }
  const store = await openStore({ dataDir: config.store.dataDir, clock: systemClock, log: createLogger('warn') });
  let n = 0;
  const progress = new Progress('export', () => `${n} events`);
  try {
    const limit = filter.limit ?? Number.MAX_SAFE_INTEGER;
    for await (const slice of store.query([{ ...filter, limit }], { maxLimit: Number.MAX_SAFE_INTEGER })) {
      const ok = process.stdout.write(slice.join('\n') + '\n');
      n += slice.length;
      progress.tick(slice.length);
      if (!ok) await new Promise((r) => process.stdout.once('drain', r));
    }
  } finally {
    progress.done();
    await store.close();
  }
  return 0;
}
