// Human formatting shared by the status page and `grasp-relay status`: durations, sizes, counts,
// count maps, git request summaries, times relative to the report's clock. Pure functions, no
// locale surprises (en-US grouping).

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** "12s ago" / "in 3m 5s" for a timestamp in ms relative to now (unix seconds); "—" for null. */
export function relativeTime(ms: number | null, nowSeconds: number): string {
  if (ms === null) return '—';
  const d = ms / 1000 - nowSeconds;
  if (Math.abs(d) < 1) return 'now';
  return d < 0 ? `${formatDuration(-d)} ago` : `in ${formatDuration(d)}`;
}

/** "a 1 · b 2" from a count map, largest first; `none` when empty. */
export function countList(m: Record<string, number>, none = '0'): string {
  const parts = Object.entries(m)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${k} ${formatCount(n)}`);
  return parts.length === 0 ? none : parts.join(' · ');
}

/** Requests by service: "upload-pack 3 (1 busy)": the total and every outcome other than ok. */
export function requestSummary(requests: Record<string, Record<string, number>>): string {
  const parts: string[] = [];
  for (const service of Object.keys(requests).sort()) {
    const by = requests[service]!;
    const total = Object.values(by).reduce((a, b) => a + b, 0);
    const other = Object.entries(by)
      .filter(([o, n]) => o !== 'ok' && n > 0)
      .map(([o, n]) => `${formatCount(n)} ${o.replace(/_/g, ' ')}`);
    parts.push(`${service} ${formatCount(total)}${other.length > 0 ? ` (${other.join(', ')})` : ''}`);
  }
  return parts.length === 0 ? 'none yet' : parts.join(' · ');
}
