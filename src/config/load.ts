// Loading the configuration: TOML file, then environment overrides GRASP_RELAY_<SECTION>_<KEY>
// (e.g. GRASP_RELAY_SERVER_PORT=8080, GRASP_RELAY_SYNC_BOOTSTRAP_RELAYS=wss://a,wss://b), then
// validation. Errors name the key, the value and what was expected; the caller refuses to start.
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {}

const ENV_PREFIX = 'GRASP_RELAY_';

/** camelCase → SNAKE_CASE, as used in environment variable names. */
export function envName(section: string, key: string): string {
  const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  return `${ENV_PREFIX}${snake(section)}_${snake(key)}`;
}

function coerceEnv(raw: string, shape: z.ZodType): unknown {
  let t: z.ZodType = shape;
  // unwrap defaults/optionals to the underlying type
  for (;;) {
    const def = (t as unknown as { def?: { type?: string; innerType?: z.ZodType } }).def;
    if (def && (def.type === 'default' || def.type === 'optional') && def.innerType) t = def.innerType;
    else break;
  }
  const type = (t as unknown as { def?: { type?: string } }).def?.type;
  if (type === 'number') {
    const n = Number(raw);
    return raw.trim() === '' || Number.isNaN(n) ? raw : n;
  }
  if (type === 'union') {
    // e.g. 'auto' | number: a numeric string is the number
    const n = Number(raw);
    return raw.trim() === '' || Number.isNaN(n) ? raw : n;
  }
  if (type === 'boolean') return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
  if (type === 'array') {
    const s = raw.trim();
    if (s.startsWith('[')) {
      try {
        return JSON.parse(s);
      } catch {
        return raw;
      }
    }
    return s === '' ? [] : s.split(',').map((x) => x.trim());
  }
  return raw;
}

function applyEnv(input: Record<string, Record<string, unknown>>, env: NodeJS.ProcessEnv): void {
  const shape = configSchema.shape as Record<string, z.ZodType>;
  for (const [section, secSchema] of Object.entries(shape)) {
    let inner: z.ZodType = secSchema;
    const d = (inner as unknown as { def?: { type?: string; innerType?: z.ZodType } }).def;
    if (d?.type === 'default' && d.innerType) inner = d.innerType;
    const keys = (inner as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};
    for (const [key, keySchema] of Object.entries(keys)) {
      const v = env[envName(section, key)];
      if (v === undefined) continue;
      input[section] ??= {};
      input[section][key] = coerceEnv(v, keySchema);
    }
  }
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.join('.');
  let value: unknown = input;
  for (const p of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey];
  const shown = value === undefined ? '(missing)' : JSON.stringify(value);
  return `${path || '(root)'} = ${shown}: ${issue.message}`;
}

/** Validate a plain object (already merged from file and env) into a Config. */
export function validateConfig(input: unknown): Config {
  const r = configSchema.safeParse(input);
  if (!r.success) {
    throw new ConfigError('invalid configuration:\n  ' + r.error.issues.map((i) => describeIssue(i, input)).join('\n  '));
  }
  return r.data;
}

/** Read the TOML file at `path` (optional), apply environment overrides, validate. */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  let input: Record<string, Record<string, unknown>> = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
    }
    try {
      input = parseToml(text) as Record<string, Record<string, unknown>>;
    } catch (e) {
      throw new ConfigError(`config file ${path} is not valid TOML: ${(e as Error).message}`);
    }
  }
  applyEnv(input, env);
  return validateConfig(input);
}
