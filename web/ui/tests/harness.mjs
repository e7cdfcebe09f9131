// Shared set-up for the browser tests: the server under test, Debian's
// Chromium driven by playwright-core, and screenshots.
//
// The server is the Node mock (tests/mock-server.mjs) unless MAILPORT_URL is
// set, e.g. MAILPORT_URL=https://127.0.0.1:10443; then the tests sign in as
// MAILPORT_TEST_LOGIN / MAILPORT_TEST_PASSWORD, whose role is
// MAILPORT_TEST_ROLE (default masteradmin).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { mockUser, startMockServer } from './mock-server.mjs';

export const resultsDir = resolve(dirname(fileURLToPath(import.meta.url)), '../test-results');

export const viewports = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1366, height: 900 },
};

/**
 * startTarget returns { baseURL, user, mock, close } where mock is the mock
 * server (with its call counts) or null for a real server.
 */
export async function startTarget() {
  const url = process.env.MAILPORT_URL;
  if (url) {
    const { MAILPORT_TEST_LOGIN: login, MAILPORT_TEST_PASSWORD: password } = process.env;
    if (!login || !password) {
      throw new Error('MAILPORT_URL is set: set MAILPORT_TEST_LOGIN and MAILPORT_TEST_PASSWORD too');
    }
    const role = process.env.MAILPORT_TEST_ROLE ?? 'masteradmin';
    return { baseURL: url.replace(/\/+$/, ''), user: { login, password, role }, mock: null, close: async () => {} };
  }
  const mock = await startMockServer();
  return { baseURL: mock.url, user: { ...mockUser }, mock, close: mock.close };
}

// Chromium as root in a closed network: no sandbox (root), and none of the
// background connections to Google's services that would be refused here.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * launchBrowser starts Debian's Chromium (CHROMIUM_PATH, default
 * /usr/bin/chromium) with a fresh, empty profile directory that close()
 * removes. A persistent context is the only way Playwright lets us choose the
 * profile directory, so each call gives one browser with one context.
 */
export async function launchBrowser(viewport, baseURL) {
  const profile = mkdtempSync(join(tmpdir(), 'mailport-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    viewport,
    baseURL,
    ignoreHTTPSErrors: Boolean(process.env.MAILPORT_URL),
    locale: 'en-US',
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());

  // Errors the page reports: uncaught exceptions and console errors, which
  // include CSP violations ("Refused to ..."). A failed API call with a 4xx
  // status is logged by Chromium too; that is the contract working, not a bug.
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) return;
    problems.push(`console: ${msg.text()}`);
  });

  return {
    context,
    page,
    problems,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** screenshot saves a full-page PNG as test-results/NAME.png. */
export async function screenshot(page, name) {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** signIn signs in through the login form and waits for the dashboard. */
export async function signIn(page, user) {
  await page.getByLabel('Login').fill(user.login);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
}
