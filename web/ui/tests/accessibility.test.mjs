// Accessibility beyond the pages as they open (roles.test.mjs checks those):
// the login page, the states a task leads to (an inline validation error,
// an open edit form, a delete confirmation, an import preview with bad rows)
// pass axe-core's WCAG 2.x A/AA rules in both colour schemes, and the portal
// works from the keyboard alone: the skip link comes first and leads to the
// content, every navigation link is reached by Tab, a create form is filled
// and sent with keys, and the phone menu opens with Enter or Space and closes
// with Escape, focus back on its button.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserSuite, checkA11y, go, signIn, skipReason, viewports } from './harness.mjs';

const suite = browserSuite();
const accounts = () => suite.server.accounts;

/** focused describes the focused element: its id, its link path, or its text. */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: 'body' };
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      path: el instanceof HTMLAnchorElement ? new URL(el.href).pathname : '',
      text: (el.textContent ?? '').trim(),
      inNav: el.closest('nav[aria-label="Main"]') !== null,
      inMain: el.closest('main') !== null,
    };
  });
}

/**
 * tabUntil presses Tab until done(focused element) holds and returns the
 * elements focused on the way, failing after limit presses.
 */
async function tabUntil(page, done, limit = 60) {
  const seen = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    seen.push(f);
    if (done(f)) return seen;
  }
  assert.fail(`Tab did not reach the element in ${limit} presses: ${JSON.stringify(seen.map((f) => f.id || f.path || f.text))}`);
}

describe('accessibility of the portal’s states', { skip: skipReason }, () => {
  for (const [width, viewport] of Object.entries(viewports)) {
    it(`the login page, empty and with a refused sign-in, at ${width} width`, async () => {
      const page = await suite.open(viewport);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await checkA11y(page, `login at ${width} width`);
      await page.getByLabel('Login').fill('admin');
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').first().waitFor();
      await checkA11y(page, `refused login at ${width} width`);
    });
  }

  it('an inline validation error, an open edit form and a delete confirmation', async () => {
    const page = await suite.open(viewports.desktop);
    await signIn(page, accounts().master);

    await go(page, 'Domains');
    await page.getByLabel('Domain name').fill('not a domain');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByText('Enter a name like example.com').waitFor();
    await checkA11y(page, 'Domains with an invalid name');
    await page.getByLabel('Domain name').fill('shop.test');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('status').filter({ hasText: 'shop.test was added.' }).waitFor();
    await checkA11y(page, 'Domains with a success notice');

    await page.getByRole('button', { name: 'Delete shop.test' }).click();
    await page.getByRole('group', { name: 'Confirm deleting shop.test' }).waitFor();
    await checkA11y(page, 'Domains with a delete confirmation');

    await go(page, 'Mailboxes');
    const row = page.locator('li[data-key="alice@example.test"]');
    await row.getByRole('button', { name: 'Edit alice@example.test' }).click();
    await row.getByLabel('Display name').waitFor();
    await checkA11y(page, 'Mailboxes with an open edit form');
  });

  for (const [width, viewport] of Object.entries(viewports)) {
    it(`a domain's page after a DNS check, an admin's editor and a settings group open, at ${width} width`, async () => {
      const page = await suite.open(viewport);
      await signIn(page, accounts().master);
      await go(page, 'Domains');
      await page.getByTestId('domain-list').getByRole('link', { name: 'example.test' }).click();
      await page.getByRole('heading', { level: 1, name: 'example.test' }).waitFor();
      await page.getByRole('button', { name: 'Check DNS' }).click();
      await page.getByTestId('dns-status').first().waitFor();
      await checkA11y(page, `domain page at ${width} width`);

      await go(page, 'Admins');
      await page.getByRole('button', { name: 'Edit da' }).click();
      await page.getByRole('button', { name: 'Close the editor of da' }).waitFor();
      await checkA11y(page, `an admin's editor at ${width} width`);

      await go(page, 'Settings');
      await page.getByRole('button', { name: 'Edit sending limits' }).click();
      await page.getByRole('form', { name: 'Sending limits settings' }).waitFor();
      await checkA11y(page, `a settings group in edit at ${width} width`);
    });
  }

  it('the import preview with a bad row', async () => {
    const page = await suite.open(viewports.desktop);
    await signIn(page, accounts().domainAdmin);
    await go(page, 'Import and export');
    await page.getByLabel('Pasted text').check();
    await page
      .getByLabel('CSV or JSON')
      .fill('kind,name,target,display_name,password\nmailbox,dave@other.test,,Dave,dave-Secret-2210\n');
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.getByTestId('row-errors').waitFor();
    await checkA11y(page, 'import preview with a bad row');
  });
});

describe('keyboard use', { skip: skipReason }, () => {
  it('on a desktop: skip link first, every navigation link by Tab, a domain added with keys only', async () => {
    const page = await suite.open(viewports.desktop);
    await signIn(page, accounts().master);
    // From the top of a freshly loaded page.
    await page.goto('/domains');
    await page.getByRole('heading', { level: 1, name: 'Domains' }).waitFor();

    await page.keyboard.press('Tab');
    assert.deepEqual(await focused(page).then((f) => [f.tag, f.text]), ['a', 'Skip to content']);
    assert.ok(await page.getByRole('link', { name: 'Skip to content' }).isVisible(), 'the focused skip link is shown');
    await page.keyboard.press('Enter');
    assert.equal((await focused(page)).id, 'main', 'the skip link moves focus to the content');
    const next = await tabUntil(page, () => true);
    assert.ok(next[0].inMain, `Tab after the skip link stays in the content: ${JSON.stringify(next[0])}`);

    // Every link of the navigation is reached by Tab from the top.
    await page.goto('/domains');
    await page.getByRole('heading', { level: 1, name: 'Domains' }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
    const want = [];
    for (const a of await nav.all()) want.push(new URL((await a.getAttribute('href')) ?? '', page.url()).pathname);
    assert.ok(want.length > 10, `the master admin's navigation: ${want}`);
    const seen = await tabUntil(page, (f) => f.inMain);
    assert.deepEqual(
      seen.filter((f) => f.inNav).map((f) => f.path),
      want,
      'Tab visits every navigation link in order',
    );

    // The create form, filled and sent with keys: Tab to the field, type, Enter.
    await tabUntil(page, (f) => f.id === 'domain-name');
    await page.keyboard.type('keys.test');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'keys.test was added.' }).waitFor();
    await page.getByTestId('domain-list').getByRole('link', { name: 'keys.test' }).waitFor();
    assert.equal((await suite.server.api(accounts().master).get('/domains/keys.test')).status, 200);

    // A navigation link followed with Enter opens its page and focuses its heading.
    await page.goto('/domains');
    await page.getByRole('heading', { level: 1, name: 'Domains' }).waitFor();
    await tabUntil(page, (f) => f.path === '/mailboxes');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Mailboxes' }).waitFor();
    assert.deepEqual(await focused(page).then((f) => [f.tag, f.text]), ['h1', 'Mailboxes']);
  });

  it('a list row edited and deleted with keys, focus never lost', async () => {
    const page = await suite.open(viewports.desktop);
    await signIn(page, accounts().master);
    const api = suite.server.api(accounts().master);
    assert.equal((await api.post('/domains', { name: 'gone.test' })).status, 201);
    await go(page, 'Mailboxes');
    const row = page.locator('li[data-key="alice@example.test"]');
    const edit = row.getByRole('button', { name: 'Edit alice@example.test' });
    const isFocused = (loc) => loc.evaluate((el) => el === document.activeElement);

    // Edit opens with focus in the form; Enter saves; focus returns to Edit.
    await edit.focus();
    await page.keyboard.press('Enter');
    const name = row.getByLabel('Display name');
    assert.ok(await isFocused(name), 'the edit form’s first field has focus');
    await name.press('ControlOrMeta+a');
    await page.keyboard.type('Alice by Keys');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'alice@example.test was saved.' }).waitFor();
    assert.ok(await isFocused(edit), 'focus returns to Edit after saving');
    assert.equal((await api.get('/mailboxes/alice@example.test')).json.display_name, 'Alice by Keys');

    // Cancel, by keys, also returns to Edit.
    await page.keyboard.press('Enter');
    await tabUntil(page, (f) => f.text === 'Cancel');
    await page.keyboard.press('Enter');
    assert.ok(await isFocused(edit), 'focus returns to Edit after cancelling');

    // Delete asks first with focus on Cancel, which returns to Delete.
    await go(page, 'Domains');
    const del = page.getByRole('button', { name: 'Delete gone.test' });
    const confirm = page.getByRole('group', { name: 'Confirm deleting gone.test' });
    await del.focus();
    await page.keyboard.press('Enter');
    assert.ok(await isFocused(confirm.getByRole('button', { name: 'Cancel' })), 'the confirmation’s Cancel has focus');
    await page.keyboard.press('Enter');
    assert.ok(await isFocused(del), 'focus returns to Delete after cancelling');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Shift+Tab');
    assert.equal((await focused(page)).text, 'Yes, delete');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'gone.test was deleted.' }).waitFor();
    assert.deepEqual(await focused(page).then((f) => [f.tag, f.text]), ['h2', 'All domains'], 'focus on the list after deleting');
    assert.equal((await api.get('/domains/gone.test')).status, 404);
  });

  it('a new API token, shown once at phone width and dismissed with keys', async () => {
    const page = await suite.open(viewports.phone);
    await signIn(page, accounts().user);
    await go(page, 'API tokens');
    await page.getByLabel('Name').fill('keyboard script');
    await page.keyboard.press('Enter');
    const shown = page.getByTestId('new-token');
    await shown.waitFor();
    // The usage line is wider than a phone: its box scrolls and must be reachable by keys.
    await checkA11y(page, 'a new token at phone width');
    await shown.getByRole('button', { name: 'I have copied it' }).focus();
    await page.keyboard.press('Enter');
    await shown.waitFor({ state: 'detached' });
    assert.equal((await focused(page)).id, 'token-name', 'focus goes back to the form for the next token');
  });

  it('on a phone: the menu opens with Enter or Space and Escape closes it, focus back on Menu', async () => {
    const page = await suite.open(viewports.phone);
    await signIn(page, accounts().domainAdmin);
    await page.goto('/domains');
    await page.getByRole('heading', { level: 1, name: 'Domains' }).waitFor();
    const toggle = page.getByRole('button', { name: 'Menu' });
    const nav = page.getByRole('navigation', { name: 'Main' });

    await tabUntil(page, (f) => f.tag === 'button' && f.text === 'Menu', 5);
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.ok(!(await nav.isVisible()), 'the menu starts closed');

    for (const key of ['Enter', 'Space']) {
      await page.keyboard.press(key);
      assert.equal(await toggle.getAttribute('aria-expanded'), 'true', `${key} opens the menu`);
      await nav.waitFor();
      // Into the menu: its first link is the next stop.
      await page.keyboard.press('Tab');
      assert.deepEqual(await focused(page).then((f) => [f.inNav, f.path]), [true, '/']);
      await page.keyboard.press('Escape');
      assert.equal(await toggle.getAttribute('aria-expanded'), 'false', 'Escape closes the menu');
      await nav.waitFor({ state: 'hidden' });
      assert.deepEqual(await focused(page).then((f) => [f.tag, f.text]), ['button', 'Menu'], 'focus returns to Menu');
    }

    // A link chosen with the keyboard opens its page and closes the menu.
    await page.keyboard.press('Enter');
    await tabUntil(page, (f) => f.path === '/aliases');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Aliases' }).waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.deepEqual(await focused(page).then((f) => [f.tag, f.text]), ['h1', 'Aliases']);
  });
});
