// Browser tests of the dashboard of each role against the real server:
// a master admin's server totals, a domain admin's domains and limits, a
// mail user's mailbox. Screenshots at phone and desktop widths go to
// test-results/ as ROLE-dashboard-WIDTH.png.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserSuite, screenshots, signIn, skipReason, viewports } from './harness.mjs';

const suite = browserSuite();
const accounts = () => suite.server.accounts;

/** texts is each list item's text with its white space collapsed. */
async function texts(list) {
  return (await list.getByRole('listitem').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
}

describe('dashboard', { skip: skipReason }, () => {
  it('gives a master admin the server’s totals, each leading to its page', async () => {
    const page = await suite.open();
    await signIn(page, accounts().master);
    const totals = page.getByTestId('dashboard-totals');
    await totals.getByRole('link', { name: /Queued messages/ }).waitFor();
    assert.deepEqual(await texts(totals), ['2 Domains', '2 Mailboxes', '0 Messages', '0 B Storage used', '0 Queued messages']);
    await screenshots(page, 'masteradmin', 'dashboard');

    await totals.getByRole('link', { name: /Mailboxes/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Mailboxes' }).waitFor();
  });

  it('gives a domain admin its domains’ storage and its usage against its limits', async () => {
    const page = await suite.open(viewports.phone);
    await signIn(page, accounts().domainAdmin);
    assert.deepEqual(await texts(page.getByTestId('account-domains')), ['example.test']);
    const limits = page.getByTestId('dashboard-limits');
    await limits.getByText('Mailboxes').waitFor();
    assert.deepEqual(await texts(limits), [
      'Domains 1 of 2 (50%)',
      'Mailboxes 1 of 5 (20%)',
      'Aliases 0 of 10 (0%)',
      'Domain aliases 0 of 2 (0%)',
      'Storage (sum of mailbox quotas) 0 B (unlimited)',
    ]);
    assert.deepEqual(await texts(page.getByTestId('domain-usage')), [
      'example.test 0 B (no quotas) · 1 mailbox · 0 messages',
    ]);
    // Nothing of the master admin's: no server totals.
    assert.equal(await page.getByTestId('dashboard-totals').count(), 0);
    await screenshots(page, 'domainadmin', 'dashboard');
  });

  it('gives a mail user its mailbox against its quota and links to its pages', async () => {
    const api = suite.server.api(accounts().master);
    const res = await api.patch('/mailboxes/alice@example.test', { quota_bytes: 10 * 1024 * 1024 });
    assert.equal(res.status, 200, res.text);
    const page = await suite.open();
    await signIn(page, accounts().user);
    const usage = page.getByTestId('mailbox-usage');
    await usage.getByText('Storage').waitFor();
    assert.deepEqual(await texts(usage), ['Storage 0 B of 10 MiB (0%)']);
    await screenshots(page, 'user', 'dashboard');

    const pages = page.getByRole('navigation', { name: 'Your pages' });
    await pages.getByRole('link', { name: 'My account' }).click();
    await page.getByRole('heading', { level: 1, name: 'My account' }).waitFor();
  });
});
