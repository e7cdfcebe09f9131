// Browser tests of a domain's page (/domains/NAME) against the real server,
// as the DomainAdmin of example.test: its usage figures, the DNS check's
// states in words, DKIM keys (generate, switch the signing key, delete) and
// split routing (on, off), each read back through the API; a domain added
// in U-labels, shown with its A-labels beside; another admin's domain and a
// name with a script tag in it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserSuite, screenshots, signIn, skipReason, viewports } from './harness.mjs';

const suite = browserSuite();
const accounts = () => suite.server.accounts;
const api = (account) => suite.server.api(account);

/** openDomain signs account in and opens the page of domain through the Domains list or by its address. */
async function openDomain(account, name, viewport = viewports.desktop) {
  const page = await suite.open(viewport);
  await signIn(page, account);
  await page.goto(`/domains/${encodeURIComponent(name)}`);
  return page;
}

/** facts reads a <dl class="facts"> as {term: value}. */
async function facts(list) {
  return list.locator(':scope > div').evaluateAll((divs) =>
    Object.fromEntries(divs.map((d) => [d.querySelector('dt')?.textContent?.trim(), d.querySelector('dd')?.textContent?.trim()])),
  );
}

/** keyStates reads the DKIM list as {selector: state text}. */
async function keyStates(page) {
  const rows = page.getByTestId('DKIM-key-list').locator(':scope > li');
  return Object.fromEntries(
    await rows.evaluateAll((lis) =>
      lis.map((li) => [li.dataset.key, li.querySelector('[data-testid="dkim-state"]')?.textContent?.trim()]),
    ),
  );
}

async function apiKeys(da) {
  const r = await api(da).get('/domains/example.test/dkim');
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.json.items.map((k) => [k.selector, k.active]));
}

describe('a domain’s page', { skip: skipReason }, () => {
  it('shows the usage, checks DNS in words, manages DKIM keys and split routing', async () => {
    const da = accounts().domainAdmin;
    const page = await openDomain(da, 'example.test');
    await page.getByRole('heading', { level: 1, name: 'example.test' }).waitFor();

    // Usage: the figures GET /stats has for the domain, and each mailbox.
    const stats = (await api(da).get('/stats')).json.items.find((s) => s.domain === 'example.test');
    const usage = page.getByTestId('domain-usage');
    await usage.waitFor();
    const shown = await facts(usage);
    assert.equal(shown['Mailboxes'], String(stats.mailboxes));
    assert.equal(shown['Aliases'], String(stats.aliases));
    assert.equal(shown['Messages'], String(stats.messages));
    const perMailbox = (await api(da).get('/stats/domains/example.test')).json.items.map((m) => m.address);
    await page.getByTestId('mailboxes-count').filter({ hasText: `of ${perMailbox.length}.` }).waitFor();
    assert.deepEqual(
      await page.getByTestId('mailbox-list').locator(':scope > li').evaluateAll((lis) => lis.map((l) => l.dataset.key)),
      perMailbox,
    );

    // The DNS check with nothing published: red, and said in words.
    await page.getByTestId('dns-records').getByRole('listitem').first().waitFor();
    await page.getByRole('button', { name: 'Check DNS' }).click();
    const summary = page.getByTestId('dns-summary');
    await summary.filter({ hasText: 'Some records are missing or wrong.' }).waitFor();
    const states = await page.getByTestId('dns-status').allTextContents();
    assert.ok(states.length > 0 && states.every((s) => s === 'Missing'), `states: ${states}`);
    // The symbol beside the word is drawn by CSS, not read out.
    const mark = await page
      .getByTestId('dns-status')
      .first()
      .evaluate((el) => getComputedStyle(el, '::before').content);
    assert.match(mark, /✗/);

    // DKIM: a bad selector is refused at its field; a new key signs, the
    // older ones stay published, and the DNS records list its record.
    const before = await apiKeys(da);
    const dnsBefore = (await api(da).get('/domains/example.test/dns')).json.records.length;
    await page.getByLabel('Key type').selectOption('ed25519');
    await page.getByLabel(/Selector/).fill('bad_selector');
    await page.getByRole('button', { name: 'Generate key' }).click();
    const selector = page.getByLabel(/Selector/);
    await page.locator('#dkim-selector[aria-invalid="true"]').waitFor();
    assert.equal(await selector.evaluate((el) => el === document.activeElement), true);
    await selector.fill('rotate1');
    await page.getByRole('button', { name: 'Generate key' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'Key rotate1 was generated and now signs mail from example.test.' })
      .waitFor();
    const after = await apiKeys(da);
    assert.equal(after['rotate1'], true);
    assert.deepEqual(
      Object.keys(after).sort(),
      [...Object.keys(before), 'rotate1'].sort(),
      'the older keys are kept',
    );
    assert.ok(Object.entries(after).every(([s, active]) => active === (s === 'rotate1')));
    const expectStates = Object.fromEntries(Object.entries(after).map(([s, a]) => [s, a ? 'Signing' : 'Published only']));
    await page.locator('[data-key="rotate1"] [data-testid="dkim-state"]').filter({ hasText: 'Signing' }).waitFor();
    assert.deepEqual(await keyStates(page), expectStates);
    await page.getByTestId('dns-records').getByRole('listitem').nth(dnsBefore).waitFor();
    assert.equal(await page.getByTestId('dns-records').getByRole('listitem').count(), dnsBefore + 1);

    // A second key of ours, to switch the signing key back to rotate1.
    await page.getByLabel('Key type').selectOption('rsa');
    await selector.fill('rotate2');
    await page.getByRole('button', { name: 'Generate key' }).click();
    await page.getByRole('status').filter({ hasText: 'Key rotate2 was generated' }).waitFor();
    await page.getByRole('button', { name: 'Make rotate1 the signing key' }).click();
    await page.getByRole('status').filter({ hasText: 'Key rotate1 now signs mail from example.test.' }).waitFor();
    assert.equal((await apiKeys(da))['rotate1'], true);
    assert.equal((await apiKeys(da))['rotate2'], false);
    await page.locator('[data-key="rotate2"] [data-testid="dkim-state"]').filter({ hasText: 'Published only' }).waitFor();

    // Split routing: off, a bad host refused at its field, on, then off.
    const sdrState = page.getByTestId('sdr-state');
    await sdrState.filter({ hasText: 'Off' }).waitFor();
    await page.getByLabel('Other server').fill('not a host!');
    await page.getByRole('button', { name: 'Turn split routing on' }).click();
    await page.locator('#sdr-host[aria-invalid="true"]').waitFor();
    await page.getByLabel('Other server').fill('legacy.example.test');
    await page.locator('#sdr-port').fill('2525');
    await page.getByRole('button', { name: 'Turn split routing on' }).click();
    await page.getByRole('status').filter({ hasText: 'Unknown addresses of example.test now go to legacy.example.test:2525.' }).waitFor();
    assert.deepEqual((await api(da).get('/domains/example.test')).json.sdr, { host: 'legacy.example.test', port: 2525 });
    await sdrState.filter({ hasText: 'On' }).waitFor();
    // The records changed with the keys, which cleared the check: check again for the pictures.
    await page.getByRole('button', { name: 'Check DNS' }).click();
    await summary.filter({ hasText: 'Some records are missing or wrong.' }).waitFor();
    await screenshots(page, 'domainadmin', 'domain-detail');

    await page.getByRole('button', { name: 'Turn split routing off' }).click();
    await page.getByRole('status').filter({ hasText: 'Split routing is off' }).waitFor();
    assert.equal((await api(da).get('/domains/example.test')).json.sdr, undefined);

    // Deleting keys asks first.
    for (const sel of ['rotate2', 'rotate1']) {
      await page.getByRole('button', { name: `Delete ${sel}`, exact: true }).click();
      await page.getByRole('group', { name: `Confirm deleting ${sel}` }).getByRole('button', { name: 'Yes, delete' }).click();
      await page.getByRole('status').filter({ hasText: `${sel} was deleted.` }).waitFor();
    }
    assert.deepEqual(Object.keys(await apiKeys(da)).sort(), Object.keys(before).sort());
  });

  it('a domain added in U-labels is shown so, with its A-labels beside, in the list, on its page and in pickers', async () => {
    const master = accounts().master;
    const page = await suite.open(viewports.desktop);
    await signIn(page, master);
    await page.goto('/domains');
    await page.getByLabel('Domain name').fill('Bücher.example');
    await page.getByRole('button', { name: 'Add domain' }).click();
    const both = 'bücher.example (xn--bcher-kva.example)';
    await page.getByRole('status').filter({ hasText: `${both} was added.` }).waitFor();
    const stored = (await api(master).get('/domains/xn--bcher-kva.example')).json;
    assert.equal(stored.name, 'xn--bcher-kva.example');
    assert.equal(stored.unicode_name, 'bücher.example');
    // An ASCII name is shown once.
    await page.getByRole('link', { name: 'example.test', exact: true }).waitFor();

    // The row links to the page by the stored name; the page is headed with both forms.
    await page.getByRole('link', { name: both, exact: true }).click();
    await page.waitForURL(/\/domains\/xn--bcher-kva\.example$/);
    await page.getByRole('heading', { level: 1, name: both, exact: true }).waitFor();
    assert.equal(await page.title(), `${both} · mailport`);
    await page.getByRole('heading', { name: 'DKIM keys' }).waitFor();

    // A domain picker offers it the same way, with the stored name as the value.
    await page.goto('/domain-aliases');
    const option = page.getByLabel('Stands for').locator('option', { hasText: both });
    await option.waitFor({ state: 'attached' });
    assert.equal(await option.getAttribute('value'), 'xn--bcher-kva.example');
    await page.getByLabel('Stands for').locator('option', { hasText: /^example\.test$/ }).waitFor({ state: 'attached' });

    // Deleting from the list names it as people read it.
    await page.goto('/domains');
    await page.getByRole('button', { name: `Delete ${both}`, exact: true }).click();
    await page.getByRole('group', { name: `Confirm deleting ${both}` }).getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('status').filter({ hasText: `${both} was deleted.` }).waitFor();
    assert.equal((await api(master).get('/domains/xn--bcher-kva.example')).status, 404);
  });

  it('another admin’s domain shows the refusal and none of its sections', async () => {
    const page = await openDomain(accounts().domainAdmin, 'other.test', viewports.phone);
    await page.getByRole('heading', { level: 1, name: 'other.test' }).waitFor();
    await page.getByRole('alert').filter({ hasText: /other\.test/ }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'DKIM keys' }).count(), 0);
    assert.equal(await page.getByRole('heading', { name: 'DNS records' }).count(), 0);
  });

  it('a script tag in the name is shown as text and never run', async () => {
    const name = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
    const page = await openDomain(accounts().domainAdmin, name);
    const heading = page.getByRole('heading', { level: 1 });
    await heading.filter({ hasText: '<script>' }).waitFor();
    assert.equal(await heading.textContent(), name);
    // The server's refusal is shown too, as text.
    await page.getByRole('alert').filter({ hasText: /\S/ }).first().waitFor();
    assert.equal(await page.locator('main script, main img').count(), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    assert.equal(await page.title(), `${name} · mailport`);
  });
});
