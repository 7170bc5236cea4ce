// `node dist/src/cli/docs.js`: (re)writes docs/configuration.md from the config schema
// (npm run docs). The shipped config file is checked against the schema by a test.
import { writeFileSync } from 'node:fs';
import { renderMarkdown } from '../config/describe.js';

writeFileSync('docs/configuration.md', renderMarkdown());
console.log('wrote docs/configuration.md');
