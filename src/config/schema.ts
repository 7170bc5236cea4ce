// The configuration schema: every key, its type, default and a one-line description. The TOML
// file, environment overrides (GRASP_RELAY_<SECTION>_<KEY>) and docs/configuration.md all derive
// from this one definition. Validation lives here; loading lives in load.ts.
import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);

export const serviceSchema = z
  .object({
    hosts: z
      .array(z.string().min(1))
      .default(['127.0.0.1:7777'])
      .describe('Host names (with port when non-default) this service answers as; the first is canonical. Announcements must name one of them.'),
    name: z.string().default('grasp-relay').describe('NIP-11 name.'),
    description: z.string().default('A GRASP server: git repositories and the Nostr side of git collaboration.').describe('NIP-11 description.'),
    pubkey: z.string().default('').describe('NIP-11 admin pubkey (hex); empty for none.'),
    contact: z.string().default('').describe('NIP-11 contact; empty for none.'),
    grasps: z
      .array(z.string())
      .default(['GRASP-01', 'GRASP-02'])
      .describe('NIP-11 supported_grasps (GRASP-05 is added automatically in archive mode).'),
    adminTokenEnv: z
      .string()
      .default('GRASP_RELAY_ADMIN_TOKEN')
      .describe('Name of the environment variable holding the token for operator actions (POST /admin/resync, `grasp-relay resync`). Unset or empty: those actions are disabled.'),
    secretKeyEnv: z
      .string()
      .default('GRASP_RELAY_SECRET_KEY')
      .describe('Name of the environment variable holding the relay key (hex) used to answer NIP-42 AUTH from peers. Never put the key itself in the file.'),
  })
  .strict();

export const serverSchema = z
  .object({
    host: z.string().default('127.0.0.1').describe('Address to listen on.'),
    port: int(0, 65535).default(7777).describe('Port to listen on (0 = ephemeral).'),
    transport: z
      .enum(['auto', 'uws', 'ws'])
      .default('auto')
      .describe('WebSocket transport: auto (uWebSockets.js when a build loads for this Node and libc, else ws; the start-up log says which and why), uws (uWebSockets.js or refuse to start) or ws (pure JS, any Node).'),
    trustProxy: z.boolean().default(false).describe('Take the client IP from X-Forwarded-For (only behind a trusted reverse proxy).'),
  })
  .strict();

export const storeSchema = z
  .object({
    dataDir: z.string().default('./data').describe('Directory of the LMDB environment.'),
    mapSizeGiB: int(1, 1 << 20).default(64).describe('Maximum LMDB map size in GiB (address space, not disk).'),
    purgeIntervalSeconds: int(1).default(60).describe('How often expired (NIP-40) events are purged.'),
  })
  .strict();

export const limitsSchema = z
  .object({
    maxMessageBytes: int(1024).default(1048576).describe('Largest WebSocket message accepted (bytes).'),
    maxSubscriptions: int(1).default(100).describe('Open REQ subscriptions per connection.'),
    maxFilters: int(1).default(32).describe('Filters per REQ or COUNT.'),
    maxLimit: int(1).default(5000).describe('Cap on a filter limit; also the result cap of a filter without limit.'),
    maxFilterValues: int(1).default(1000).describe('Values per ids/authors/kinds/#tag list in a filter.'),
    maxEventTags: int(1).default(2500).describe('Tags per event.'),
    maxContentBytes: int(1).default(524288).describe('Content length per event (bytes of UTF-16 code units).'),
    maxFutureSeconds: int(0).default(900).describe('Refuse events whose created_at is further in the future than this.'),
    maxPastSeconds: int(0).default(0).describe('Refuse events older than this many seconds (0 = no bound).'),
    maxSubidLength: int(1).default(64).describe('Longest subscription id.'),
    maxConnectionsPerIp: int(1).default(64).describe('Concurrent connections from one IP.'),
    eventsPerMinutePerIp: int(1).default(1200).describe('Sustained EVENT rate per IP (token bucket refill).'),
    eventBurstPerIp: int(1).default(300).describe('EVENT burst per IP before rate limiting.'),
    maxSendBufferBytes: int(65536).default(16777216).describe('Bytes buffered for a client that does not read before it is dropped.'),
  })
  .strict();

export const negentropySchema = z
  .object({
    enabled: z.boolean().default(true).describe('Answer NIP-77 (NEG-OPEN/NEG-MSG/NEG-CLOSE).'),
    maxItems: int(1).default(1000000).describe('Refuse (NEG-ERR blocked:) a NEG-OPEN whose filter matches more events.'),
    maxSessionsPerConnection: int(1).default(4).describe('Concurrent NIP-77 sessions per connection (each holds ~44 bytes per matching event while open: ~9 MB over 200k events).'),
    frameSizeLimit: int(0).default(0).describe('Frame size limit of our replies in bytes (0 = unlimited, else >= 4096).'),
    idleTimeoutSeconds: int(1).default(60).describe('Close a NIP-77 session idle this long (NEG-ERR closed:).'),
  })
  .strict();

export const policySchema = z
  .object({
    mode: z.enum(['grasp', 'open']).default('grasp').describe('grasp: GRASP-01 acceptance rules; open: every valid event.'),
    archive: z
      .enum(['off', 'allowlist', 'all'])
      .default('off')
      .describe('GRASP-05 archive mode: also accept announcements that do not list this service (allowlist: only those in archiveAllowlist).'),
    archiveAllowlist: z.array(z.string()).default([]).describe('Repositories to archive: npub, npub/d, hex pubkey, hex/d or bare d.'),
    blockedPubkeys: z.array(z.string()).default([]).describe('Authors whose events are always refused, in every mode (npub or hex).'),
    repoAllowlist: z.array(z.string()).default([]).describe('When non-empty, only these repositories are accepted (npub, npub/d, hex pubkey, hex/d or bare d); their maintainers count as the same repository.'),
    repoBlocklist: z.array(z.string()).default([]).describe('Repositories always refused (npub, npub/d, hex pubkey, hex/d or bare d); wins over every allowlist.'),
  })
  .strict();

export const syncSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Run GRASP-02 proactive sync.'),
    bootstrapRelays: z.array(z.string()).default([]).describe('Relays always connected and synced from, whatever the announcements say.'),
    subscriptionBudget: int(1).default(70).describe('Open subscriptions per peer relay (lowered to what its NIP-11 allows).'),
    batchTimeoutSeconds: int(1).default(60).describe('Deadline of a historic sync batch.'),
    negentropyTimeoutSeconds: int(1).default(10).describe('Fall back to REQ+EOSE when NEG-OPEN is not answered within this.'),
    fetchChunk: int(1).default(300).describe('ids per REQ when fetching what NIP-77 found missing.'),
    filterChunk: int(1).default(100).describe('Values per filter list (L2/L3).'),
    staleMinutes: int(1).default(15).describe('A peer disconnected longer than this gets a full resync.'),
    dailyResyncMinHours: z.number().min(0).default(23).describe('Earliest daily full resync after the last one (hours).'),
    dailyResyncMaxHours: z.number().min(0).default(25).describe('Latest daily full resync (hours).'),
    backoffBaseSeconds: int(1).default(5).describe('First reconnect delay after a failure; doubles each time.'),
    backoffMaxSeconds: int(1).default(3600).describe('Longest reconnect delay.'),
    deadAfterHours: int(1).default(24).describe('A relay failing this long is dead and tried once a day.'),
    rateLimitPauseSeconds: int(1).default(65).describe('Pause new work to a relay that said rate-limited.'),
  })
  .strict();

export const verifySchema = z
  .object({
    backend: z
      .enum(['auto', 'bcrypto-native', 'bcrypto-js', 'nostr-wasm', 'noble'])
      .default('auto')
      .describe('Signature backend: auto picks the fastest that loads (bcrypto native, then nostr-wasm, then noble).'),
    workers: z
      .union([z.literal('auto'), z.number().int().min(0).max(16)])
      .default('auto')
      .describe('Worker threads for signature checks (0 = main thread; auto = cores - 1, at most 3). Each costs ~10 MB of resident memory.'),
  })
  .strict();

export const logSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),
  })
  .strict();

export const metricsSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Serve GET /metrics (Prometheus text format).'),
    statusPage: z.boolean().default(true).describe('Serve the HTML status page on GET / and JSON on GET /status.'),
  })
  .strict();

export const gitSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Serve git smart HTTP at /<npub>/<d>.git and hold events in purgatory until their git data arrives; false: Nostr only, events stored at once (deploy a git half beside it).'),
    dataDir: z.string().default('').describe('Root of the hosted git repositories; empty = <store.dataDir>/git.'),
    binary: z.string().default('git').describe('git executable (2.39 or newer).'),
    maxProcesses: int(1, 1024).default(16).describe('Concurrent serving git processes.'),
    maxQueued: int(0).default(64).describe('Requests waiting for a git process before 503.'),
    queueWaitSeconds: int(1).default(30).describe('Longest wait for a git process before 503 + Retry-After.'),
    maxRequestsPerIp: int(1).default(4).describe('Concurrent git requests per client IP (429 beyond).'),
    idleTimeoutSeconds: int(1).default(120).describe('Kill a git request when no byte moved either way for this long.'),
    requestTimeoutSeconds: int(1).default(3600).describe('Longest git request.'),
    maxPushBytes: int(1024).default(1073741824).describe('Largest decoded receive-pack body (also receive.maxInputSize).'),
    maxRequestBytes: int(1024).default(33554432).describe('Largest decoded upload-pack request body (413 beyond).'),
    maxCommandBytes: int(1024).default(1048576).describe('Largest receive-pack command section (413 beyond).'),
    maxRefUpdates: int(1).default(10000).describe('Most ref updates in one push (413 beyond).'),
    maxRepoBytes: int(0).default(2147483648).describe('Size past which a repository refuses pushes and sync fetches (0 = no limit).'),
    packThreads: int(1, 64).default(2).describe('pack.threads for served git processes.'),
    fsckObjects: z.boolean().default(true).describe('Check objects received by push and by sync (git fsck rules).'),
    releaseTimeoutSeconds: int(1).default(10).describe('Release and fan-out work done before a push response or an OK ends; the rest continues in the background.'),
    purgatoryMinutes: int(1).default(30).describe('How long an event waits in purgatory for its git data.'),
    dormantHours: int(0).default(24).describe('How long an expired announcement stays revivable by a late state.'),
    expiredRetryHours: int(0).default(6).describe('Sync may re-admit an event expired from purgatory after this long (a client re-send is admitted at once).'),
    nostrRefTtlMinutes: int(1).default(20).describe('Life of a pushed refs/nostr/<id> that no PR or PR update claims.'),
    maxPendingNostrRefsPerRepo: int(0).default(100).describe('Unclaimed refs/nostr/<id> refs per repository.'),
    retiredDays: int(0).default(7).describe('Read-only life of a repository whose announcement dropped this service, and of removed repositories in .trash.'),
    webClients: z
      .array(z.string())
      .default(['https://gitworkshop.dev/{npub}/{relay}/{d}'])
      .describe('Links on the repository web page; {npub}, {relay} (this relay host) and {d} are substituted.'),
    syncEnabled: z.boolean().default(true).describe('GRASP-02 git sync: fetch missing git data from the other servers a repository names.'),
    syncIntervalMinutes: int(1, 60).default(60).describe('Sweep period of git sync (at most 60): each hosted repository is checked once per period, at a random offset within it.'),
    syncUserEventDelaySeconds: int(0).default(180).describe('First hunt for the git data of a client-sent event (then every 20 s, 40 s, 80 s, 2 min until it leaves purgatory).'),
    syncSyncedEventDelaySeconds: int(0).default(1).describe('First hunt for the git data of a synced event.'),
    syncConcurrency: int(1).default(4).describe('Concurrent git sync fetches (repositories checked at once; one fetch at a time per repository).'),
    syncPerHostConcurrency: int(1).default(2).describe('Concurrent git sync fetches per remote host.'),
    syncPerHostPerMinute: int(1).default(30).describe('Git sync fetches started per remote host per minute.'),
    syncFetchTimeoutSeconds: int(1).default(600).describe('Longest git sync fetch.'),
    syncLowSpeedBytesPerSecond: int(1).default(1024).describe('Abort a git sync fetch slower than this …'),
    syncLowSpeedSeconds: int(1).default(60).describe('… for this long.'),
    syncBackoffBaseSeconds: int(1).default(60).describe('First retry delay for a failing remote URL; doubles each time.'),
    syncBackoffMaxSeconds: int(1).default(3600).describe('Longest retry delay for a remote URL.'),
    syncDeadAfterHours: int(1).default(24).describe('A remote URL failing this long is tried once a day.'),
    syncMaxUrlsPerItem: int(1).default(8).describe('Remote URLs tried per missing item per round (for a PR tip, the clone URLs of the PR first).'),
    syncAllowHttp: z.boolean().default(true).describe('Also fetch from http:// clone URLs (https always).'),
    syncAllowPrivateAddresses: z.boolean().default(false).describe('Allow loopback and private-network remotes (tests only).'),
  })
  .strict();

export const configSchema = z
  .object({
    service: serviceSchema.default(serviceSchema.parse({})),
    server: serverSchema.default(serverSchema.parse({})),
    store: storeSchema.default(storeSchema.parse({})),
    limits: limitsSchema.default(limitsSchema.parse({})),
    negentropy: negentropySchema.default(negentropySchema.parse({})),
    policy: policySchema.default(policySchema.parse({})),
    sync: syncSchema.default(syncSchema.parse({})),
    verify: verifySchema.default(verifySchema.parse({})),
    log: logSchema.default(logSchema.parse({})),
    metrics: metricsSchema.default(metricsSchema.parse({})),
    git: gitSchema.default(gitSchema.parse({})),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type LimitsConfig = Config['limits'];
export type PolicyConfig = Config['policy'];
export type SyncConfig = Config['sync'];
export type NegentropyConfig = Config['negentropy'];
export type ServiceConfig = Config['service'];
export type GitConfig = Config['git'];

/** The defaults, with optional overrides section by section (tests build configs this way). */
export function makeConfig(overrides: { [S in keyof Config]?: Partial<Config[S]> } = {}): Config {
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(overrides)) input[k] = v;
  return configSchema.parse(input);
}
