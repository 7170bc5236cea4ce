// The process logger (pino): JSON lines, pretty-printed when stdout is a TTY and pino-pretty is
// installed (it is a dev dependency). Modules take a child logger (`log.child({ mod: 'sync' })`)
// rather than importing a global, so tests can silence them.
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';

export type { Logger };

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.stdout.isTTY === true && prettyAvailable();
  return pino({
    level,
    base: undefined,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}

/** A logger that writes nothing: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
