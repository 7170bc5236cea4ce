// The process logger (pino): JSON lines, pretty-printed when stdout is a TTY. Modules take a child
// logger (`log.child({ mod: 'sync' })`) rather than importing a global, so tests can silence them.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.stdout.isTTY && process.env.NODE_ENV !== 'production';
  return pino({
    level,
    base: undefined,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}

/** A logger that writes nothing: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
