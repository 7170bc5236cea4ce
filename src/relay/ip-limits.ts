// Per-IP admission and rate limits: concurrent connections and an EVENT token bucket
// (burst + refill per minute). Time comes from the injected clock. Entries for idle IPs are
// dropped so the map stays bounded by the number of active clients.
import type { Clock } from '../clock.js';
import type { LimitsConfig } from '../config/schema.js';

interface IpState {
  connections: number;
  tokens: number;
  refilledAt: number;
}

export class IpLimiter {
  private readonly ips = new Map<string, IpState>();
  constructor(
    private readonly limits: LimitsConfig,
    private readonly clock: Clock,
  ) {}

  private state(ip: string): IpState {
    let s = this.ips.get(ip);
    if (s === undefined) {
      s = { connections: 0, tokens: this.limits.eventBurstPerIp, refilledAt: this.clock.now() };
      this.ips.set(ip, s);
    }
    return s;
  }

  /** Admit a new connection from ip, or say why not. */
  admit(ip: string): true | string {
    const s = this.state(ip);
    if (s.connections >= this.limits.maxConnectionsPerIp) {
      return `rate-limited: too many connections from your address (max ${this.limits.maxConnectionsPerIp})`;
    }
    s.connections++;
    return true;
  }

  release(ip: string): void {
    const s = this.ips.get(ip);
    if (s === undefined) return;
    s.connections--;
    if (s.connections <= 0 && s.tokens >= this.limits.eventBurstPerIp) this.ips.delete(ip);
  }

  /** Take one EVENT token; false when the IP is over its rate. */
  takeEvent(ip: string): boolean {
    const s = this.state(ip);
    const now = this.clock.now();
    const perMs = this.limits.eventsPerMinutePerIp / 60_000;
    s.tokens = Math.min(this.limits.eventBurstPerIp, s.tokens + (now - s.refilledAt) * perMs);
    s.refilledAt = now;
    if (s.tokens < 1) return false;
    s.tokens -= 1;
    return true;
  }
}
