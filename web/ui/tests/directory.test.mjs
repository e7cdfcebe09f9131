// Browser tests of the directory pages (domains, a domain's DNS records,
// mailboxes, a mail user's own account) against the mock server's in-memory
// directory. Screenshots at phone and desktop widths go to test-results/.
//
// These need the mock: they create domains and mailboxes and sign in as a
// mailbox, which a shared real server should not be put through blindly.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { launchBrowser, screenshot, signIn, startTarget, viewports } from './harness.mjs';

const skip = process.env.MAILPORT_URL ? 'runs against the mock server only' : false;

let target;
let browser;

before(async () => {
  if (!skip) target = await startTarget();
});

after(async () => {
  await target?.close();
});

afterEach(async () => {
  if (!browser) return;
  const { problems } = browser;
  await browser.close();
  browser = undefined;
  assert.deepEqual(problems, [], 'the page logged errors (CSP violations, exceptions)');
});

async function open(viewport = viewports.desktop) {
  browser = await launchBrowser(viewport, target.baseURL);
  await browser.page.goto('/');
  await signIn(browser.page, target.user);
  return browser.page;
}

/** go follows a navigation link (through the phone menu when there is one). */
async function go(page, name) {
  const toggle = page.getByRole('button', { name: 'Menu' });
  if (await toggle.isVisible()) await toggle.click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

/** shots saves the page at both widths (desktop-NAME, phone-NAME), then restores the viewport. */
async function shots(page, name) {
  const was = page.viewportSize();
  for (const [label, size] of Object.entries(viewports)) {
    await page.setViewportSize(size);
    await screenshot(page, `${label}-${name}`);
  }
  if (was) await page.setViewportSize(was);
}

async function addDomain(page, name) {
  await page.getByLabel('Domain name').fill(name);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.getByRole('status').filter({ hasText: `${name} was added.` }).waitFor();
}

describe('domains', { skip }, () => {
  it('creates a domain, lists it, finds it by search and deletes it after confirming', async () => {
    const page = await open();
    await go(page, 'Domains');
    await addDomain(page, 'example.test');
    await addDomain(page, 'other.test');
    const list = page.getByTestId('domain-list');
    assert.deepEqual(await list.getByRole('link').allTextContents(), ['example.test', 'other.test']);

    await page.getByLabel('Search').fill('other');
    await page.getByText('1 domain.').waitFor();
    assert.deepEqual(await list.getByRole('link').allTextContents(), ['other.test']);
    await page.getByLabel('Search').fill('');
    await page.getByText('2 domains.').waitFor();
    await shots(page, 'domains');

    await page.getByRole('button', { name: 'Delete other.test' }).click();
    const confirm = page.getByRole('group', { name: 'Confirm deleting other.test' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await list.getByRole('link').count(), 2, 'cancel keeps the domain');
    await page.getByRole('button', { name: 'Delete other.test' }).click();
    await confirm.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByText('1 domain.').waitFor();
    assert.deepEqual(await list.getByRole('link').allTextContents(), ['example.test']);
  });

  it('shows an invalid name next to the field: checked locally, and the server 422 too', async () => {
    const page = await open();
    await go(page, 'Domains');
    const seen = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') seen.push(new URL(r.url()).pathname);
    });
    const input = page.getByLabel('Domain name');

    await input.fill('not a domain');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByText('Enter a name like example.com').waitFor();
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.equal(await input.getAttribute('aria-describedby'), 'domain-name-error');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'domain-name');
    assert.deepEqual(seen, [], 'a name that is plainly wrong is not sent');

    // Well-formed but refused by the server (a numeric top-level label): the
    // 422 message lands on the field as well.
    await input.fill('example.123');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.locator('#domain-name-error').getByText('invalid domain name').waitFor();
    assert.deepEqual(seen, ['/api/v1/domains']);
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    await shots(page, 'domains-invalid');
  });

  it('shows a domain’s DNS records and, after a check, a status per record', async () => {
    const page = await open(viewports.phone);
    await go(page, 'Domains');
    await addDomain(page, 'dns.test');
    await page.getByRole('link', { name: 'dns.test' }).click();
    await page.getByRole('heading', { level: 1, name: 'dns.test' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/domains/dns.test');
    const records = page.getByTestId('dns-records').getByRole('listitem');
    await records.first().waitFor();
    assert.equal(await records.count(), 3);
    assert.equal(await page.getByTestId('dns-status').count(), 0, 'no status before a check');

    await page.getByRole('button', { name: 'Check DNS' }).click();
    await page.getByText('Some records are missing or wrong.').waitFor();
    const statuses = page.getByTestId('dns-status');
    assert.deepEqual(await statuses.allTextContents(), ['OK', 'Missing', 'Wrong']);
    assert.match((await statuses.nth(0).getAttribute('class')) ?? '', /status-ok/);
    assert.match((await statuses.nth(1).getAttribute('class')) ?? '', /status-bad/);
    await page.getByText('v=DMARC1; p=none').waitFor();
    await shots(page, 'domain-dns');

    // A reload lands on the same page (history routing).
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'dns.test' }).waitFor();
  });
});

describe('mailboxes and my account', { skip }, () => {
  it('creates a mailbox, edits its display name; the mail user changes its own password', async () => {
    const page = await open();
    await go(page, 'Domains');
    await addDomain(page, 'mail.test');
    await go(page, 'Mailboxes');

    // A server-side field error (short password) shows by its field.
    await page.getByLabel('Address').fill('ann@mail.test');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    await page.getByText('a password has at least 8 characters').waitFor();
    assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid'), 'true');

    await page.getByLabel('Password', { exact: true }).fill('first-password-1');
    await page.getByLabel('Display name (optional)').fill('Ann <script>alert(1)</script>');
    await page.getByLabel('Quota in MiB (empty: none)').fill('50');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    await page.getByText('ann@mail.test was created.').waitFor();
    const row = page.locator('li[data-address="ann@mail.test"]');
    // User data is text, never markup.
    assert.equal(await row.getByTestId('mailbox-name').textContent(), 'Ann <script>alert(1)</script>');
    await row.getByText('0 B used, 50 MiB').waitFor();

    await row.getByRole('button', { name: 'Edit ann@mail.test' }).click();
    await row.getByLabel('Display name').fill('Ann Example');
    await row.getByRole('button', { name: 'Save' }).click();
    await page.getByText('ann@mail.test was saved.').waitFor();
    assert.equal(await row.getByTestId('mailbox-name').textContent(), 'Ann Example');
    await shots(page, 'mailboxes');

    // Sign out and in as the mail user.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(page, { login: 'ann@mail.test', password: 'first-password-1' });
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.deepEqual(await nav.getByRole('link').allTextContents().then((t) => t.map((s) => s.trim())), [
      'Dashboard',
      'My account',
    ]);
    await go(page, 'My account');
    assert.equal(await page.getByLabel('Display name').inputValue(), 'Ann Example');

    await page.getByLabel('New password', { exact: true }).fill('second-password-2');
    await page.getByLabel('New password again').fill('typo');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('The two passwords differ.').waitFor();

    await page.getByLabel('New password again').fill('second-password-2');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password was changed.').waitFor();

    await page.getByLabel('Display name').fill('Ann E.');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByText('Your display name was saved.').waitFor();
    await shots(page, 'my-account');

    // The new password works and the old one does not.
    const api = page.context().request;
    const old = await api.post('/api/v1/session', { data: { login: 'ann@mail.test', password: 'first-password-1' } });
    assert.equal(old.status(), 401);
    const fresh = await api.post('/api/v1/session', { data: { login: 'ann@mail.test', password: 'second-password-2' } });
    assert.equal(fresh.status(), 200);
  });

  it('pages through mailboxes 20 at a time and searches them', async () => {
    const page = await open(viewports.phone);
    await go(page, 'Domains');
    await addDomain(page, 'many.test');
    // Fill the directory through the API with the page's own session.
    const csrf = await page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).csrfToken);
    for (let i = 0; i < 25; i++) {
      const res = await page.request.post('/api/v1/mailboxes', {
        headers: { 'X-CSRF-Token': csrf },
        data: { address: `u${String(i).padStart(2, '0')}@many.test`, password: 'a-long-password' },
      });
      assert.equal(res.status(), 201);
    }
    await go(page, 'Mailboxes');
    await page.getByLabel('Search').fill('many.test');
    await page.getByText('1–20 of 25.').waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('21–25 of 25.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true);
    await page.getByLabel('Search').fill('u07');
    await page.getByText('1–1 of 1.').waitFor();
    await shots(page, 'mailboxes-search');

    const row = page.locator('li[data-address="u07@many.test"]');
    await row.getByRole('button', { name: 'Delete u07@many.test' }).click();
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByText('No mailboxes match the search.').waitFor();
  });
});
