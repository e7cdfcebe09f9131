// The real mailport server for the browser tests: built from this checkout
// (or $MAILPORT_BIN), set up on a temporary data directory with the CLI as
// an administrator would, and served on free loopback ports, so parallel
// runs and a running demo do not clash.

import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import {
  accessSync,
  appendFileSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDNSServer } from './dns-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
export const resultsDir = resolve(here, '../test-results');

/** The server's host name; init puts it in the self-signed certificate. */
const hostname = 'mail.example.test';

/**
 * The accounts every server starts with. Admin logins have no "@"; a mail
 * user signs in with its address. domainAdmin administers example.test and
 * otherDomainAdmin other.test, each within limits.
 */
const seedAccounts = {
  master: { login: 'admin', password: 'master-Secret-4821', role: 'masteradmin' },
  domainAdmin: { login: 'da', password: 'domain-Secret-7305', role: 'domainadmin', domains: ['example.test'] },
  otherDomainAdmin: { login: 'oda', password: 'other-Secret-1946', role: 'domainadmin', domains: ['other.test'] },
  user: { login: 'alice@example.test', password: 'alice-Secret-5518', role: 'user', name: 'Alice Example' },
  otherUser: { login: 'bob@other.test', password: 'bob-Secret-6627', role: 'user', name: 'Bob Other' },
};

/** The limits the DomainAdmins get (`mailport admin limits`). */
export const domainAdminLimits = { domains: 2, mailboxes: 5, aliases: 10, 'domain-aliases': 2 };

// Set-up calls through api() come from this loopback address, the browser
// from 127.0.0.1: the API limits requests per client address (20/s, burst
// 100), and set-up traffic must not spend the browser's budget.
const setupAddress = '127.0.0.2';

/** findGo returns the go command to use, or "" when there is none. */
export function findGo() {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/go/bin'];
  for (const d of dirs) {
    if (!d) continue;
    try {
      accessSync(join(d, 'go'), constants.X_OK);
      return join(d, 'go');
    } catch {
      // not here
    }
  }
  return '';
}

let binary; // the build of this process, shared by its servers

/** mailportBinary is $MAILPORT_BIN, or this checkout built once per process. */
function mailportBinary() {
  if (process.env.MAILPORT_BIN) return process.env.MAILPORT_BIN;
  if (binary) return binary;
  const go = findGo();
  if (!go) throw new Error('no go command to build mailport with; install Go or set MAILPORT_BIN');
  const dir = mkdtempSync(join(tmpdir(), 'mailport-bin-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'mailport');
  warnIfStale();
  const r = spawnSync(go, ['build', '-o', out, './cmd/mailport'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`go build ./cmd/mailport failed:\n${r.stderr}${r.error ?? ''}`);
  binary = out;
  return out;
}

/**
 * warnIfStale says so when a portal source is newer than the build the
 * binary embeds: the tests would check the old portal. A hint, not a
 * failure: file times are only a guess at what changed.
 */
function warnIfStale() {
  const built = join(repoRoot, 'internal/web/dist/index.html');
  let builtAt;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run 'npm run build' in web/ui first`);
  }
  const src = resolve(here, '../src');
  const newer = readdirSync(src, { recursive: true }).find((f) => statSync(join(src, f)).mtimeMs > builtAt);
  if (newer) {
    console.error(`note: web/ui/src/${newer} is newer than internal/web/dist; run 'npm run build' to test the current portal`);
  }
}

/** run runs the binary to completion; it rejects on a non-zero exit. */
function run(bin, args, stdin = '') {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve({ stdout, stderr });
      const err = new Error(`mailport ${args.join(' ')}: exit ${code}\n${stderr}`);
      Object.assign(err, { code, stdout, stderr });
      reject(err);
    });
    // A command that does not read its input may exit before it is
    // written (EPIPE); its exit status is what tells how it went.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
  });
}

/**
 * startServer builds mailport, initializes a temporary data directory,
 * seeds it with the CLI and serves it. It resolves to:
 *
 *   baseURL   "https://127.0.0.1:PORT" (self-signed certificate)
 *   spki      base64 SHA-256 of the certificate's public key (launchBrowser
 *             makes Chromium trust it)
 *   addrs     every bound listener's "host:port" by name (smtp, imap, https, ...)
 *   accounts  { master, domainAdmin, otherDomainAdmin, user, otherUser }, each
 *             { login, password, role, domains? , name? }; domainAdmin owns
 *             example.test (with alice@example.test), otherDomainAdmin
 *             other.test (with bob@other.test), both with domainAdminLimits
 *   dns       the DNS server mailport asks: dns.set(name, type, values) publishes
 *   cli(args, stdin?)   runs `mailport ARGS --data DIR`; resolves to { stdout,
 *             stderr }, rejects on failure (err.code, err.stderr)
 *   api(account)        an API client with a token of the account
 *   log()     the server's output so far
 *   close({ failed })   stops the server (SIGTERM) and removes the data; with
 *             failed, or when the server misbehaved, prints its output and
 *             keeps the data directory and test-results/server-NAME.log
 *
 * name labels the log file (default: the test file's name).
 */
export async function startServer({ name = basename(process.argv[1] ?? 'server', '.test.mjs') } = {}) {
  const bin = mailportBinary();
  const tmp = mkdtempSync(join(tmpdir(), 'mailport-test-'));
  const data = join(tmp, 'data');
  const cli = (args, stdin = '') => run(bin, [...args, '--data', data], stdin);
  const dns = await startDNSServer();
  let proc;
  let output = '';
  try {
    const pwFile = join(tmp, 'admin-password');
    writeFileSync(pwFile, `${seedAccounts.master.password}\n`, { mode: 0o600 });
    await run(bin, ['init', '--data', data, '--hostname', hostname, '--listen', '127.0.0.1', '--admin-password-file', pwFile]);
    configure(data, dns.addr);
    const spki = certificateSPKI(join(data, 'tls', 'cert.pem'));
    await seed(cli);

    proc = spawn(bin, ['serve', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    proc.stdout.setEncoding('utf8').on('data', (d) => (output += d));
    proc.stderr.setEncoding('utf8').on('data', (d) => (output += d));
    const baseURL = `https://${await httpsAddr(() => output, exited)}`;
    await healthy(baseURL);

    const accounts = structuredClone(seedAccounts);
    for (const a of Object.values(accounts)) a.token = await createToken(cli, a.login);
    let stopping = false;
    let misbehaved = '';
    exited.then(({ code, signal }) => {
      if (!stopping) misbehaved = `the server exited on its own (code ${code}, signal ${signal})`;
    });

    return {
      baseURL,
      spki,
      get addrs() {
        return boundAddrs(output);
      },
      accounts,
      dns,
      cli,
      api: (account) => apiClient(baseURL, account, cli),
      log: () => output,
      close: async ({ failed = false } = {}) => {
        stopping = true;
        proc.kill('SIGTERM');
        const { code, signal } = await exited;
        await dns.close();
        if (!misbehaved && code !== 0) misbehaved = `the server stopped with code ${code}, signal ${signal}`;
        if (!misbehaved && /level=ERROR/.test(output)) misbehaved = 'the server logged errors';
        if (failed || misbehaved) {
          mkdirSync(resultsDir, { recursive: true });
          const logFile = join(resultsDir, `server-${name}.log`);
          writeFileSync(logFile, output);
          console.error(
            `${misbehaved || 'a test failed'}; mailport's data directory is kept in ${data}, ` +
              `its log in ${logFile}:\n${output}`,
          );
          if (misbehaved) throw new Error(misbehaved);
          return;
        }
        rmSync(tmp, { recursive: true, force: true });
      },
    };
  } catch (err) {
    proc?.kill('SIGKILL');
    await dns.close();
    err.message += `\nmailport's data directory is kept in ${tmp}` + (output ? `; its output:\n${output}` : '');
    throw err;
  }
}

/**
 * configure points every listener at a free loopback port (port 0: the log
 * says which) and the resolver at the tests' DNS server. init writes no
 * [listeners] table and an empty [dns] one.
 */
function configure(data, dnsAddr) {
  const file = join(data, 'mailport.toml');
  const text = readFileSync(file, 'utf8');
  if (!/^\[dns\]$/m.test(text) || /^\[listeners\]$/m.test(text)) {
    throw new Error(`${file} does not have the layout the tests expect (an empty [dns] table, no [listeners]):\n${text}`);
  }
  writeFileSync(file, text.replace(/^\[dns\]$/m, `[dns]\n  servers = ["${dnsAddr}"]`));
  const names = ['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'managesieve', 'http', 'https'];
  appendFileSync(file, `\n[listeners]\n${names.map((n) => `  ${n} = "127.0.0.1:0"\n`).join('')}`);
}

/**
 * certificateSPKI is the base64 SHA-256 of the certificate's public key,
 * as Chromium's --ignore-certificate-errors-spki-list takes it.
 */
function certificateSPKI(certFile) {
  const key = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(key).digest('base64');
}

/** seed creates the domains, the DomainAdmins with their limits and the mailboxes. */
async function seed(cli) {
  const { domainAdmin, otherDomainAdmin, user, otherUser } = seedAccounts;
  for (const d of ['example.test', 'other.test']) await cli(['domain', 'add', d]);
  const limits = Object.entries(domainAdminLimits).flatMap(([k, v]) => [`--${k}`, String(v)]);
  for (const a of [domainAdmin, otherDomainAdmin]) {
    await cli(['admin', 'add', a.login, '--role', 'domainadmin', '--domains', a.domains.join(','), '--password-stdin'], `${a.password}\n`);
    await cli(['admin', 'limits', a.login, ...limits]);
  }
  for (const u of [user, otherUser]) {
    await cli(['user', 'add', u.login, '--name', u.name, '--password-stdin'], `${u.password}\n`);
  }
}

async function createToken(cli, login) {
  const { stdout } = await cli(['token', 'create', login, '--name', 'browser tests']);
  return stdout.trim();
}

/**
 * boundAddrs reads the log lines `msg=listening listener=NAME addr=HOST:PORT`
 * the server writes once its listeners are bound.
 */
function boundAddrs(output) {
  return Object.fromEntries([...output.matchAll(/msg=listening listener=(\S+) addr=(\S+)/g)].map((m) => [m[1], m[2]]));
}

/** httpsAddr waits for the https listener's log line. */
async function httpsAddr(output, exited) {
  let gone = null;
  exited.then((e) => (gone = e));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { https } = boundAddrs(output());
    if (https) return https;
    if (gone) throw new Error(`mailport serve exited (code ${gone.code}) before listening`);
    if (Date.now() > deadline) throw new Error('mailport serve did not report its https listener within 30s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** healthy waits until GET /healthz answers 200 over HTTPS. */
async function healthy(baseURL) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await httpsRequest(baseURL, 'GET', '/healthz');
      if (res.status === 200) return;
    } catch {
      // not accepting yet
    }
    if (Date.now() > deadline) throw new Error(`${baseURL}/healthz did not answer 200 within 30s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** httpsRequest sends one request from the set-up address; body is JSON or undefined. */
function httpsRequest(baseURL, method, path, { headers = {}, body } = {}) {
  const url = new URL(path, baseURL);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        localAddress: setupAddress,
        rejectUnauthorized: false, // init's self-signed certificate
        headers: {
          accept: 'application/json',
          ...(payload !== undefined && { 'content-type': 'application/json' }),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let json;
          if (/json/.test(res.headers['content-type'] ?? '') && text) json = JSON.parse(text);
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * apiClient talks to /api/v1 as account with a Bearer token (its token, or
 * one created with the CLI on first use), independently of the browser:
 * for setting state up and checking what the UI did. Each method resolves
 * to { status, headers, text, json }; paths are relative to /api/v1; a
 * body is sent as JSON, or as is when it is a string (give its content-type
 * in headers, e.g. for CSV), and headers are added to the request. A 429
 * (the API allows 10 requests a second per token, 50 at once) is waited out
 * as its Retry-After says and the request sent again, as a well-behaved
 * script does.
 */
function apiClient(baseURL, account, cli) {
  let token = account.token;
  const call = async (method, path, body, headers = {}) => {
    token ??= await createToken(cli, account.login);
    for (;;) {
      const res = await httpsRequest(baseURL, method, `/api/v1${path}`, {
        headers: { ...headers, authorization: `Bearer ${token}` },
        body,
      });
      if (res.status !== 429) return res;
      const wait = Number.parseInt(res.headers['retry-after'] ?? '', 10);
      await new Promise((r) => setTimeout(r, (Number.isFinite(wait) && wait > 0 ? wait : 1) * 1000));
    }
  };
  return {
    get: (path, headers) => call('GET', path, undefined, headers),
    post: (path, body, headers) => call('POST', path, body, headers),
    put: (path, body, headers) => call('PUT', path, body, headers),
    patch: (path, body, headers) => call('PATCH', path, body, headers),
    delete: (path, headers) => call('DELETE', path, undefined, headers),
  };
}
