// The grasp-relay CLI dispatcher: one file per command (start, import, export, status, resync, repo).
// Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
import { ConfigError } from '../config/load.js';
import { StartupError } from '../main.js';
import { parseArgs } from './args.js';
import { cmdExport } from './export.js';
import { cmdImport } from './import.js';
import { cmdRepo, REPO_USAGE } from './repo.js';
import { cmdResync } from './resync.js';
import { cmdStart } from './start.js';
import { cmdStatus } from './status.js';

const USAGE = `usage: grasp-relay <command> [--config PATH] [options]

commands:
  start                     run the relay (default config: config/grasp-relay.toml)
  import [FILE]             import JSONL events from FILE or stdin through the write path
         [--open]           accept every valid event (open policy) for this import
  export [--filter JSON]    write stored events as JSONL to stdout
  status [--url URL]        summary, repositories, git, git sync and sync peers of a running relay (GET /status)
         [--json]           the raw JSON

  resync [--relay URL]      force a full resync of one sync peer (or all) and show progress
  resync --git              hunt the git data of every hosted repository now (git sync), with progress
         [--url URL] [--no-wait] [--timeout S]  (needs GRASP_RELAY_ADMIN_TOKEN, set for the relay too)

${REPO_USAGE}

environment: GRASP_RELAY_<SECTION>_<KEY> overrides any config key (see docs/configuration.md)`;

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const command = args.positional[0] ?? 'start';
  try {
    switch (command) {
      case 'start':
        return await cmdStart(args);
      case 'import':
        return await cmdImport(args);
      case 'export':
        return await cmdExport(args);
      case 'status':
        return await cmdStatus(args);
      case 'resync':
        return await cmdResync(args);
      case 'repo':
        return await cmdRepo(args);
      case 'help':
      case '--help':
        console.log(USAGE);
        return 0;
      default:
        console.error(`grasp-relay: unknown command ${command}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ConfigError || e instanceof StartupError) {
      console.error(`grasp-relay: ${e.message}`);
      return 2;
    }
    console.error(`grasp-relay: ${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}
