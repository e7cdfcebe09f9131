// Browser tests of what every account manages for itself, against the real
// server: API tokens (created in the portal, shown once, used from Node,
// revoked) and portal sessions (two browsers, one ends the other's).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'playwright-core';
import { browserSuite, go, launchBrowser, screenshots, signIn, skipReason, viewports } from './harness.mjs';

const suite = browserSuite();
const accounts = () => suite.server.accounts;

/**
 * me calls GET /api/v1/me from Node (not the browser) with a Bearer token
 * and answers the status and body. The server's certificate is self-signed.
 */
async function me(token) {
  const ctx = await request.newContext({ baseURL: suite.server.baseURL, ignoreHTTPSErrors: true });
  try {
    const res = await ctx.get('/api/v1/me', { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status(), json: res.ok() ? await res.json() : undefined };
  } finally {
    await ctx.dispose();
  }
}

/** postsSeen records the paths of the page's POST requests. */
function postsSeen(page) {
  const seen = [];
  page.on('request', (r) => {
    if (r.method() === 'POST') seen.push(new URL(r.url()).pathname);
  });
  return seen;
}

describe('API tokens', { skip: skipReason }, () => {
  it('a mail user creates a token, sees it once, uses it from a program and revokes it', async () => {
    const alice = accounts().user;
    const page = await suite.open(viewports.desktop);
    await signIn(page, alice);
    await go(page, 'API tokens');
    // The harness made one token for its own API calls.
    await page.getByTestId('tokens-count').filter({ hasText: '1–1 of 1.' }).waitFor();

    // Checked before sending: a name is needed, and a sensible expiry.
    const posts = postsSeen(page);
    const name = page.getByLabel('Name');
    const days = page.getByLabel('Expires after days');
    await days.fill('0');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('Name the token after what uses it').waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    assert.equal(await days.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'token-name');
    assert.deepEqual(posts, []);

    await name.fill('backup script');
    await days.fill('30');
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByTestId('new-token');
    await shown.waitFor();
    const secret = await page.getByLabel('Token', { exact: true }).inputValue();
    assert.match(secret, /^mp_[A-Za-z0-9]+$/);
    assert.ok((await shown.textContent()).includes(`Authorization: Bearer ${secret}`), 'how to use it is shown');

    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByRole('status').filter({ hasText: 'The token was copied.' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);

    const row = page.getByTestId('token-list').getByRole('listitem').filter({ hasText: 'backup script' });
    await row.getByText('Last used never').waitFor();
    assert.ok((await row.textContent()).includes(secret.slice(0, 11)), 'the row shows the start of the token');
    assert.ok((await row.textContent()).includes('Expires'), 'the expiry is shown');
    await screenshots(page, 'user', 'tokens');

    // Shown once: closed, it is nowhere on the page, nor after a reload.
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    await shown.waitFor({ state: 'detached' });
    assert.ok(!(await page.content()).includes(secret));
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'API tokens' }).waitFor();
    await row.waitFor();
    assert.ok(!(await page.content()).includes(secret));

    // A program uses it.
    const ok = await me(secret);
    assert.equal(ok.status, 200);
    assert.equal(ok.json.account.login, alice.login);
    await page.reload();
    await row.waitFor();
    assert.equal(await row.getByText('Last used never').count(), 0, 'the use is recorded');

    await row.getByRole('button', { name: /^Delete backup script/ }).click();
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('status').filter({ hasText: 'was deleted.' }).waitFor();
    await row.waitFor({ state: 'detached' });
    await page.getByTestId('tokens-count').filter({ hasText: '1–1 of 1.' }).waitFor();
    assert.equal((await me(secret)).status, 401, 'a revoked token is refused');
  });
});

describe('sessions', { skip: skipReason }, () => {
  it('lists the browsers signed in, marks this one, and ends the other, which is sent to sign in', async () => {
    const bob = accounts().otherUser;
    const first = await suite.open(viewports.phone);
    await signIn(first, bob);
    const other = await launchBrowser(viewports.desktop, suite.server);
    try {
      await other.page.goto('/');
      await signIn(other.page, bob);

      await go(first, 'Sessions');
      const list = first.getByTestId('session-list');
      await first.getByTestId('sessions-count').filter({ hasText: '1–2 of 2.' }).waitFor();
      const current = list.getByRole('listitem').filter({ has: first.getByTestId('current-session') });
      assert.equal(await current.count(), 1, 'this browser is marked');
      assert.equal(await current.getByRole('button').count(), 0, 'this browser’s session is ended by signing out, not here');
      assert.equal(await current.getByText('127.0.0.1').count(), 1);
      const elsewhere = list.getByRole('listitem').filter({ hasNot: first.getByTestId('current-session') });
      assert.equal(await elsewhere.count(), 1);
      await screenshots(first, 'user', 'sessions');

      const ends = elsewhere.getByRole('button', { name: /^Delete session / });
      const label = await ends.getAttribute('aria-label');
      await ends.click();
      await elsewhere.getByRole('button', { name: 'Yes, delete' }).click();
      await first.getByRole('status').filter({ hasText: `${label.replace(/^Delete /, '')} was deleted.` }).waitFor();
      await first.getByTestId('sessions-count').filter({ hasText: '1–1 of 1.' }).waitFor();
      const left = (await suite.server.api(bob).get('/sessions')).json;
      assert.equal(left.total, 1, 'the server has one session of bob left');

      // The other browser's next action finds its session gone.
      await other.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Forwards', exact: true }).click();
      await other.page.getByText('Your session has ended. Sign in again.').waitFor();
      await other.page.getByLabel('Login').waitFor();
    } finally {
      await other.close();
    }
    assert.deepEqual(other.problems, [], 'the other browser logged errors');
  });
});
