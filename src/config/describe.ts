// Walks the config schema into a flat list of keys (section, key, type, default, description,
// env name). The default config file and docs/configuration.md are rendered from this list, and a
// test checks the shipped config file names every key.
import { z } from 'zod';
import { envName } from './load.js';
import { configSchema } from './schema.js';

export interface KeyDoc {
  section: string;
  key: string;
  type: string;
  default: unknown;
  description: string;
  env: string;
}

type Def = {
  type?: string;
  innerType?: z.ZodType;
  element?: z.ZodType;
  entries?: Record<string, string>;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  values?: unknown[];
};
const defOf = (t: z.ZodType): Def => (t as unknown as { def: Def }).def;

function unwrap(t: z.ZodType): z.ZodType {
  let cur = t;
  for (;;) {
    const d = defOf(cur);
    if ((d.type === 'default' || d.type === 'optional') && d.innerType) cur = d.innerType;
    else return cur;
  }
}

function typeName(t: z.ZodType): string {
  const inner = unwrap(t);
  const d = defOf(inner);
  if (d.type === 'array' && d.element) return `array of ${typeName(d.element)}`;
  if (d.type === 'enum' && d.entries) return Object.values(d.entries).map((v) => JSON.stringify(v)).join(' | ');
  if (d.type === 'union' && d.options) return d.options.map(typeName).join(' | ');
  if (d.type === 'literal' && d.values) return d.values.map((v) => JSON.stringify(v)).join(' | ');
  return d.type ?? 'unknown';
}

export function describeConfig(): KeyDoc[] {
  const defaults = configSchema.parse({}) as Record<string, Record<string, unknown>>;
  const out: KeyDoc[] = [];
  for (const [section, secSchema] of Object.entries(configSchema.shape as Record<string, z.ZodType>)) {
    const shape = (unwrap(secSchema) as unknown as { shape: Record<string, z.ZodType> }).shape;
    for (const [key, keySchema] of Object.entries(shape)) {
      out.push({
        section,
        key,
        type: typeName(keySchema),
        default: defaults[section]![key],
        description: keySchema.description ?? '',
        env: envName(section, key),
      });
    }
  }
  return out;
}

const tomlValue = (v: unknown): string => (Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(', ')}]` : JSON.stringify(v));

/** The default configuration as commented TOML. */
export function renderToml(): string {
  const lines = [
    '# grasp-relay configuration. Every key is shown with its default.',
    '# Any key can be overridden by an environment variable GRASP_RELAY_<SECTION>_<KEY>,',
    '# e.g. GRASP_RELAY_SERVER_PORT=8080. Reference: docs/configuration.md.',
  ];
  let section = '';
  for (const k of describeConfig()) {
    if (k.section !== section) {
      section = k.section;
      lines.push('', `[${section}]`);
    }
    lines.push(`# ${k.description} (${k.type}; env ${k.env})`, `${k.key} = ${tomlValue(k.default)}`);
  }
  return lines.join('\n') + '\n';
}

/** docs/configuration.md */
export function renderMarkdown(): string {
  const lines = [
    '# Configuration reference',
    '',
    'Generated from `src/config/schema.ts` by `npm run docs`. The relay reads `config/grasp-relay.toml`',
    '(or `--config PATH`), then applies environment overrides `GRASP_RELAY_<SECTION>_<KEY>` (arrays as',
    'comma-separated values or JSON), then validates; an invalid value names the key, the value and what',
    'was expected, and the relay refuses to start.',
  ];
  let section = '';
  for (const k of describeConfig()) {
    if (k.section !== section) {
      section = k.section;
      lines.push('', `## [${section}]`, '', '| key | type | default | environment | description |', '|---|---|---|---|---|');
    }
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    lines.push(`| \`${k.key}\` | ${esc(k.type)} | \`${esc(tomlValue(k.default))}\` | \`${k.env}\` | ${esc(k.description)} |`);
  }
  return lines.join('\n') + '\n';
}
