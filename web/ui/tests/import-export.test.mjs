// Browser tests of the import and export page against the real server: a
// DomainAdmin downloads an export, checks an import with a bad row (the
// preview names it by line and nothing is created), corrects it and
// imports; a MasterAdmin imports a mailbox with a Dovecot SHA512-CRYPT hash
// and the mailbox signs in with its password. Results are checked through
// the API.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { browserSuite, go, screenshots, signIn, skipReason, viewports } from './harness.mjs';

const suite = browserSuite();
const accounts = () => suite.server.accounts;

// The header of a CSV export (directory.csvColumns).
const csvHeader = 'kind,name,target,host,port,display_name,quota_bytes,enabled,keep_copy,password,password_hash,scram_sha256';

async function open(account, viewport = viewports.desktop) {
  const page = await suite.open(viewport);
  await signIn(page, account);
  await go(page, 'Import and export');
  return page;
}

/** errorRows reads the preview's table of bad rows as [line, kind, object] triples and the problems. */
async function errorRows(page) {
  const rows = page.getByTestId('row-errors').locator('tbody tr');
  const out = [];
  for (const row of await rows.all()) {
    const cells = (await row.locator('td').allTextContents()).map((c) => c.trim());
    out.push(cells);
  }
  return out;
}

/** status answers the HTTP status of GET path as the MasterAdmin. */
async function status(path) {
  return (await suite.server.api(accounts().master).get(path)).status;
}

describe('import and export', { skip: skipReason }, () => {
  it('a domain admin downloads a CSV export of its domain', async () => {
    const page = await open(accounts().domainAdmin);
    await page.locator('#export-format').selectOption('csv');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'mailport-export.csv');
    const text = await readFile(await download.path(), 'utf8');
    const lines = text.trimEnd().split(/\r?\n/);
    assert.equal(lines[0], csvHeader);
    assert.ok(lines.some((l) => l.startsWith('domain,example.test,')), text);
    // The mailbox row carries its SCRAM-SHA-256 credential beside the hash.
    assert.ok(lines.some((l) => l.startsWith('mailbox,alice@example.test,') && l.includes('{SCRAM-SHA-256}')), text);
    assert.ok(!text.includes('other.test'), 'only the domain admin’s own domain is exported');
    await page.getByRole('status').filter({ hasText: 'mailport-export.csv' }).waitFor();

    // One kind, as JSON: the page asks for just that kind.
    for (const k of ['Domains', 'Domain aliases', 'Relay domains', 'Aliases', 'Sender addresses', 'Forwards']) {
      await page.getByLabel(k, { exact: true }).uncheck();
    }
    await page.locator('#export-format').selectOption('json');
    const [json] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ]);
    assert.equal(json.suggestedFilename(), 'mailport-export.json');
    const doc = JSON.parse(await readFile(await json.path(), 'utf8'));
    assert.deepEqual(Object.keys(doc).sort(), ['mailboxes', 'version']);
    assert.deepEqual(
      doc.mailboxes.map((m) => m.address),
      ['alice@example.test'],
    );

    await page.getByLabel('Mailboxes', { exact: true }).uncheck();
    await page.getByRole('button', { name: 'Download' }).click();
    await page.getByRole('alert').filter({ hasText: 'Choose at least one kind' }).waitFor();
  });

  it('a domain admin checks an import with a bad row, sees it by line, corrects it and imports', async () => {
    const page = await open(accounts().domainAdmin);
    const importButton = page.getByRole('button', { name: 'Import', exact: true });
    const check = page.getByRole('button', { name: 'Check', exact: true });

    // Nothing chosen yet: the file input says so.
    await check.click();
    await page.getByText('Choose a file to import.').waitFor();
    assert.equal(await page.locator('#import-file').getAttribute('aria-invalid'), 'true');

    const bad = [
      'kind,name,target,display_name,password',
      'mailbox,carol@example.test,,Carol,carol-Secret-3391',
      'mailbox,dave@other.test,,Dave,dave-Secret-2210',
      '',
    ].join('\n');
    await page.locator('#import-file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await page.getByText('Chosen: people.csv').waitFor();
    await check.click();
    const summary = page.getByTestId('preview-summary');
    await summary.filter({ hasText: '2 rows read, 1 problem' }).waitFor();
    const rows = await errorRows(page);
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.deepEqual(rows[0].slice(0, 3), ['3', 'mailbox', 'dave@other.test']);
    assert.notEqual(rows[0][3], '', 'the problem is stated');
    assert.ok(await importButton.isDisabled(), 'a preview with problems offers no import');
    await screenshots(page, 'domainadmin', 'import-export');
    assert.equal(await status('/mailboxes/carol@example.test'), 404, 'a check creates nothing');
    assert.equal(await status('/mailboxes/dave@other.test'), 404);

    // Pasted text that is not an import at all: the server's reason, no preview.
    await page.getByLabel('Pasted text').check();
    const text = page.getByLabel('CSV or JSON');
    await text.fill('name;address\ncarol;carol@example.test\n');
    await check.click();
    await page.getByRole('alert').filter({ hasText: /column|header|kind/i }).waitFor();
    assert.equal(await page.getByTestId('import-preview').count(), 0);

    // The corrected file, pasted.
    await text.fill(bad.replace('dave@other.test', 'dave@example.test'));
    assert.ok(await importButton.isDisabled(), 'new content needs a check first');
    await check.click();
    await summary.filter({ hasText: '2 rows read, none with problems' }).waitFor();
    assert.deepEqual(await page.getByTestId('preview-created').getByRole('listitem').allTextContents(), ['2 mailboxes']);
    assert.equal(await page.getByTestId('row-errors').count(), 0);
    await importButton.waitFor({ state: 'visible' });
    assert.ok(await importButton.isEnabled());

    // Changing what was checked takes the import away again until the next check.
    await text.fill(`${bad.replace('dave@other.test', 'dave@example.test')}\n`);
    assert.ok(await importButton.isDisabled());
    await page.getByText('changed since this check').waitFor();
    await check.click();
    await summary.filter({ hasText: 'none with problems' }).waitFor();
    await page.getByText('changed since this check').waitFor({ state: 'detached' });

    await importButton.click();
    await page.getByRole('status').filter({ hasText: 'Imported 2 rows: created 2 mailboxes.' }).waitFor();
    assert.ok(await importButton.isDisabled(), 'the same content is not offered twice');
    assert.equal(await status('/mailboxes/carol@example.test'), 200);
    assert.equal(await status('/mailboxes/dave@example.test'), 200);
    const carol = (await suite.server.api(accounts().domainAdmin).get('/mailboxes/carol@example.test')).json;
    assert.equal(carol.display_name, 'Carol');
  });

  it('a master admin imports a mailbox with a SHA512-CRYPT hash, which signs in with its password', async () => {
    const password = 'erin-Secret-8124';
    const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${password}\n`, encoding: 'utf8' }).trim();
    assert.match(hash, /^\$6\$/);
    const doc = { version: 1, mailboxes: [{ address: 'erin@other.test', display_name: 'Erin', password_hash: `{SHA512-CRYPT}${hash}` }] };

    const page = await open(accounts().master, viewports.phone);
    await page.getByLabel('Pasted text').check();
    await page.getByLabel('CSV or JSON').fill(JSON.stringify(doc, null, 2));
    await page.locator('#import-format').selectOption('json');
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.getByTestId('preview-summary').filter({ hasText: '1 row read, none with problems' }).waitFor();
    await screenshots(page, 'masteradmin', 'import-export');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Imported 1 row: created 1 mailbox.' }).waitFor();
    assert.equal(await status('/mailboxes/erin@other.test'), 200);

    const erin = await suite.open(viewports.desktop);
    await signIn(erin, { login: 'erin@other.test', password });
    await erin.getByTestId('account-login').filter({ hasText: 'erin@other.test' }).waitFor();
  });
});
