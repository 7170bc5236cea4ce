// Human formatting shared by the status page and `grasp-relay status`: durations, sizes, counts,
// times relative to the report's clock. Pure functions, no locale surprises (en-US grouping).

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
