// Browser tests of the address pages (aliases, sender addresses, forwards,
// domain aliases, relay domains) against the real server, mostly as the
// DomainAdmin of example.test: each task is done through the UI and its
// result read back through the API. Screenshots at phone and desktop widths
// go to test-results/.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { browserSuite, go, screenshots, signIn, skipReason, viewports } from './harness.mjs';

const suite = browserSuite();
const accounts = () => suite.server.accounts;
const api = (account) => suite.server.api(account);

/** open launches a browser and signs account in. */
async function open(account, viewport = viewports.desktop) {
  const page = await suite.open(viewport);
  await signIn(page, account);
  return page;
}

/** status waits for a success notice containing text. */
async function status(page, text) {
  await page.getByRole('status').filter({ hasText: text }).waitFor();
}

/**
 * invalid asserts that the field labelled label is marked invalid with
 * message and, unless another field comes first, has the focus.
 */
async function invalid(page, label, message, { focused = true } = {}) {
  const input = page.getByLabel(label, { exact: true });
  await page.locator(`[aria-invalid="true"]`).first().waitFor();
  assert.equal(await input.getAttribute('aria-invalid'), 'true', `${label} is marked invalid`);
  const described = await input.getAttribute('aria-describedby');
  assert.match((await page.locator(`#${described}`).textContent()) ?? '', message);
  assert.equal(await input.evaluate((el) => el === document.activeElement), focused, `${label} has the focus`);
}

/** rowKeys is the keys of a list's rows (ResourceList's data-key). */
async function rowKeys(page, testid) {
  const list = page.getByTestId(testid);
  if ((await list.count()) === 0) return [];
  return list.locator(':scope > li').evaluateAll((lis) => lis.map((li) => li.dataset.key));
}

/** confirmDelete clicks "Delete KEY" and then "Yes, delete", and waits for the notice. */
async function confirmDelete(page, key) {
  await page.getByRole('button', { name: `Delete ${key}`, exact: true }).click();
  await page.getByRole('group', { name: `Confirm deleting ${key}` }).getByRole('button', { name: 'Yes, delete' }).click();
  await status(page, `${key} was deleted.`);
}

// One server for every suite; the other admin's objects exist throughout.
describe('address pages', { skip: skipReason }, () => {
  // Objects of other.test (the other DomainAdmin's domain), made by the master
  // admin: the DomainAdmin of example.test must not see any of them.
  before(async () => {
    const m = api(accounts().master);
    const made = [
      await m.post('/aliases', { address: 'postmaster@other.test', targets: ['bob@other.test'] }),
      await m.post('/domain-aliases', { alias: 'other.example', domain: 'other.test' }),
      await m.post('/relay-domains', { name: 'branch.other.test', host: 'relay.other.test' }),
      await m.post('/sender-addresses', { mailbox: 'bob@other.test', address: 'sales@other.test' }),
    ];
    for (const r of made) assert.equal(r.status, 201, r.text);
  });

  describe('aliases', () => {
    it('a domain admin creates, finds, edits and deletes an alias, with inline validation', async () => {
      const da = accounts().domainAdmin;
      const page = await open(da);
      await go(page, 'Aliases');
      await page.getByTestId('aliases-count').filter({ hasText: 'No aliases yet.' }).waitFor();

      // Local checks, each shown at its field.
      await page.getByLabel('Address', { exact: true }).fill('not an address');
      await page.getByLabel('Deliver to').fill('alice@example.test');
      await page.getByRole('button', { name: 'Create alias' }).click();
      await invalid(page, 'Address', /Enter an address/);
      await page.getByLabel('Address', { exact: true }).fill('info@example.test');
      await page.getByLabel('Deliver to').fill('alice@example.test\nnot-an-address');
      await page.getByRole('button', { name: 'Create alias' }).click();
      await invalid(page, 'Deliver to', /Not an address: not-an-address/);

      // One target per line, a local and an external one.
      await page.getByLabel('Deliver to').fill('alice@example.test\nalice@elsewhere.example');
      await page.getByRole('button', { name: 'Create alias' }).click();
      await status(page, 'info@example.test was created.');
      const created = await api(da).get('/aliases/info@example.test');
      assert.equal(created.status, 200);
      assert.deepEqual(created.json.targets, ['alice@example.test', 'alice@elsewhere.example']);

      // The server's refusal: an address of another admin's domain.
      await page.getByLabel('Address', { exact: true }).fill('info@other.test');
      await page.getByLabel('Deliver to').fill('alice@example.test');
      await page.getByRole('button', { name: 'Create alias' }).click();
      await page.getByRole('alert').filter({ hasText: /other\.test/ }).waitFor();
      assert.equal((await api(accounts().master).get('/aliases/info@other.test')).status, 404);

      // Another alias, then search and the domain filter.
      await page.getByLabel('Address', { exact: true }).fill('sales@example.test');
      await page.getByRole('button', { name: 'Create alias' }).click();
      await status(page, 'sales@example.test was created.');
      await page.getByTestId('aliases-count').filter({ hasText: '1–2 of 2.' }).waitFor();
      assert.deepEqual(await rowKeys(page, 'alias-list'), ['info@example.test', 'sales@example.test']);
      await page.getByLabel('Search').fill('sales');
      await page.getByTestId('aliases-count').filter({ hasText: '1–1 of 1.' }).waitFor();
      assert.deepEqual(await rowKeys(page, 'alias-list'), ['sales@example.test']);
      await page.getByLabel('Search').fill('');
      // Only the admin's own domain is offered to filter by.
      const domainFilter = page.getByLabel('Domain', { exact: true });
      assert.deepEqual(await domainFilter.locator('option').allTextContents(), ['All domains', 'example.test']);
      const filtered = page.waitForResponse((r) => new URL(r.url()).searchParams.get('domain') === 'example.test');
      await domainFilter.selectOption('example.test');
      assert.equal((await filtered).status(), 200);
      await page.getByTestId('aliases-count').filter({ hasText: '1–2 of 2.' }).waitFor();
      await screenshots(page, 'domainadmin', 'aliases');

      // Edit the targets in place (PATCH): the new list replaces the old.
      await page.getByRole('button', { name: 'Edit info@example.test' }).click();
      const edit = page.getByLabel('Deliver info@example.test to');
      assert.equal(await edit.inputValue(), 'alice@example.test\nalice@elsewhere.example');
      await edit.fill('info@example.test');
      await page.getByRole('button', { name: 'Save' }).click();
      await invalid(page, 'Deliver info@example.test to', /cannot deliver to itself/);
      await edit.fill('alice@example.test');
      await page.getByRole('button', { name: 'Save' }).click();
      await status(page, 'info@example.test was saved.');
      assert.deepEqual((await api(da).get('/aliases/info@example.test')).json.targets, ['alice@example.test']);
      await page
        .locator('[data-key="info@example.test"]')
        .getByTestId('alias-targets')
        .filter({ hasText: /^to alice@example\.test$/ })
        .waitFor();

      for (const a of ['info@example.test', 'sales@example.test']) await confirmDelete(page, a);
      assert.equal((await api(da).get('/aliases/info@example.test')).status, 404);
      await page.getByTestId('aliases-count').filter({ hasText: 'No aliases yet.' }).waitFor();
    });
  });

  describe('sender addresses', () => {
    it('a domain admin sees its domains’ sender addresses at once, gives a mailbox an address and takes it back', async () => {
      const da = accounts().domainAdmin;
      const page = await open(da, viewports.phone);
      await go(page, 'Sender addresses');
      // bob@other.test's address (made before the tests) is not listed.
      await page.getByTestId('sender-addresses-count').filter({ hasText: 'No sender addresses yet.' }).waitFor();

      await page.getByLabel('Mailbox', { exact: true }).fill('alice');
      await page.getByLabel('May send as').fill('sales@example.test');
      await page.getByRole('button', { name: 'Add sender address' }).click();
      await invalid(page, 'Mailbox', /Enter a mailbox address/);
      // The suggestions are the admin's mailboxes only.
      const suggestions = page.locator('#sender-mailbox-suggestions option');
      await suggestions.first().waitFor({ state: 'attached' });
      assert.deepEqual(await suggestions.evaluateAll((os) => os.map((o) => o.value)), ['alice@example.test']);

      // Another admin's domain: refused by the server, shown above the form.
      await page.getByLabel('Mailbox', { exact: true }).fill('alice@example.test');
      await page.getByLabel('May send as').fill('sales@other.test');
      await page.getByRole('button', { name: 'Add sender address' }).click();
      await page.getByRole('alert').filter({ hasText: /other\.test/ }).waitFor();

      await page.getByLabel('May send as').fill('Sales@Example.test');
      await page.getByRole('button', { name: 'Add sender address' }).click();
      await status(page, 'alice@example.test may now send as sales@example.test.');
      await page.getByTestId('sender-addresses-count').filter({ hasText: '1–1 of 1.' }).waitFor();
      assert.deepEqual(await rowKeys(page, 'sender-address-list'), ['sales@example.test for alice@example.test']);
      const got = await api(da).get('/sender-addresses');
      assert.deepEqual(got.json.items, [{ mailbox: 'alice@example.test', address: 'sales@example.test' }]);

      // Search and the domain filter of the whole list.
      await page.getByLabel('Search').fill('nobody');
      await page.getByTestId('sender-addresses-count').filter({ hasText: 'No sender addresses match the search.' }).waitFor();
      await page.getByLabel('Search').fill('SALES');
      await page.getByTestId('sender-addresses-count').filter({ hasText: '1–1 of 1.' }).waitFor();
      const domainFilter = page.getByLabel('Domain', { exact: true });
      assert.deepEqual(await domainFilter.locator('option').allTextContents(), ['All domains', 'example.test']);
      const filtered = page.waitForResponse((r) => new URL(r.url()).searchParams.get('domain') === 'example.test');
      await domainFilter.selectOption('example.test');
      assert.equal((await filtered).status(), 200);
      await page.getByTestId('sender-addresses-count').filter({ hasText: '1–1 of 1.' }).waitFor();
      await screenshots(page, 'domainadmin', 'sender-addresses');

      await confirmDelete(page, 'sales@example.test for alice@example.test');
      assert.equal((await api(da).get('/sender-addresses?mailbox=alice@example.test')).json.total, 0);
    });

    it('the master admin sees every domain’s sender addresses and filters them by domain', async () => {
      const page = await open(accounts().master);
      await go(page, 'Sender addresses');
      await page.getByTestId('sender-addresses-count').filter({ hasText: '1–1 of 1.' }).waitFor();
      assert.deepEqual(await rowKeys(page, 'sender-address-list'), ['sales@other.test for bob@other.test']);
      await page.getByLabel('Domain', { exact: true }).selectOption('example.test');
      await page.getByTestId('sender-addresses-count').filter({ hasText: 'No sender addresses yet.' }).waitFor();
      await page.getByLabel('Domain', { exact: true }).selectOption('other.test');
      await page.getByTestId('sender-addresses-count').filter({ hasText: '1–1 of 1.' }).waitFor();
      await screenshots(page, 'masteradmin', 'sender-addresses');
    });
  });

  describe('domain aliases', () => {
    it('a domain admin adds a domain alias of its domain and deletes it', async () => {
      const da = accounts().domainAdmin;
      const page = await open(da);
      await go(page, 'Domain aliases');
      await page.getByTestId('domain-aliases-count').filter({ hasText: 'No domain aliases yet.' }).waitFor();
      // The target is a choice among the admin's own domains.
      const target = page.getByLabel('Stands for');
      assert.deepEqual(await target.locator('option').allTextContents(), ['example.test']);

      await page.getByLabel('Alias domain').fill('not a domain');
      await page.getByRole('button', { name: 'Add domain alias' }).click();
      await invalid(page, 'Alias domain', /Enter a name like example\.com/);
      await page.getByLabel('Alias domain').fill('example.test');
      await page.getByRole('button', { name: 'Add domain alias' }).click();
      await invalid(page, 'Alias domain', /one of your domains/);

      await page.getByLabel('Alias domain').fill('Example.NET');
      await page.getByRole('button', { name: 'Add domain alias' }).click();
      await status(page, 'Mail to @example.net now goes to @example.test.');
      const got = await api(da).get('/domain-aliases/example.net');
      assert.equal(got.status, 200);
      assert.equal(got.json.domain, 'example.test');
      assert.deepEqual(await rowKeys(page, 'domain-alias-list'), ['example.net']);
      await screenshots(page, 'domainadmin', 'domain-aliases');

      await confirmDelete(page, 'example.net');
      assert.equal((await api(da).get('/domain-aliases/example.net')).status, 404);
    });
  });

  describe('relay domains', () => {
    it('a domain admin adds a relay domain below its domain, edits its destination and deletes it', async () => {
      const da = accounts().domainAdmin;
      const page = await open(da);
      await go(page, 'Relay domains');
      await page.getByTestId('relay-domains-count').filter({ hasText: 'No relay domains yet.' }).waitFor();

      await page.getByLabel('Domain', { exact: true }).fill('branch.example.test');
      await page.getByLabel('Relay to host').fill('relay.example.test');
      await page.getByLabel('Port').fill('70000');
      await page.getByLabel(/Accepted recipients/).fill('a@branch.example.test\nb@example.test');
      await page.getByRole('button', { name: 'Add relay domain' }).click();
      await invalid(page, 'Port', /from 1 to 65535/);
      await invalid(page, /Accepted recipients/, /Not an address at branch\.example\.test: b@example\.test/, {
        focused: false,
      });

      await page.getByLabel('Port').fill('2525');
      await page.getByLabel(/Accepted recipients/).fill('a@branch.example.test');
      await page.getByRole('button', { name: 'Add relay domain' }).click();
      await status(page, 'Mail for branch.example.test is now relayed to relay.example.test.');
      let got = await api(da).get('/relay-domains/branch.example.test');
      assert.equal(got.status, 200);
      assert.deepEqual(got.json, {
        name: 'branch.example.test',
        host: 'relay.example.test',
        port: 2525,
        recipients: ['a@branch.example.test'],
      });

      // Outside the admin's domains: the server refuses.
      await page.getByLabel('Domain', { exact: true }).fill('branch.elsewhere.example');
      await page.getByLabel('Relay to host').fill('relay.example.test');
      await page.getByRole('button', { name: 'Add relay domain' }).click();
      await page.getByRole('alert').filter({ hasText: /branch\.elsewhere\.example/ }).waitFor();
      await screenshots(page, 'domainadmin', 'relay-domains');

      // Edit (PATCH): the port and the recipients change, the host stays.
      await page.getByRole('button', { name: 'Edit branch.example.test' }).click();
      assert.equal(await page.locator('#edit-relay-host').inputValue(), 'relay.example.test');
      await page.locator('#edit-relay-port').fill('25');
      await page.locator('#edit-relay-recipients').fill('');
      await page.getByRole('button', { name: 'Save' }).click();
      await status(page, 'branch.example.test was saved.');
      got = await api(da).get('/relay-domains/branch.example.test');
      assert.deepEqual(got.json, { name: 'branch.example.test', host: 'relay.example.test', port: 25, recipients: [] });
      await page.getByTestId('relay-recipients').filter({ hasText: 'Every address is accepted.' }).waitFor();

      await confirmDelete(page, 'branch.example.test');
      assert.equal((await api(da).get('/relay-domains/branch.example.test')).status, 404);
    });
  });

  describe('forwards', () => {
    it('a domain admin sees its domains’ forwards at once, adds one to a mailbox and removes it', async () => {
      const da = accounts().domainAdmin;
      const page = await open(da);
      await go(page, 'Forwards');
      await page.getByTestId('forwards-count').filter({ hasText: 'No forwards yet.' }).waitFor();

      await page.getByLabel('Mailbox', { exact: true }).fill('alice@example.test');
      await page.getByLabel('Forward to').fill('alice@example.test');
      await page.getByRole('button', { name: 'Add forward' }).click();
      await invalid(page, 'Forward to', /cannot forward to itself/);

      await page.getByLabel('Forward to').fill('alice@elsewhere.example');
      await page.getByLabel('Also keep a copy in the mailbox').uncheck();
      await page.getByRole('button', { name: 'Add forward' }).click();
      await status(page, 'Mail to alice@example.test is now forwarded to alice@elsewhere.example.');
      const got = await api(da).get('/forwards');
      assert.deepEqual(got.json.items, [{ mailbox: 'alice@example.test', target: 'alice@elsewhere.example', keep_copy: false }]);
      assert.deepEqual(await rowKeys(page, 'forward-list'), ['alice@example.test to alice@elsewhere.example']);
      await page.getByText('No copy is kept.').waitFor();
      await page.getByLabel('Search').fill('elsewhere');
      await page.getByTestId('forwards-count').filter({ hasText: '1–1 of 1.' }).waitFor();
      await screenshots(page, 'domainadmin', 'forwards');

      // Another admin's mailbox: the server refuses, said above the form.
      await page.getByLabel('Mailbox', { exact: true }).fill('bob@other.test');
      await page.getByLabel('Forward to').fill('bob@elsewhere.example');
      await page.getByRole('button', { name: 'Add forward' }).click();
      await page.getByRole('alert').filter({ hasText: /bob@other\.test/ }).waitFor();
      assert.equal((await api(accounts().master).get('/forwards?mailbox=bob@other.test')).json.total, 0);

      await confirmDelete(page, 'alice@example.test to alice@elsewhere.example');
      assert.equal((await api(da).get('/forwards?mailbox=alice@example.test')).json.total, 0);
    });

    it('a mail user manages the forwards of its own mailbox, with no mailbox to choose', async () => {
      const alice = accounts().user;
      const page = await open(alice, viewports.phone);
      await go(page, 'Forwards');
      assert.equal(await page.getByLabel('Mailbox', { exact: true }).count(), 0, 'no mailbox field for a mail user');
      await page.getByTestId('forwards-count').filter({ hasText: 'No forwards yet.' }).waitFor();

      await page.getByLabel('Forward to').fill('alice.holiday@elsewhere.example');
      await page.getByRole('button', { name: 'Add forward' }).click();
      await status(page, 'Mail to alice@example.test is now forwarded to alice.holiday@elsewhere.example.');
      assert.deepEqual(await rowKeys(page, 'forward-list'), ['alice.holiday@elsewhere.example']);
      await page.getByText('A copy stays in the mailbox.').waitFor();
      const got = await api(alice).get('/forwards');
      assert.deepEqual(got.json.items, [
        { mailbox: 'alice@example.test', target: 'alice.holiday@elsewhere.example', keep_copy: true },
      ]);
      await screenshots(page, 'user', 'forwards');

      await confirmDelete(page, 'alice.holiday@elsewhere.example');
      assert.equal((await api(alice).get('/forwards')).json.total, 0);
    });
  });

  describe('scoping', () => {
    it('a domain admin sees none of another admin’s domain’s aliases, domain aliases, relay domains or sender addresses', async () => {
      const page = await open(accounts().domainAdmin);
      // The objects exist (made before the tests) ...
      const m = api(accounts().master);
      assert.equal((await m.get('/aliases/postmaster@other.test')).status, 200);
      // ... and the pages do not show them.
      await go(page, 'Aliases');
      await page.getByTestId('aliases-count').filter({ hasText: 'No aliases yet.' }).waitFor();
      await go(page, 'Domain aliases');
      await page.getByTestId('domain-aliases-count').filter({ hasText: 'No domain aliases yet.' }).waitFor();
      await go(page, 'Relay domains');
      await page.getByTestId('relay-domains-count').filter({ hasText: 'No relay domains yet.' }).waitFor();
      await go(page, 'Sender addresses');
      await page.getByTestId('sender-addresses-count').filter({ hasText: 'No sender addresses yet.' }).waitFor();
      assert.deepEqual(await rowKeys(page, 'sender-address-list'), []);
    });
  });
});
