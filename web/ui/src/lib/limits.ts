// A DomainAdmin's limits as the portal shows and edits them: one row per
// limit with what is in use, and the text form of the limits (whole
// numbers, storage in MiB or GiB) with its parsing. 0 means unlimited, as
// in the API, except for domains: there 0 means the admin adds none and
// runs only the domains assigned to it.

import type { Schemas } from './api';
import type { Errors } from './form.svelte';
import { formatBytes } from './format';

export type Limits = Schemas['Limits'];
export type Usage = Schemas['Usage'];

export type CountLimit = 'max_domains' | 'max_mailboxes' | 'max_aliases' | 'max_domain_aliases';

const unlimited = { none: 'unlimited', zeroHint: '0 or empty: unlimited.' };

/**
 * The count limits in the order the portal lists them: label, hint, the
 * word for a limit of 0 beside the usage, and what 0 means in the form.
 */
export const countLimits: readonly { key: CountLimit; label: string; hint: string; none: string; zeroHint: string }[] = [
  {
    key: 'max_domains',
    label: 'Domains',
    hint: 'How many domains the admin may hold when it adds domains itself.',
    none: 'adds none',
    zeroHint: '0 or empty: it adds none and runs only the domains assigned to it.',
  },
  { key: 'max_mailboxes', label: 'Mailboxes', hint: '', ...unlimited },
  { key: 'max_aliases', label: 'Aliases', hint: 'Sender addresses count as aliases.', ...unlimited },
  { key: 'max_domain_aliases', label: 'Domain aliases', hint: '', ...unlimited },
];

/** storageZeroHint is what a storage limit of 0 means in the form. */
export const storageZeroHint = unlimited.zeroHint;

export interface LimitRow {
  key: CountLimit | 'max_storage_bytes';
  label: string;
  used: number;
  /** 0: see none. */
  max: number;
  /** What a max of 0 means, beside the usage: "unlimited". */
  none: string;
  /** The values are byte counts. */
  bytes: boolean;
}

const usageOf: Record<CountLimit, (u: Usage) => number> = {
  max_domains: (u) => u.domains,
  max_mailboxes: (u) => u.mailboxes,
  max_aliases: (u) => u.aliases,
  max_domain_aliases: (u) => u.domain_aliases,
};

/**
 * limitRows pairs each limit with its usage. The storage limit bounds the
 * sum of the mailboxes' quotas (not the bytes stored), so that is what it is
 * measured against.
 */
export function limitRows(l: Limits, u: Usage): LimitRow[] {
  const rows: LimitRow[] = countLimits.map((c) => ({
    key: c.key,
    label: c.label,
    used: usageOf[c.key](u),
    max: l[c.key] ?? 0,
    none: c.none,
    bytes: false,
  }));
  rows.push({
    key: 'max_storage_bytes',
    label: 'Storage (sum of mailbox quotas)',
    used: u.quota_bytes,
    max: l.max_storage_bytes ?? 0,
    none: unlimited.none,
    bytes: true,
  });
  return rows;
}

export type StorageUnit = 'MiB' | 'GiB';

export const storageUnits: readonly { value: StorageUnit; label: string }[] = [
  { value: 'MiB', label: 'MiB' },
  { value: 'GiB', label: 'GiB' },
];

const unitBytes: Record<StorageUnit, number> = { MiB: 1024 * 1024, GiB: 1024 * 1024 * 1024 };

/** The limits as the form's text fields hold them ("" is unlimited). */
export type LimitsForm = Record<CountLimit, string> & { storage: string; unit: StorageUnit };

export function emptyLimitsForm(): LimitsForm {
  return { max_domains: '', max_mailboxes: '', max_aliases: '', max_domain_aliases: '', storage: '', unit: 'GiB' };
}

const text = (n: number | undefined): string => (n ? String(n) : '');

/** limitsForm fills the form from l; storage is shown in GiB when it is a whole number of them. */
export function limitsForm(l: Limits): LimitsForm {
  const bytes = l.max_storage_bytes ?? 0;
  const unit: StorageUnit = bytes === 0 || bytes % unitBytes.GiB === 0 ? 'GiB' : 'MiB';
  return {
    max_domains: text(l.max_domains),
    max_mailboxes: text(l.max_mailboxes),
    max_aliases: text(l.max_aliases),
    max_domain_aliases: text(l.max_domain_aliases),
    storage: bytes === 0 ? '' : String(Math.round(bytes / unitBytes[unit])),
    unit,
  };
}

// Whole numbers only; nine digits keep storage in GiB (times 2^30) within
// the integers a double holds exactly.
const whole = /^\d{1,9}$/;
const wholeError = 'Enter a whole number (0 or more).';

/**
 * parseLimits reads the form: the limits, or the errors keyed by field
 * (the count keys and "storage").
 */
export function parseLimits(f: LimitsForm): { limits: Limits; errors: Errors } {
  const errors: Errors = {};
  const num = (field: string, s: string): number => {
    const t = s.trim();
    if (t === '') return 0;
    if (!whole.test(t)) {
      errors[field] = wholeError;
      return 0;
    }
    return Number(t);
  };
  const limits: Limits = {
    max_domains: num('max_domains', f.max_domains),
    max_mailboxes: num('max_mailboxes', f.max_mailboxes),
    max_aliases: num('max_aliases', f.max_aliases),
    max_domain_aliases: num('max_domain_aliases', f.max_domain_aliases),
    max_storage_bytes: num('storage', f.storage) * unitBytes[f.unit],
  };
  return { limits, errors };
}

/**
 * limitsRename maps the server's names of limit fields to the form's:
 * PUT /limits names them bare, POST /admins under "limits.".
 */
export const limitsRename: Record<string, string> = {
  max_storage_bytes: 'storage',
  'limits.max_storage_bytes': 'storage',
  ...Object.fromEntries(countLimits.map((c) => [`limits.${c.key}`, c.key])),
};

/**
 * usageText is a usage as read beside its bar: "3 of 5 (60%)", or "3
 * (unlimited)" when limit is 0. format renders one amount (a count or
 * bytes); none is the word for a missing limit ("unlimited", "no quota").
 */
export function usageText(used: number, limit: number, format: (n: number) => string, none = 'unlimited'): string {
  if (limit <= 0) return `${format(used)} (${none})`;
  return `${format(used)} of ${format(limit)} (${Math.round((used / limit) * 100)}%)`;
}

/** rowText is usageText for a limit row. */
export function rowText(r: LimitRow): string {
  return usageText(r.used, r.max, r.bytes ? formatBytes : String, r.none);
}

/**
 * chartScale is what the full width of a chart stands for when its bars
 * show used against limit on one scale, so bar lengths compare: the largest
 * of either, and at least 1, so a chart of nothing still draws empty bars.
 */
export function chartScale<T>(items: readonly T[], used: (x: T) => number, limit: (x: T) => number): number {
  return items.reduce((m, x) => Math.max(m, used(x), limit(x)), 1);
}
