// Times as people read them, in the browser's language and time zone; the
// API sends RFC 3339 UTC.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** formatTime is a date and time to read; "" for a missing or zero time. */
export function formatTime(iso: string | undefined): string {
  const d = parseTime(iso);
  return d ? dateTime.format(d) : '';
}

/** parseTime reads an RFC 3339 time; undefined for none, Go's zero time, or garbage. */
export function parseTime(iso: string | undefined): Date | undefined {
  if (!iso) return undefined;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) || d.getUTCFullYear() <= 1 ? undefined : d;
}

const steps: readonly [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 365],
];

/** fromNow says how far a time is from now: "in 5 minutes", "2 hours ago". */
export function fromNow(iso: string, now = Date.now()): string {
  const d = parseTime(iso);
  if (!d) return '';
  let v = (d.getTime() - now) / 1000;
  for (const [unit, size] of steps) {
    if (Math.abs(v) < size) return relative.format(Math.round(v), unit);
    v /= size;
  }
  return relative.format(Math.round(v), 'year');
}

/**
 * dayStart is the RFC 3339 time of the local midnight starting the date of
 * an <input type="date"> value (YYYY-MM-DD), plus days; "" for no date.
 */
export function dayStart(date: string, days = 0): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return '';
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days).toISOString();
}
