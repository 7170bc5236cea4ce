// Child process for the rust-nostr interop test: a nostr-sdk (WASM) Client runs a NIP-77 dry-run
// sync of kind-1 events against the relay URL in argv[2] and prints the report as JSON. Runs in
// its own process because the SDK keeps sockets open for a while after shutdown.
import pkg from '@rust-nostr/nostr-sdk';

const { Client, Filter, Kind, SyncDirection, SyncOptions, loadWasmSync } = pkg;

async function main(): Promise<void> {
  loadWasmSync();
  const client = new Client();
  await client.addRelay(process.argv[2]);
  await client.connect();
  const out = await client.sync(new Filter().kind(new Kind(1)), new SyncOptions().direction(SyncDirection.Down).dry_run());
  const report = {
    local: out.report.local.map((id) => id.toHex()),
    remote: out.report.remote.map((id) => id.toHex()),
    success: out.success,
    failed: out.failed.map((f) => String(f.error)),
  };
  // exit once the report is flushed: exiting right after write() can cut a large report short on a pipe
  process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0));
}

main().catch((e: unknown) => {
  process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
  process.exit(1);
});
