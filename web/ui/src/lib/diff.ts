// The before/after of an audit entry as rows of fields, so a change reads
// as "limits.max_mailboxes: 5 → 1" rather than two blobs of JSON. Nested
// objects become dotted paths; lists and other values are compared as
// their JSON text.

export interface FieldChange {
  path: string;
  /** undefined: the field is not in that side (created, deleted, or new). */
  before: string | undefined;
  after: string | undefined;
  changed: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** flatten lists the leaves of v by dotted path; a non-object v is one leaf named "value". */
export function flatten(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (v === undefined) return out;
  if (!isObject(v)) {
    out.set(prefix || 'value', show(v));
    return out;
  }
  for (const [k, x] of Object.entries(v)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (isObject(x) && Object.keys(x).length > 0) flatten(x, p, out);
    else out.set(p, show(x));
  }
  return out;
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.length === 0 ? '(none)' : v.join(', ');
  return JSON.stringify(v) ?? String(v);
}

/**
 * changes compares the two sides field by field: the changed fields first,
 * then the others, each group in path order.
 */
export function changes(before: unknown, after: unknown): FieldChange[] {
  const b = flatten(before);
  const a = flatten(after);
  const paths = [...new Set([...b.keys(), ...a.keys()])].sort();
  const rows = paths.map((p) => {
    const x = b.get(p);
    const y = a.get(p);
    return { path: p, before: x, after: y, changed: x !== y };
  });
  return [...rows.filter((r) => r.changed), ...rows.filter((r) => !r.changed)];
}
