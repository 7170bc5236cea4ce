// Where the CLI finds its configuration: --config PATH, else config/grasp-relay.toml when present.
import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { stringOption, type ParsedArgs } from './args.js';

export const DEFAULT_CONFIG_PATH = 'config/grasp-relay.toml';

export function configFromArgs(args: ParsedArgs): Config {
  const explicit = stringOption(args, 'config');
  const path = explicit ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  return loadConfig(path);
}
