// What the directory forms offer to choose from: the caller's domains for a
// select, and mailbox addresses as suggestions while typing. The server
// scopes both lists, so a DomainAdmin is offered only what it administers.

import { list, type Domain, type Mailbox } from './api';
import { domainLabel } from './domains';
import { errorText } from './form.svelte';

// The largest page the API answers (its limit's maximum).
const maxPage = 1000;

/**
 * DomainChoices holds the names of the caller's domains once loaded, or why
 * they could not be; options are the same as select choices, each shown as
 * people read it (domainLabel) with the name the API takes as its value.
 */
export class DomainChoices {
  names: string[] = $state([]);
  options: { value: string; label: string }[] = $state([]);
  loaded = $state(false);
  error = $state('');

  /** load fetches the names; the function it returns cancels that (an onMount cleanup). */
  load(): () => void {
    const ctl = new AbortController();
    list<Domain>('/domains', { limit: maxPage }, ctl.signal).then(
      (r) => {
        this.names = r.items.map((d) => d.name);
        this.options = r.items.map((d) => ({ value: d.name, label: domainLabel(d) }));
        this.loaded = true;
      },
      (err: unknown) => {
        if (!(err instanceof DOMException && err.name === 'AbortError')) this.error = errorText(err);
      },
    );
    return () => ctl.abort();
  }
}

/** mailboxAddresses is up to 20 of the caller's mailbox addresses containing q. */
export async function mailboxAddresses(q: string, signal?: AbortSignal): Promise<string[]> {
  const r = await list<Mailbox>('/mailboxes', { q: q.trim() || undefined, limit: 20 }, signal);
  return r.items.map((m) => m.address);
}
