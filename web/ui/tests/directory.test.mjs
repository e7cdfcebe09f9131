// Browser tests of the directory pages (domains, a domain's DNS records,
// mailboxes, a mail user's own account) against the real server: what the
// UI does is checked through the API as well. Screenshots at phone and
// desktop widths go to test-results/.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserSuite, go, screenshots, signIn, skipReason, viewports } from './harness.mjs';

const suite = browserSuite();
const accounts = () => suite.server.accounts;

/** open launches a browser and signs account in. */
async function open(account, viewport = viewports.desktop) {
  const page = await suite.open(viewport);
  await signIn(page, account);
  return page;
}

/** postsSeen records the paths of the page's POST requests. */
function postsSeen(page) {
  const seen = [];
  page.on('request', (r) => {
    if (r.method() === 'POST') seen.push(new URL(r.url()).pathname);
  });
  return seen;
}

async function addDomain(page, name) {
  await page.getByLabel('Domain name').fill(name);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.getByRole('status').filter({ hasText: `${name} was added.` }).waitFor();
}

/** dnsRows reads the DNS page's rows as [kind, status] pairs. */
async function dnsRows(page) {
  const rows = page.getByTestId('dns-records').getByRole('listitem');
  const out = [];
  for (const row of await rows.all()) {
    const kind = (await row.locator('.dns-kind strong').textContent())?.trim();
    const status = await row.getByTestId('dns-status').allTextContents();
    out.push([kind, status[0]?.trim()]);
  }
  return out;
}

describe('domains', { skip: skipReason }, () => {
  it('a master admin adds domains, finds one by search and deletes one after confirming', async () => {
    const page = await open(accounts().master);
    await go(page, 'Domains');
    await addDomain(page, 'shop.test');
    await addDomain(page, 'news.test');
    const list = page.getByTestId('domain-list');
    const count = page.getByTestId('domains-count');

    await page.getByLabel('Search').fill('.test');
    await list.getByRole('link', { name: 'shop.test' }).waitFor();
    assert.deepEqual(await list.getByRole('link').allTextContents(), [
      'example.test',
      'news.test',
      'other.test',
      'shop.test',
    ]);
    await page.getByLabel('Search').fill('shop');
    await count.getByText('1–1 of 1.').waitFor();
    assert.deepEqual(await list.getByRole('link').allTextContents(), ['shop.test']);
    await page.getByLabel('Search').fill('');
    await list.getByRole('link', { name: 'news.test' }).waitFor();
    await screenshots(page, 'masteradmin', 'domains');

    await page.getByRole('button', { name: 'Delete news.test' }).click();
    const confirm = page.getByRole('group', { name: 'Confirm deleting news.test' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await list.getByRole('link', { name: 'news.test' }).count(), 1, 'cancel keeps the domain');
    await page.getByRole('button', { name: 'Delete news.test' }).click();
    await confirm.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('status').filter({ hasText: 'news.test was deleted.' }).waitFor();
    assert.equal(await list.getByRole('link', { name: 'news.test' }).count(), 0);

    const api = suite.server.api(accounts().master);
    assert.equal((await api.get('/domains/news.test')).status, 404);
    assert.equal((await api.get('/domains/shop.test')).status, 200);
  });

  it('checks a name locally before sending it, and shows the server refusing a duplicate', async () => {
    const page = await open(accounts().master);
    await go(page, 'Domains');
    const posts = postsSeen(page);
    const input = page.getByLabel('Domain name');

    await input.fill('not a domain');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByText('Enter a name like example.com').waitFor();
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.equal(await input.getAttribute('aria-describedby'), 'domain-name-error');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'domain-name');
    assert.deepEqual(posts, [], 'a name that is plainly wrong is not sent');

    // Well-formed, but the server has it already (409).
    await input.fill('example.test');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('alert').filter({ hasText: 'already exists' }).waitFor();
    assert.deepEqual(posts, ['/api/v1/domains']);
    await screenshots(page, 'masteradmin', 'domains-refused');
  });
});

describe('a domain admin’s domain and its DNS records', { skip: skipReason }, () => {
  it('lists only its domain and checks its DNS records: red while missing or wrong, green once published', async () => {
    const { server } = suite;
    const da = accounts().domainAdmin;
    const page = await open(da, viewports.phone);
    await go(page, 'Domains');
    assert.deepEqual(await page.getByTestId('domain-list').getByRole('link').allTextContents(), ['example.test']);

    await page.getByRole('link', { name: 'example.test' }).click();
    await page.getByRole('heading', { level: 1, name: 'example.test' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/domains/example.test');
    await page.getByTestId('dns-records').getByRole('listitem').first().waitFor();
    assert.equal(await page.getByTestId('dns-status').count(), 0, 'no status before a check');
    const { records } = (await server.api(da).get('/domains/example.test/dns')).json;
    assert.equal(await page.getByTestId('dns-records').getByRole('listitem').count(), records.length);

    // Published: the MX; wrong: SPF; the rest is missing.
    const mx = records.find((r) => r.kind === 'MX');
    server.dns.set(mx.name, 'MX', [mx.value]);
    server.dns.set('example.test', 'TXT', ['v=spf1 -all']);
    await page.getByRole('button', { name: 'Check DNS' }).click();
    await page.getByText('Some records are missing or wrong.').waitFor();
    const red = await dnsRows(page);
    assert.deepEqual(
      red,
      records.map((r) => [r.kind, r.kind === 'MX' ? 'OK' : r.kind === 'SPF' ? 'Wrong' : 'Missing']),
    );
    await page.getByText('Found v=spf1 -all').waitFor();
    assert.match((await page.getByTestId('dns-status').first().getAttribute('class')) ?? '', /status-ok/);
    await screenshots(page, 'domainadmin', 'domain-dns-red');

    publish(server, records);
    await page.getByRole('button', { name: 'Check DNS' }).click();
    await page.getByText('All records are published correctly.').waitFor();
    assert.deepEqual(
      await dnsRows(page),
      records.map((r) => [r.kind, 'OK']),
    );
    await screenshots(page, 'domainadmin', 'domain-dns-green');

    // A reload lands on the same page (history routing).
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'example.test' }).waitFor();
  });
});

/**
 * publish puts every record the server asks for into the tests' DNS server.
 * A host name the server wants as a CNAME to itself may instead carry the
 * server's addresses, which is what the check compares.
 */
function publish(server, records) {
  const byName = new Map();
  const add = (name, type, value) => {
    const key = `${name} ${type}`;
    byName.set(key, [...(byName.get(key) ?? []), value]);
  };
  for (const r of records) {
    if (r.type === 'CNAME') {
      add(r.name, 'A', '192.0.2.25');
      add(r.value, 'A', '192.0.2.25');
    } else {
      add(r.name, r.type, r.value);
    }
  }
  for (const [key, values] of byName) {
    const [name, type] = key.split(' ');
    server.dns.set(name, type, [...new Set(values)]);
  }
}

describe('mailboxes and my account', { skip: skipReason }, () => {
  it('a domain admin creates and edits a mailbox in its domain; the mail user changes its own password and name', async () => {
    const { server } = suite;
    const da = accounts().domainAdmin;
    const page = await open(da);
    await go(page, 'Mailboxes');
    const list = page.getByTestId('mailbox-list');
    await list.locator('li[data-key="alice@example.test"]').waitFor();
    assert.deepEqual(await list.getByRole('listitem').evaluateAll((li) => li.map((l) => l.dataset.key)), [
      'alice@example.test',
    ]);

    // The server's refusals show where they belong: a weak password (422)
    // by its field, another admin's domain (403) above the form.
    const address = page.getByLabel('Address');
    const password = page.getByLabel('Password', { exact: true });
    await address.fill('ann@example.test');
    await password.fill('short');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    await page.locator('#new-password-error').getByText('password too short: at least 8 characters').waitFor();
    assert.equal(await password.getAttribute('aria-invalid'), 'true');

    await address.fill('ann@other.test');
    await password.fill('first-Password-1');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    await page.getByRole('alert').filter({ hasText: 'may not add mailbox ann@other.test' }).waitFor();

    await address.fill('ann@example.test');
    await password.fill('first-Password-1');
    await page.getByLabel('Display name').fill('Ann <script>alert(1)</script>');
    await page.getByLabel('Quota in MiB').fill('50');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    await page.getByText('ann@example.test was created.').waitFor();
    const row = list.locator('li[data-key="ann@example.test"]');
    // User data is text, never markup.
    assert.equal(await row.getByTestId('mailbox-name').textContent(), 'Ann <script>alert(1)</script>');
    await row.getByText('0 B used, 50 MiB quota').waitFor();

    await row.getByRole('button', { name: 'Edit ann@example.test' }).click();
    await row.getByLabel('Display name').fill('Ann Example');
    await row.getByRole('button', { name: 'Save' }).click();
    await page.getByText('ann@example.test was saved.').waitFor();
    assert.equal(await row.getByTestId('mailbox-name').textContent(), 'Ann Example');
    await screenshots(page, 'domainadmin', 'mailboxes');

    const stored = (await server.api(da).get('/mailboxes/ann@example.test')).json;
    assert.deepEqual([stored.display_name, stored.quota_bytes], ['Ann Example', 50 * 1024 * 1024]);
    assert.equal((await server.api(accounts().master).get('/mailboxes/ann@other.test')).status, 404);

    // Sign out and in as the mail user.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(page, { login: 'ann@example.test', password: 'first-Password-1' });
    await go(page, 'My account');
    assert.equal(await page.getByLabel('Display name').inputValue(), 'Ann Example');

    await page.getByLabel('New password', { exact: true }).fill('second-Password-2');
    await page.getByLabel('New password again').fill('typo');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('The two passwords differ.').waitFor();

    await page.getByLabel('New password again').fill('second-Password-2');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password was changed.').waitFor();

    await page.getByLabel('Display name').fill('Ann E.');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByText('Your display name was saved.').waitFor();
    await screenshots(page, 'user', 'my-account');

    // The new password works and the old one does not.
    const request = page.context().request;
    const login = (pw) => request.post('/api/v1/session', { data: { login: 'ann@example.test', password: pw } });
    assert.equal((await login('first-Password-1')).status(), 401);
    assert.equal((await login('second-Password-2')).status(), 200);
    assert.equal((await server.api(da).get('/mailboxes/ann@example.test')).json.display_name, 'Ann E.');
  });

  it('a domain admin at its mailbox limit is told why the next mailbox is refused', async () => {
    const { server } = suite;
    const da = accounts().domainAdmin;
    const api = server.api(da);
    // Fill the domain admin's mailboxes up to its limit.
    const made = [];
    for (let i = 0; ; i++) {
      const res = await api.post('/mailboxes', { address: `fill${i}@example.test`, password: 'fill-Password-1' });
      if (res.status === 409) break;
      assert.equal(res.status, 201, res.text);
      made.push(`fill${i}@example.test`);
    }

    const page = await open(da, viewports.phone);
    await go(page, 'Mailboxes');
    await page.getByLabel('Address').fill('one-more@example.test');
    await page.getByLabel('Password', { exact: true }).fill('one-more-Password-1');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    await page.getByRole('alert').filter({ hasText: 'limit reached: 5 mailboxes for admin da' }).waitFor();
    await screenshots(page, 'domainadmin', 'mailboxes-limit');
    assert.equal((await api.get('/mailboxes/one-more@example.test')).status, 404);

    for (const a of made) assert.equal((await api.delete(`/mailboxes/${a}`)).status, 204);
  });

  it('a master admin pages through mailboxes 20 at a time, searches them and deletes one', async () => {
    const api = suite.server.api(accounts().master);
    assert.equal((await api.post('/domains', { name: 'many.test' })).status, 201);
    for (let i = 0; i < 25; i++) {
      const res = await api.post('/mailboxes', {
        address: `u${String(i).padStart(2, '0')}@many.test`,
        password: 'a-long-Password-1',
      });
      assert.equal(res.status, 201, res.text);
    }

    const page = await open(accounts().master, viewports.phone);
    await go(page, 'Mailboxes');
    const count = page.getByTestId('mailboxes-count');
    await page.getByLabel('Search').fill('many.test');
    await count.getByText('1–20 of 25.').waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await count.getByText('21–25 of 25.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true);
    await page.getByLabel('Search').fill('u07');
    await count.getByText('1–1 of 1.').waitFor();
    await screenshots(page, 'masteradmin', 'mailboxes-search');

    const row = page.locator('li[data-key="u07@many.test"]');
    await row.getByRole('button', { name: 'Delete u07@many.test' }).click();
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    await count.getByText('No mailboxes match the search.').waitFor();
    assert.equal((await api.get('/mailboxes/u07@many.test')).status, 404);
  });
});
