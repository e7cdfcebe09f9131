// Byte counts as people read them; quotas are entered in MiB.

const MiB = 1024 * 1024;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** quotaText is a quota for display: 0 means none. */
export function quotaText(bytes: number): string {
  return bytes === 0 ? 'no quota' : `${formatBytes(bytes)} quota`;
}

/** mibToBytes parses a quota field in MiB: "" or "0" is no quota; undefined when it is not a whole number ≥ 0. */
export function mibToBytes(s: string): number | undefined {
  const t = s.trim();
  if (t === '') return 0;
  if (!/^\d{1,9}$/.test(t)) return undefined;
  return Number(t) * MiB;
}

export function bytesToMiB(n: number): string {
  return n === 0 ? '' : String(Math.round(n / MiB));
}
