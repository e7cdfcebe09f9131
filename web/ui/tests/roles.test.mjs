// Each role signs in at phone and desktop widths and sees exactly its pages:
// the navigation lists them, each opens, and the other roles' pages are not
// there. The dashboards are saved as test-results/ROLE-dashboard-WIDTH.png.
// Every page passes axe-core's WCAG 2.x A/AA rules (harness checkA11y) in
// the light and dark colour schemes, at desktop width and at phone width
// (there with every <details> open).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserSuite, checkA11y, go, screenshot, signIn, skipReason, viewports } from './harness.mjs';

const suite = browserSuite();

// The navigation of each role, in order (src/lib/pages.ts); a page added
// there for a role is added here too, with its path.
const directory = [
  'Domains',
  'Mailboxes',
  'Aliases',
  'Sender addresses',
  'Forwards',
  'Domain aliases',
  'Relay domains',
  'Import and export',
];
const operations = ['Statistics', 'Queue', 'Audit log'];
const own = ['API tokens', 'Sessions'];
const navigation = {
  masteradmin: ['Dashboard', ...directory, ...operations, 'Admins', 'Settings', ...own],
  domainadmin: ['Dashboard', ...directory, ...operations, ...own],
  user: ['Dashboard', 'My account', 'Forwards', ...own],
};

const paths = {
  Dashboard: '/',
  Domains: '/domains',
  Mailboxes: '/mailboxes',
  Aliases: '/aliases',
  'Sender addresses': '/sender-addresses',
  Forwards: '/forwards',
  'Domain aliases': '/domain-aliases',
  'Relay domains': '/relay-domains',
  'Import and export': '/import-export',
  'My account': '/account',
  Statistics: '/stats',
  Queue: '/queue',
  'Audit log': '/audit',
  Admins: '/admins',
  Settings: '/settings',
  'API tokens': '/tokens',
  Sessions: '/sessions',
};

const roles = [
  ['master', 'masteradmin'],
  ['domainAdmin', 'domainadmin'],
  ['user', 'user'],
];

/** navLinks reads the main navigation's link names, opening the phone menu first. */
async function navLinks(page) {
  const toggle = page.getByRole('button', { name: 'Menu' });
  if (await toggle.isVisible()) await toggle.click();
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link').first().waitFor();
  const names = (await nav.getByRole('link').allTextContents()).map((s) => s.trim());
  if (await toggle.isVisible()) await page.keyboard.press('Escape');
  return names;
}

/**
 * settled waits until the page has loaded what it shows: no "Loading…"
 * placeholder is left, so axe judges the page's content, not a spinner.
 */
async function settled(page) {
  await page.getByText('Loading…', { exact: true }).first().waitFor({ state: 'detached' });
}

/** openDisclosures opens every <details> of the page, so axe judges what they hide too. */
async function openDisclosures(page) {
  await page.evaluate(() => {
    for (const d of document.querySelectorAll('details')) d.open = true;
  });
}

for (const [key, role] of roles) {
  describe(`${role}`, { skip: skipReason }, () => {
    for (const [width, viewport] of Object.entries(viewports)) {
      it(`signs in at ${width} width and sees its navigation and dashboard`, async () => {
        const account = suite.server.accounts[key];
        const page = await suite.open(viewport);
        await signIn(page, account);
        assert.equal(await page.getByTestId('account-login').textContent(), account.login);
        await screenshot(page, role, 'dashboard');
        assert.deepEqual(await navLinks(page), navigation[role]);
      });
    }

    it('opens every page of its navigation, each accessible, and none of the other roles’ pages', async () => {
      const page = await suite.open(viewports.desktop);
      await signIn(page, suite.server.accounts[key]);
      for (const name of navigation[role]) {
        await go(page, name);
        assert.equal(new URL(page.url()).pathname, paths[name]);
        await settled(page);
        await checkA11y(page, `${role} ${name} at desktop width`);
      }
      const others = Object.keys(paths).filter((name) => !navigation[role].includes(name));
      for (const name of others) {
        await page.goto(paths[name]);
        await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
      }
      await checkA11y(page, `${role} Page not found`);
    });

    it('shows every page accessibly at phone width, the open menu too', async () => {
      const page = await suite.open(viewports.phone);
      await signIn(page, suite.server.accounts[key]);
      await page.getByRole('button', { name: 'Menu' }).click();
      await checkA11y(page, `${role} phone menu`);
      await page.keyboard.press('Escape');
      for (const name of navigation[role]) {
        await go(page, name);
        await settled(page);
        await openDisclosures(page);
        await checkA11y(page, `${role} ${name} at phone width, disclosures open`);
      }
    });
  });
}
