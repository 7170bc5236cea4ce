// `node dist/src/cli/docs.js`: (re)writes docs/configuration.md and config/grasp-relay.toml from the
// config schema (npm run docs). Tests check both are in step with the schema.
import { writeFileSync } from 'node:fs';
import { renderMarkdown, renderToml } from '../config/describe.js';

writeFileSync('docs/configuration.md', renderMarkdown());
writeFileSync('config/grasp-relay.toml', renderToml());
console.log('wrote docs/configuration.md and config/grasp-relay.toml');
