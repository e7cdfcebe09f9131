// Where relayed mail goes (relay domains, a domain's split routing): a host
// and a TCP port, checked as the server checks them (directory.NormalizeHost
// takes an IP address, bracketed or not as in an RFC 5321 section 4.1.3
// address literal, or a domain name). The server checks again.

import { domainNameError, type Errors } from './form.svelte';

// Loose on purpose: hex groups with colons (an embedded IPv4 allowed); the
// server parses the address exactly.
const ipv6 = /^[0-9a-f]*:[0-9a-f:.]*$/i;

/** hostError is why host is not a host name or IP address, or "". */
function hostError(host: string): string {
  const h = host
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase()
    .replace(/\.$/, '');
  if (h === '') return 'Enter a host name or IP address.';
  if (ipv6.test(h) || domainNameError(h) === '') return '';
  return 'Enter a host name like mx.example.com, or an IP address.';
}

/** parsePort reads a port field: a whole number from 1 to 65535, else undefined. */
function parsePort(s: string): number | undefined {
  const t = s.trim();
  if (!/^\d{1,5}$/.test(t)) return undefined;
  const n = Number(t);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * checkHostPort adds the errors of a host and a port field to errs (as
 * "host" and "port") and returns the port, 0 when it is not one.
 */
export function checkHostPort(host: string, port: string, errs: Errors): number {
  const h = hostError(host);
  if (h !== '') errs['host'] = h;
  const p = parsePort(port);
  if (p === undefined) errs['port'] = 'Enter a port from 1 to 65535 (25 is SMTP).';
  return p ?? 0;
}
