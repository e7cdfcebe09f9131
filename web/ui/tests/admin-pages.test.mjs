// Browser tests of the operations pages against the real server: admins and
// their limits, the queue, the audit log, the storage statistics and the
// server settings. Screenshots at phone and desktop widths go to
// test-results/ as ROLE-PAGE-WIDTH.png.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserSuite, go, screenshots, signIn, skipReason, viewports } from './harness.mjs';
import { closedPort, sendMail } from './smtp.mjs';

const suite = browserSuite();
const server = () => suite.server;
const master = () => server().accounts.master;
const masterAPI = () => patient(server().api(master()));

/**
 * patient wraps an API client so that a 429 is waited out as the answer's
 * Retry-After says, as a well-behaved client does: the set-up of these
 * tests (fifty changes for the audit log's second page) goes past the
 * per-token rate limit of the API.
 */
function patient(client) {
  const wrap =
    (fn) =>
    async (...args) => {
      for (;;) {
        const res = await fn(...args);
        if (res.status !== 429) return res;
        const wait = Number(res.headers['retry-after'] ?? 1);
        await new Promise((r) => setTimeout(r, wait * 1000));
      }
    };
  return Object.fromEntries(Object.entries(client).map(([k, fn]) => [k, wrap(fn)]));
}

/** ok asserts an API answer's status and returns its JSON. */
function ok(res, status = 200) {
  assert.equal(res.status, status, `${res.status} ${res.text}`);
  return res.json;
}

/**
 * until polls fn (an API read) until it returns something truthy: the
 * server does some things on its own time (a delivery attempt, a message
 * stored), and the test waits for the state rather than for a duration.
 */
async function until(what, fn) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function openAs(account, viewport = viewports.desktop) {
  const page = await suite.open(viewport);
  await signIn(page, account);
  return page;
}

describe('admins', { skip: skipReason }, () => {
  it('creates a domain admin with a mailbox limit of 1, who then creates one mailbox and is refused the second', async () => {
    ok(await masterAPI().post('/domains', { name: 'limits.test' }), 201);
    const page = await openAs(master());
    await go(page, 'Admins');
    const form = page.getByRole('region', { name: 'Create an admin' });
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/admins') posts.push(r.url());
    });

    // Inline validation: nothing is sent while the input is plainly wrong.
    await form.getByLabel('Login').fill('bad login');
    await form.getByLabel('Max. mailboxes').fill('one');
    await form.getByRole('button', { name: 'Create admin' }).click();
    await form.getByText('Enter up to 64 letters').waitFor();
    await form.getByText('Enter a whole number (0 or more).').waitFor();
    assert.equal(await form.getByLabel('Login').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-admin-login');
    assert.deepEqual(posts, []);
    await screenshots(page, 'masteradmin', 'admins-invalid');

    await form.getByLabel('Login').fill('lim');
    await form.getByLabel('Password').fill('lim-Secret-8813');
    await form.getByRole('textbox', { name: /^Domains/ }).fill('limits.test');
    await form.getByLabel('Max. mailboxes').fill('1');
    await form.getByRole('button', { name: 'Create admin' }).click();
    await form.getByRole('status').filter({ hasText: 'lim was created.' }).waitFor();
    const created = ok(await masterAPI().get('/admins/lim'));
    assert.equal(created.role, 'domainadmin');
    assert.deepEqual(created.domains, ['limits.test']);
    assert.equal(created.limits.max_mailboxes, 1);
    assert.equal(created.limits.max_domains, 0, 'an empty field is 0');
    assert.equal(created.limits.max_aliases, 0);

    const row = page.locator('li.row[data-key="lim"]');
    await row.getByText('0 of 1 (0%)').waitFor();
    await row.getByText('1 (adds none)').waitFor();
    await row.getByText('0 (unlimited)').first().waitFor();
    await row.getByText('limits.test').waitFor();
    await screenshots(page, 'masteradmin', 'admins');

    // The new admin, in a browser of its own.
    const da = await openAs({ login: 'lim', password: 'lim-Secret-8813' });
    await go(da, 'Mailboxes');
    const create = da.getByRole('region', { name: 'Create a mailbox' });
    await create.getByLabel('Address').fill('first@limits.test');
    await create.getByLabel('Password').fill('first-Secret-1');
    await create.getByRole('button', { name: 'Create mailbox' }).click();
    await create.getByRole('status').filter({ hasText: 'first@limits.test was created.' }).waitFor();
    await create.getByLabel('Address').fill('second@limits.test');
    await create.getByLabel('Password').fill('second-Secret-2');
    await create.getByRole('button', { name: 'Create mailbox' }).click();
    await create.getByRole('alert').filter({ hasText: 'limit reached' }).waitFor();
    await screenshots(da, 'domainadmin', 'mailboxes-limit');
    assert.equal(ok(await masterAPI().get('/mailboxes?domain=limits.test')).total, 1);
  });

  it('edits an admin’s account and limits, with usage beside each limit, and deletes it after confirming', async () => {
    ok(await masterAPI().post('/domains', { name: 'edit.test' }), 201);
    const body = { login: 'editme', password: 'editme-Secret-1', role: 'domainadmin', domains: ['edit.test'] };
    ok(await masterAPI().post('/admins', { ...body, limits: { max_mailboxes: 5 } }), 201);
    const editor = server().api({ login: 'editme' });
    ok(await editor.post('/mailboxes', { address: 'one@edit.test', password: 'one-Secret-1' }), 201);

    const page = await openAs(master(), viewports.phone);
    await go(page, 'Admins');
    await page.getByRole('button', { name: 'Edit editme' }).click();
    const limits = page.getByRole('form', { name: 'Limits of editme' });
    await limits.getByText('In use now: 1.').first().waitFor();
    assert.equal(await limits.getByLabel('Max. mailboxes').inputValue(), '5');

    await limits.getByLabel('Max. mailboxes').fill('-3');
    await limits.getByRole('button', { name: 'Save limits' }).click();
    await limits.getByText('Enter a whole number (0 or more).').waitFor();
    await limits.getByLabel('Max. mailboxes').fill('3');
    await limits.getByLabel('Max. storage').fill('2');
    await limits.getByLabel('Unit').selectOption('GiB');
    await limits.getByRole('button', { name: 'Save limits' }).click();
    await limits.getByRole('status').filter({ hasText: 'The limits of editme were saved.' }).waitFor();
    const l = ok(await masterAPI().get('/admins/editme/limits'));
    assert.equal(l.max_mailboxes, 3);
    assert.equal(l.max_storage_bytes, 2 * 1024 ** 3);
    await page.locator('li.row[data-key="editme"]').getByText('1 of 3 (33%)').waitFor();
    await screenshots(page, 'masteradmin', 'admins-edit');

    const account = page.getByRole('form', { name: 'Account of editme' });
    await account.getByLabel('Enabled').uncheck();
    await account.getByLabel('Domains').fill('edit.test\nnot a domain');
    await account.getByRole('button', { name: 'Save account' }).click();
    await account.getByText('not a domain is not a domain name.').waitFor();
    await account.getByLabel('Domains').fill('edit.test');
    await account.getByRole('button', { name: 'Save account' }).click();
    await account.getByRole('status').filter({ hasText: 'editme was saved.' }).waitFor();
    assert.equal(ok(await masterAPI().get('/admins/editme')).enabled, false);
    await page.locator('li.row[data-key="editme"]').getByText('disabled').waitFor();
    await page.getByRole('button', { name: 'Close the editor of editme' }).click();

    await page.getByRole('button', { name: 'Delete editme' }).click();
    await page.getByRole('group', { name: 'Confirm deleting editme' }).getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('status').filter({ hasText: 'editme was deleted.' }).waitFor();
    assert.equal((await masterAPI().get('/admins/editme')).status, 404);
  });

  it('is not offered to a domain admin', async () => {
    const page = await openAs(server().accounts.domainAdmin);
    const toggle = page.getByRole('button', { name: 'Menu' });
    if (await toggle.isVisible()) await toggle.click();
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Queue' }).waitFor();
    assert.equal(await nav.getByRole('link', { name: 'Admins' }).count(), 0);
    assert.equal(await nav.getByRole('link', { name: 'Settings' }).count(), 0);
  });
});

describe('queue', { skip: skipReason }, () => {
  it('lists a message waiting for a closed port, retries it, finds it by search and removes it', async () => {
    const page = await openAs(master());
    await go(page, 'Queue');
    await page.getByText('No queued messages yet.').waitFor();

    const port = await closedPort();
    ok(await masterAPI().post('/relay-domains', { name: 'relay.example.test', host: '127.0.0.1', port }), 201);
    await sendMail(server().addrs.smtp, { from: 'carol@sender.test', to: 'bob@relay.example.test', subject: 'queued' });
    const entry = await until('a failed delivery attempt', async () => {
      const q = ok(await masterAPI().get('/queue'));
      return q.items.find((e) => e.attempts > 0);
    });

    await page.getByRole('button', { name: 'Refresh' }).click();
    const row = page.locator(`li.row[data-key="${entry.id}"]`);
    await row.getByText('From carol@sender.test').waitFor();
    await row.getByText('bob@relay.example.test').waitFor();
    await row.getByText('pending').waitFor();
    await row.getByText('connection refused').first().waitFor();
    assert.match(await row.getByTestId('queue-attempts').textContent(), /^1 attempt · next attempt .+\(in \d+ (second|minute)s?\)$/);

    await page.getByLabel('Search').fill('nobody@nowhere');
    await page.getByText('No queued messages match the search.').waitFor();
    await page.getByLabel('Search').fill('relay.example');
    await row.waitFor();
    await screenshots(page, 'masteradmin', 'queue');

    await page.getByRole('button', { name: `Retry now: ${entry.id}` }).click();
    await page.getByRole('status').filter({ hasText: `Message ${entry.id} was tried again (attempt 2)` }).waitFor();
    await row.getByTestId('queue-attempts').getByText('2 attempts').waitFor();
    assert.equal(ok(await masterAPI().get(`/queue/${entry.id}`)).attempts, 2);

    // The domain admin of example.test sees it (the relay domain is below
    // its domain); the other domain admin does not.
    const da = await openAs(server().accounts.domainAdmin, viewports.phone);
    await go(da, 'Queue');
    await da.locator(`li.row[data-key="${entry.id}"]`).waitFor();
    await screenshots(da, 'domainadmin', 'queue');
    assert.equal(ok(await server().api(server().accounts.otherDomainAdmin).get('/queue')).total, 0);

    await da.getByRole('button', { name: `Delete ${entry.id}` }).click();
    await da.getByRole('group', { name: `Confirm deleting ${entry.id}` }).getByRole('button', { name: 'Yes, delete' }).click();
    await da.getByText('No queued messages yet.').waitFor();
    assert.equal(ok(await masterAPI().get('/queue')).total, 0);
    await screenshots(da, 'domainadmin', 'queue-empty');
  });
});

describe('audit log', { skip: skipReason }, () => {
  it('shows the changes just made, newest first, with before and after, filtered and paged', async () => {
    ok(await masterAPI().post('/admins', { login: 'audited', password: 'audited-Secret-1', role: 'domainadmin' }), 201);
    ok(await masterAPI().put('/admins/audited/limits', { max_mailboxes: 4, max_domains: 1 }), 200);
    // Enough changes for a second page (50 a page).
    for (let i = 0; i < 50; i++) {
      ok(await masterAPI().patch('/mailboxes/alice@example.test', { display_name: `Alice ${i}` }));
    }
    ok(await masterAPI().put('/admins/audited/limits', { max_mailboxes: 2, max_domains: 1 }), 200);

    const page = await openAs(master());
    await go(page, 'Audit log');
    const list = page.getByTestId('audit-list');
    const first = list.getByRole('listitem').first();
    await first.getByText('admin.update', { exact: true }).waitFor();
    await first.getByText('audited').first().waitFor();
    await first.getByText('by admin (Master admin)').waitFor();
    await first.getByText('from 127.0.0.2').waitFor();

    // The limits change: before and after, the changed field marked.
    await first.getByText('1 field changed: limits.max_mailboxes').click();
    const changed = first.locator('tr.changed');
    assert.equal(await changed.count(), 1);
    assert.deepEqual(await changed.locator('th, td').allTextContents(), ['limits.max_mailboxes', '4', '2']);
    await first.getByText(/^\d+ unchanged fields$/).click();
    await first.getByRole('row', { name: /^enabled true true$/ }).waitFor();
    await screenshots(page, 'masteradmin', 'audit');

    // Paging by ID: the older page starts below the newest one.
    const topID = Number(await first.getAttribute('data-id'));
    await page.getByRole('button', { name: 'Older' }).click();
    await page.getByText(/\d+ changes?, older ones\./).waitFor();
    assert.ok(Number(await list.getByRole('listitem').first().getAttribute('data-id')) < topID - 49);
    await page.getByRole('button', { name: 'Newest' }).click();
    await page.getByText(/changes, the newest first\./).waitFor();
    assert.equal(Number(await list.getByRole('listitem').first().getAttribute('data-id')), topID);

    // Filters: a wrong domain is caught in the form; a domain keeps its own entries.
    await page.getByLabel('Domain').fill('not a domain');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.getByText('Enter a name like example.com').waitFor();
    await page.getByLabel('Domain').fill('example.test');
    await page.getByLabel('Changed by').fill('admin');
    const today = new Date().toLocaleDateString('en-CA'); // YYYY-MM-DD, local
    await page.getByLabel('From day').fill(today);
    await page.getByLabel('To day').fill(today);
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await first.getByText('mailbox.update', { exact: true }).waitFor();
    const domains = await list.locator('li').evaluateAll((ls) => ls.map((l) => l.textContent.includes('domain example.test')));
    assert.ok(domains.length > 0 && domains.every(Boolean), 'only example.test entries');
    await first.locator('summary').first().click();
    await first.locator('tr.changed').filter({ hasText: 'display_name' }).getByText('Alice 49').waitFor();

    await page.getByRole('button', { name: 'Clear' }).click();
    await first.getByText('admin.update', { exact: true }).waitFor();
  });
});

describe('statistics', { skip: skipReason }, () => {
  it('draws storage bars with their numbers per domain and, for a chosen domain, per mailbox', async () => {
    // A small quota, so the bars have visible lengths: alice's message
    // fills about a third of it, bob (no quota) as much on the same scale.
    ok(await masterAPI().patch('/mailboxes/alice@example.test', { quota_bytes: 64 * 1024 }));
    for (const to of ['alice@example.test', 'bob@other.test']) {
      await sendMail(server().addrs.smtp, { from: 'carol@sender.test', to, subject: 'stats', body: `${'x'.repeat(70)}\n`.repeat(300) });
    }
    await until('the messages in the mailboxes', async () => {
      const s = ok(await masterAPI().get('/stats'));
      return s.items.filter((d) => d.messages > 0).length === 2;
    });

    const page = await openAs(master());
    await go(page, 'Statistics');
    const bar = page.getByTestId('domain-bar-example.test');
    assert.match(await bar.locator('.usage-value').textContent(), /^\d+ KiB of 64 KiB \(\d+%\)$/);
    assert.equal(await bar.locator('svg rect.usage-fill').count(), 1);
    assert.match(await page.getByTestId('domain-bar-other.test').locator('.usage-value').textContent(), /^\d+ KiB \(no quotas\)$/);
    assert.equal(await page.getByTestId('domain-bar-other.test').locator('svg rect.usage-limit').count(), 0);
    const row = page.getByTestId('domain-table').getByRole('row', { name: /^example\.test/ });
    assert.deepEqual((await row.getByRole('cell').allTextContents()).slice(0, 3), ['1', '0', '1']);

    // aaron comes before alice by address but holds nothing: the server
    // answers the largest mailbox first.
    ok(await masterAPI().post('/mailboxes', { address: 'aaron@example.test', password: 'aaron-Secret-4127' }), 201);
    await page.getByRole('button', { name: 'Mailboxes of example.test' }).click();
    const mb = page.getByTestId('mailbox-bars');
    await mb.getByText('aaron@example.test').waitFor();
    assert.deepEqual(await mb.locator('.usage-label').allTextContents(), ['alice@example.test', 'aaron@example.test']);
    assert.equal(await page.getByTestId('mailbox-bars-count').textContent(), 'Largest first: 1–2 of 2.');
    assert.match(await mb.locator('.usage-value').first().textContent(), /^\d+ KiB of 64 KiB \(\d+%\) · 1 message$/);
    await screenshots(page, 'masteradmin', 'stats');
    ok(await masterAPI().delete('/mailboxes/aaron@example.test'), 204);

    // A domain admin sees only its domains.
    const da = await openAs(server().accounts.domainAdmin, viewports.phone);
    await go(da, 'Statistics');
    await da.getByTestId('domain-bar-example.test').waitFor();
    assert.equal(await da.getByTestId('domain-bar-other.test').count(), 0);
    await screenshots(da, 'domainadmin', 'stats');
  });
});

describe('settings', { skip: skipReason }, () => {
  it('shows the server settings and saves changes in mailport.toml, in effect at once or after a restart', async () => {
    const page = await openAs(master());
    await go(page, 'Settings');
    assert.equal(await page.getByTestId('setting-hostname').textContent(), 'mail.example.test');
    assert.equal(await page.getByTestId('setting-limits-max_message_bytes').textContent(), '50 MiB');
    assert.equal(await page.getByTestId('setting-queue-smarthost').textContent(), 'none: straight to each domain’s MX');
    assert.equal(await page.getByTestId('setting-queue-delay_warning').textContent(), '4h');
    assert.equal(await page.getByTestId('restart-required').count(), 0);
    await screenshots(page, 'masteradmin', 'settings');

    // A typo is caught in the form; a value the server refuses lands on its field.
    await page.getByRole('button', { name: 'Edit sending limits' }).click();
    const sending = page.getByRole('form', { name: 'Sending limits settings' });
    await sending.getByLabel('Messages per user per hour').fill('many');
    await sending.getByRole('button', { name: 'Save' }).click();
    await sending.getByText('Enter a whole number (0 or more).').waitFor();
    await sending.getByLabel('Messages per user per hour').fill('5000000');
    await sending.getByRole('button', { name: 'Save' }).click();
    await sending.locator('#setting-submission-max_messages_per_hour-input-error').waitFor();
    assert.equal(await sending.getByLabel('Messages per user per hour').getAttribute('aria-invalid'), 'true');

    // A sending limit is in effect at once: nothing waits for a restart.
    await sending.getByLabel('Messages per user per hour').fill('250');
    await sending.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved in mailport.toml and in effect.' }).waitFor();
    assert.equal(await page.getByTestId('setting-submission-max_messages_per_hour').textContent(), '250');
    assert.equal(await page.getByTestId('restart-required').count(), 0);
    let saved = ok(await masterAPI().get('/settings'));
    assert.equal(saved.submission.max_messages_per_hour, 250);
    assert.deepEqual(saved.restart_required, []);

    // The delay warning is a duration: a number alone is caught in the
    // form, and a new one is in effect at once; 0 turns the notices off.
    await page.getByRole('button', { name: 'Edit outgoing mail' }).click();
    const queue = page.getByRole('form', { name: 'Outgoing mail settings' });
    await queue.getByLabel('Delay notice after').fill('90');
    await queue.getByRole('button', { name: 'Save' }).click();
    await queue.getByText('Enter a duration such as 4h or 90m, or 0.').waitFor();
    await queue.getByLabel('Delay notice after').fill('90m');
    await queue.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved in mailport.toml and in effect.' }).waitFor();
    assert.equal(await page.getByTestId('setting-queue-delay_warning').textContent(), '90m');
    saved = ok(await masterAPI().get('/settings'));
    assert.equal(saved.queue.delay_warning, '90m');
    await page.getByRole('button', { name: 'Edit outgoing mail' }).click();
    await queue.getByLabel('Delay notice after').fill('0');
    await queue.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('setting-queue-delay_warning').filter({ hasText: 'never: no delay notices' }).waitFor();
    saved = ok(await masterAPI().get('/settings'));
    assert.equal(saved.queue.delay_warning, '0');
    assert.deepEqual(saved.restart_required, []);

    // The shutdown wait is read when mailport starts: saved, and listed
    // until a restart.
    await page.getByRole('button', { name: 'Edit protocol limits' }).click();
    const limits = page.getByRole('form', { name: 'Protocol limits settings' });
    await limits.getByLabel('Wait for connections at shutdown').fill('45');
    await limits.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'it takes effect after a restart' }).waitFor();
    await page
      .getByTestId('restart-required')
      .getByText('Wait for connections at shutdown (limits.shutdown_wait_seconds)')
      .waitFor();
    saved = ok(await masterAPI().get('/settings'));
    assert.equal(saved.limits.shutdown_wait_seconds, 45);
    assert.deepEqual(saved.restart_required, ['limits.shutdown_wait_seconds']);
    await screenshots(page, 'masteradmin', 'settings-saved');
  });
});
