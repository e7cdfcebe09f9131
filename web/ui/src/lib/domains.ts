// How a domain is shown to people. The API keeps every name in A-labels
// (xn--bcher-kva.example), the form DNS and DKIM use, and gives each
// domain's unicode_name, the form people read and type (bücher.example).
// Where the two differ both are shown, so the name an admin meets in DNS
// records and logs is there too.

import type { Domain } from './api';

/** domainLabel is the domain's unicode_name, with its A-label name beside it when that differs. */
export function domainLabel(d: Pick<Domain, 'name' | 'unicode_name'>): string {
  return d.unicode_name && d.unicode_name !== d.name ? `${d.unicode_name} (${d.name})` : d.name;
}
