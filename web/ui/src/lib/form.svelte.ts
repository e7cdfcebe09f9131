// The state every portal form shares: per-field errors, a form-level error,
// a success notice and a busy flag, and one submit() that checks the input
// locally, sends it, and puts the server's answer where the user looks: a
// field's message next to its input (focused), anything else above the form.

import { tick } from 'svelte';
import { ApiError } from './api';

export type Errors = Record<string, string>;

export class FormState {
  errors: Errors = $state({});
  error = $state('');
  done = $state('');
  busy = $state(false);

  /**
   * rename maps the server's field names (after "body.") to the form's, e.g.
   * {quota_bytes: 'quota'}; guess names the field of a 422 the server could
   * not pin to one, from its message.
   */
  constructor(
    private readonly rename: Record<string, string> = {},
    private readonly guess?: (message: string) => string | undefined,
  ) {}

  reset(): void {
    this.errors = {};
    this.error = '';
    this.done = '';
  }

  /**
   * submit validates (a map of field errors; empty when the input is fine),
   * then runs send, whose result is the success notice. It returns whether
   * send succeeded. form is where the first invalid input is focused.
   */
  async submit(form: HTMLElement | undefined, validate: () => Errors, send: () => Promise<string>): Promise<boolean> {
    if (this.busy) return false;
    this.reset();
    const local = validate();
    if (Object.keys(local).length > 0) {
      this.errors = local;
      // A check about no single input (choose at least one of several
      // boxes) is said above the form.
      if (!(await focusInvalid(form))) this.error = Object.values(local).join(' ');
      return false;
    }
    this.busy = true;
    try {
      this.done = await send();
      return true;
    } catch (err) {
      if (!(err instanceof ApiError)) {
        this.error = err instanceof Error ? err.message : String(err);
        return false;
      }
      this.errors = this.fieldsOf(err);
      // A message about a field this form has no input for (a path or
      // query parameter, a field the form does not show) is shown above
      // the form, so no refusal goes unexplained.
      if (!(await focusInvalid(form))) this.error = err.message;
      return false;
    } finally {
      this.busy = false;
    }
  }

  /**
   * fieldsOf turns an ApiError's per-field messages into the form's fields.
   * The server names fields by location ("body.address"); the forms use the
   * bare name.
   */
  fieldsOf(err: ApiError): Errors {
    const out: Errors = {};
    for (const [k, v] of Object.entries(err.fields)) {
      const bare = k.replace(/^(body|path|query)\./, '').replace(/\[\d+\]$/, '');
      out[this.rename[bare] ?? bare] = v;
    }
    if (Object.keys(out).length === 0 && err.status === 422 && this.guess) {
      const f = this.guess(err.message);
      if (f !== undefined) out[f] = err.message;
    }
    return out;
  }
}

/** focusInvalid focuses the form's first invalid input and says whether there was one. */
async function focusInvalid(form: HTMLElement | undefined): Promise<boolean> {
  await tick();
  const el = form?.querySelector<HTMLElement>('[aria-invalid="true"]');
  el?.focus();
  return el !== null && el !== undefined;
}

/** errorText is what a failed call shows: the API's message, or the error's. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** lines splits a one-per-line (or comma-separated) textarea into trimmed, non-empty entries. */
export function lines(s: string): string[] {
  return s
    .split(/[\n,]/)
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

// An address as the server accepts it, roughly: local@domain.tld. The server
// checks again (RFC 5321 section 4.1.2); this saves a round trip for typos.
export function isAddress(s: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s);
}

// A domain name as RFC 1035 section 2.3.1 and RFC 5890 (A-labels) allow:
// dot-separated labels of letters, digits and inner hyphens, at most 63
// octets each and 253 in all. The server checks again.
const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
export function domainNameError(n: string): string {
  if (n === '') return 'Enter a domain name.';
  // An internationalized name (U-labels) is the server's to check and
  // convert (RFC 5891); only ASCII names are checked here.
  if (/[^\x00-\x7f]/.test(n)) return /[\s@/]/.test(n) ? 'A domain name has no spaces, @ or /.' : '';
  if (n.length > 253) return 'A domain name has at most 253 characters.';
  const labels = n.split('.');
  if (labels.length < 2 || !labels.every((l) => label.test(l))) {
    return 'Enter a name like example.com: letters, digits and hyphens, separated by dots.';
  }
  return '';
}

/** check is the errors of a one-field form: {field: message}, or none when message is "". */
export function check(field: string, message: string): Errors {
  return message === '' ? {} : { [field]: message };
}
