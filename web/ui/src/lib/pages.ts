import type { Component } from 'svelte';
import type { Account, Role } from './api';
import Dashboard from '../pages/Dashboard.svelte';
import Domains from '../pages/Domains.svelte';
import DomainDetail from '../pages/DomainDetail.svelte';
import Mailboxes from '../pages/Mailboxes.svelte';
import MyAccount from '../pages/MyAccount.svelte';
import ImportExport from '../pages/ImportExport.svelte';
import Tokens from '../pages/Tokens.svelte';
import Sessions from '../pages/Sessions.svelte';
import Aliases from '../pages/Aliases.svelte';
import SenderAddresses from '../pages/SenderAddresses.svelte';
import Forwards from '../pages/Forwards.svelte';
import DomainAliases from '../pages/DomainAliases.svelte';
import RelayDomains from '../pages/RelayDomains.svelte';
import Admins from '../pages/Admins.svelte';
import Queue from '../pages/Queue.svelte';
import Audit from '../pages/Audit.svelte';
import Stats from '../pages/Stats.svelte';
import Settings from '../pages/Settings.svelte';

/** The props every page component gets. */
export interface PageProps {
  account: Account;
  /** What follows the page's path for a page with a parameter (decoded), else "". */
  param: string;
}

export interface Page {
  path: string;
  title: string;
  roles: readonly Role[];
  component: Component<PageProps>;
  /** The page takes one path segment after path + "/" (e.g. /domains/NAME); not in the navigation. */
  withParam?: boolean;
}

const everyone: readonly Role[] = ['masteradmin', 'domainadmin', 'user'];
const admins: readonly Role[] = ['masteradmin', 'domainadmin'];

// The navigation and the routes come from this one list, so a page is
// reachable exactly when its link is shown for the role.
export const pages: readonly Page[] = [
  { path: '/', title: 'Dashboard', roles: everyone, component: Dashboard },
  { path: '/account', title: 'My account', roles: ['user'], component: MyAccount },
  { path: '/domains', title: 'Domains', roles: admins, component: Domains },
  { path: '/domains', title: 'Domain', roles: admins, component: DomainDetail, withParam: true },
  { path: '/mailboxes', title: 'Mailboxes', roles: admins, component: Mailboxes },
  { path: '/aliases', title: 'Aliases', roles: admins, component: Aliases },
  { path: '/sender-addresses', title: 'Sender addresses', roles: admins, component: SenderAddresses },
  { path: '/forwards', title: 'Forwards', roles: everyone, component: Forwards },
  { path: '/domain-aliases', title: 'Domain aliases', roles: admins, component: DomainAliases },
  { path: '/relay-domains', title: 'Relay domains', roles: admins, component: RelayDomains },
  { path: '/import-export', title: 'Import and export', roles: admins, component: ImportExport },
  { path: '/stats', title: 'Statistics', roles: admins, component: Stats },
  { path: '/queue', title: 'Queue', roles: admins, component: Queue },
  { path: '/audit', title: 'Audit log', roles: admins, component: Audit },
  { path: '/admins', title: 'Admins', roles: ['masteradmin'], component: Admins },
  { path: '/settings', title: 'Settings', roles: ['masteradmin'], component: Settings },
  { path: '/tokens', title: 'API tokens', roles: everyone, component: Tokens },
  { path: '/sessions', title: 'Sessions', roles: everyone, component: Sessions },
];

export function pagesFor(role: Role): Page[] {
  return pages.filter((p) => p.roles.includes(role));
}

/** navPagesFor is what the navigation lists: the pages without a parameter. */
export function navPagesFor(role: Role): Page[] {
  return pagesFor(role).filter((p) => !p.withParam);
}

export interface Match {
  page: Page;
  param: string;
}

export function findPage(path: string, role: Role): Match | undefined {
  const clean = path.length > 1 ? path.replace(/\/+$/, '') : path;
  for (const p of pagesFor(role)) {
    if (!p.withParam) {
      if (p.path === clean) return { page: p, param: '' };
      continue;
    }
    const rest = clean.startsWith(p.path + '/') ? clean.slice(p.path.length + 1) : '';
    if (rest === '' || rest.includes('/')) continue;
    try {
      return { page: p, param: decodeURIComponent(rest) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
