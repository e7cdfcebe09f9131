import type { Component } from 'svelte';
import type { Account, Role } from './api';
import Dashboard from '../pages/Dashboard.svelte';

/** The props every page component gets. */
export interface PageProps {
  account: Account;
}

export interface Page {
  path: string;
  title: string;
  roles: readonly Role[];
  component: Component<PageProps>;
}

const everyone: readonly Role[] = ['masteradmin', 'domainadmin', 'user'];

// The navigation and the routes come from this one list, so a page is
// reachable exactly when its link is shown for the role.
export const pages: readonly Page[] = [{ path: '/', title: 'Dashboard', roles: everyone, component: Dashboard }];

export function pagesFor(role: Role): Page[] {
  return pages.filter((p) => p.roles.includes(role));
}

export function findPage(path: string, role: Role): Page | undefined {
  const clean = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return pagesFor(role).find((p) => p.path === clean);
}
