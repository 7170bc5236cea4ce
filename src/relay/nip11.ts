// The NIP-11 relay information document, built from the configuration and the parts in use
// (policy fields, signature backend). supported_nips lists only what is implemented and enabled;
// limitation shows the real configured limits.
import { schnorr } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import type { Config } from '../config/schema.js';
import { nip11PolicyFields } from '../policy/index.js';

export const SOFTWARE = 'https://github.com/grasp-relay/grasp-relay';
export const VERSION = '0.1.0';

export function buildNip11(config: Config, extra: { verifyBackend: string; transport: string }): Record<string, unknown> {
  const nips = [1, 9, 11, 40, 45, 62];
  if (config.negentropy.enabled) nips.push(77);
  const l = config.limits;
  const doc: Record<string, unknown> = {
    name: config.service.name,
    description: config.service.description,
    software: SOFTWARE,
    version: VERSION,
    supported_nips: nips,
    ...nip11PolicyFields(config),
    limitation: {
      max_message_length: l.maxMessageBytes,
      max_subscriptions: l.maxSubscriptions,
      max_filters: l.maxFilters,
      max_limit: l.maxLimit,
      default_limit: l.maxLimit,
      max_subid_length: l.maxSubidLength,
      max_event_tags: l.maxEventTags,
      max_content_length: l.maxContentBytes,
      created_at_lower_limit: l.maxPastSeconds,
      created_at_upper_limit: l.maxFutureSeconds,
      auth_required: false,
      payment_required: false,
      restricted_writes: config.policy.mode !== 'open',
    },
    grasp_relay: {
      signature_backend: extra.verifyBackend,
      transport: extra.transport,
      negentropy_max_items: config.negentropy.enabled ? config.negentropy.maxItems : undefined,
    },
  };
  const pubkey = relayPubkey(config);
  if (pubkey !== undefined) doc.pubkey = pubkey;
  if (config.service.contact) doc.contact = config.service.contact;
  return doc;
}

/**
 * The relay's public key for NIP-11: that of the relay key in the environment variable named by
 * service.secretKeyEnv (the key sync uses for NIP-42) when it holds one, else service.pubkey.
 */
export function relayPubkey(config: Config, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const name = config.service.secretKeyEnv;
  const sk = name ? env[name] : undefined;
  if (sk !== undefined && /^[0-9a-fA-F]{64}$/.test(sk)) {
    try {
      return bytesToHex(schnorr.getPublicKey(hexToBytes(sk.toLowerCase())));
    } catch {
      // not a valid secp256k1 scalar: fall back to the configured key
    }
  }
  return config.service.pubkey ? config.service.pubkey : undefined;
}
