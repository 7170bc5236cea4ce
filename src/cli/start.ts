// `grasp-relay start`: run the relay until SIGINT/SIGTERM, then stop accepting, finish in-flight
// writes, close LMDB and exit 0.
import { createLogger } from '../log.js';
import { startRelay } from '../main.js';
import type { ParsedArgs } from './args.js';
import { configFromArgs } from './config-path.js';

export async function cmdStart(args: ParsedArgs): Promise<number> {
  const config = configFromArgs(args);
  const log = createLogger(config.log.level);
  // a stray rejection is a bug to log, not a reason to drop every client
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));
  const relay = await startRelay(config, { log });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await relay.close();
  log.flush?.();
  return 0;
}
