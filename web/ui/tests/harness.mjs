// Shared set-up for the browser tests: the real mailport server on a fresh
// data directory (server.mjs), Debian's Chromium driven by playwright-core,
// sign-in and screenshots.
//
// The binary embeds the portal as last built into internal/web/dist, so the
// tests see the sources only after `npm run build`.

import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before } from 'node:test';
import { chromium } from 'playwright-core';
import { findGo, resultsDir, startServer } from './server.mjs';

export { domainAdminLimits } from './server.mjs';
export { resultsDir, startServer };

export const viewports = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1366, height: 900 },
};

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * skipReason is why the browser tests cannot run here (no Chromium, no Go
 * toolchain and no MAILPORT_BIN), or false. Test files pass it as
 * describe(..., { skip }). Under CI=true a missing tool is an error instead:
 * a CI run that skips its browser tests must not pass.
 */
export const skipReason = missingTools();

function missingTools() {
  const missing = [];
  try {
    accessSync(chromiumPath, constants.X_OK);
  } catch {
    missing.push(`Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`);
  }
  if (!process.env.MAILPORT_BIN && !findGo()) {
    missing.push('the Go toolchain to build mailport (go on PATH or in /usr/local/go/bin, or set MAILPORT_BIN)');
  }
  if (missing.length === 0) return false;
  const msg = `browser tests need ${missing.join(' and ')}`;
  if (process.env.CI === 'true') throw new Error(msg);
  return msg;
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
 * launchBrowser starts Debian's Chromium on server (a startServer() result)
 * with a fresh, empty profile directory that close() removes, and resolves
 * to { context, page, problems, close }. A persistent context is the only
 * way Playwright lets us choose the profile directory, so each call gives
 * one browser with one context. Chromium trusts the server's self-signed
 * certificate by its public key, so no TLS handshake fails; Playwright's own
 * requests (page.request) need ignoreHTTPSErrors.
 */
export async function launchBrowser(viewport, server) {
  const profile = mkdtempSync(join(tmpdir(), 'mailport-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumArgs, `--ignore-certificate-errors-spki-list=${server.spki}`],
    viewport,
    baseURL: server.baseURL,
    ignoreHTTPSErrors: true,
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

/**
 * browserSuite registers a test file's hooks: one mailport server for the
 * file, started before its tests and stopped after them (its log printed
 * and kept when a test failed), and the browser a test opens, closed after
 * the test, which fails if the page logged errors. It returns
 *
 *   server            the startServer() result
 *   page              the open browser's page
 *   context           its browser context
 *   open(viewport?, path?)   launches a fresh browser (closing one the test
 *                     opened before), goes to path ("/") and returns the page
 */
export function browserSuite() {
  let server;
  let browser;
  let failed = false;
  const problems = [];

  async function closeBrowser() {
    if (!browser) return;
    const b = browser;
    browser = undefined;
    problems.push(...b.problems);
    await b.close();
  }

  before(async () => {
    if (!skipReason) server = await startServer();
  });
  afterEach(async (t) => {
    await closeBrowser();
    const seen = problems.splice(0);
    if (!t.passed || seen.length > 0) failed = true;
    assert.deepEqual(seen, [], 'the page logged errors (CSP violations, exceptions)');
  });
  after(async () => {
    await server?.close({ failed });
  });

  return {
    get server() {
      return server;
    },
    get page() {
      return browser?.page;
    },
    get context() {
      return browser?.context;
    },
    async open(viewport = viewports.desktop, path = '/') {
      await closeBrowser();
      browser = await launchBrowser(viewport, server);
      await browser.page.goto(path);
      return browser.page;
    },
  };
}

/**
 * screenshot saves a full-page PNG of what the page shows now as
 * test-results/ROLE-NAME-WIDTH.png, WIDTH being "phone" or "desktop" from
 * the page's viewport.
 */
export async function screenshot(page, role, name) {
  const width = page.viewportSize()?.width === viewports.phone.width ? 'phone' : 'desktop';
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${role}-${name}-${width}.png`);
  // From the top, so a fixed sidebar is drawn where it is on screen.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** screenshots saves the page at both widths, then restores the viewport. */
export async function screenshots(page, role, name) {
  const was = page.viewportSize();
  for (const size of Object.values(viewports)) {
    await page.setViewportSize(size);
    await screenshot(page, role, name);
  }
  if (was) await page.setViewportSize(was);
}

/** signIn signs in through the login form and waits for the dashboard. */
export async function signIn(page, account) {
  await page.getByLabel('Login').fill(account.login);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
}

/**
 * go follows a link of the main navigation, through the phone menu when the
 * page has one, and waits for the page's heading.
 */
export async function go(page, name) {
  const toggle = page.getByRole('button', { name: 'Menu' });
  if (await toggle.isVisible()) await toggle.click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

// axe-core's browser bundle, read once. Only the tests use it; the portal
// never loads it.
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// The WCAG 2.0, 2.1 and 2.2 success criteria at levels A and AA that axe
// tests (axe has no wcag22a tag: 2.2's new A criteria are not automatable).
const wcagTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * checkA11y runs axe-core's WCAG A/AA rules on what the page shows now, in
 * the light and then the dark colour scheme (app.css switches its colours by
 * prefers-color-scheme; the page is left light), and fails with one line per
 * violation (rule, impact, elements, help), label naming the page and state.
 * The portal's CSP (script-src 'self') refuses page.addScriptTag's inline
 * script; page.evaluate runs through the DevTools protocol, which the CSP
 * does not govern.
 */
export async function checkA11y(page, label) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const problems = [];
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    const violations = await page.evaluate(async (tags) => {
      const result = await window.axe.run(document, {
        runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations'],
      });
      return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.map((n) => n.target.join(' ')),
      }));
    }, wcagTags);
    for (const v of violations) {
      problems.push(`  ${v.id} (${v.impact}, ${colorScheme}): ${v.help}\n    at ${v.targets.join('\n    at ')}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  if (problems.length > 0) assert.fail(`${label}: ${problems.length} accessibility violation(s)\n${problems.join('\n')}`);
}
