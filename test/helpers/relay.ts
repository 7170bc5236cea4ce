// Start a real grasp-relay for a test: ephemeral port on 127.0.0.1, LMDB in a fresh temp dir,
// silent logs, service.hosts resolved to the listen address, sync and the git half off unless asked for.
// The transport is server.transport's default (auto: uWS when a build loads here, else ws);
// GRASP_TEST_TRANSPORT=ws (or uws) runs the suite over that transport.
import { rmSync } from 'node:fs';
import type { Clock } from '../../src/clock.js';
import { makeConfig, type Config } from '../../src/config/schema.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { GitSyncOptions } from '../../src/git/index.js';
import type { EventGate } from '../../src/relay/gate.js';
import { startRelay, type RelayHandle } from '../../src/main.js';
import { loadUws, type UwsLoad } from '../../src/relay/uws-loader.js';
import { tempDir } from './tmp.js';

export type ConfigOverrides = { [S in keyof Config]?: Partial<Config[S]> };

export interface TestRelay extends RelayHandle {
  dataDir: string;
  /** close and delete the data directory */
  destroy(): Promise<void>;
}

export { tempDir };

export async function startTestRelay(
  overrides: ConfigOverrides = {},
  opts: { dataDir?: string; clock?: Clock; log?: Logger; gate?: EventGate; loadUws?: () => UwsLoad; gitSync?: GitSyncOptions } = {},
): Promise<TestRelay> {
  const dataDir = opts.dataDir ?? tempDir();
  const config = makeConfig({
    ...overrides,
    server: { port: 0, transport: (process.env.GRASP_TEST_TRANSPORT as 'auto' | 'ws' | 'uws' | undefined) ?? 'auto', ...overrides.server },
    service: { hosts: [], ...overrides.service },
    store: { ...overrides.store, dataDir },
    sync: { enabled: false, ...overrides.sync },
    // the Nostr-only behaviour unless a test asks for the git half (test/git/helpers.ts does)
    git: { enabled: false, ...overrides.git },
    log: { level: 'silent', ...overrides.log },
  });
  const relay = await startRelay(config, { log: opts.log ?? silentLogger, clock: opts.clock, gate: opts.gate, loadUws: opts.loadUws, gitSync: opts.gitSync });
  return Object.assign(relay, {
    dataDir,
    async destroy() {
      await relay.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** Tests that force the uWS transport skip with this reason where no uWebSockets.js build loads (e.g. Node 24 on glibc < 2.38). */
export const skipWithoutUws = (kind: 'uws' | 'ws'): string | false => (kind === 'uws' && loadUws().uws === undefined ? 'no uWebSockets.js build loads on this Node/libc' : false);
