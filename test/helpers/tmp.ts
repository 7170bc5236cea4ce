// Temporary directories for tests (LMDB data dirs, config files).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'grasp-relay-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
