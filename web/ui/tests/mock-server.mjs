// A stand-in for mailport's HTTP server while the real API is being built:
// it serves the built portal (internal/web/dist) the way internal/web does
// (security headers, SPA fallback) and implements the session part of the
// /api/v1 contract for one fixed master admin, plus the directory calls the
// pages use (domains, their DNS records, mailboxes) over in-memory data; a
// mailbox signs in with its address and password as a mail user. The browser tests use it unless
// MAILPORT_URL points them at a real server.
//
// Run it by hand for `npm run dev`-free poking: node tests/mock-server.mjs [port]

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const defaultDist = resolve(dirname(fileURLToPath(import.meta.url)), '../../../internal/web/dist');

/** The one account the mock knows. */
export const mockUser = Object.freeze({
  login: 'admin',
  password: 'mock-password-1',
  role: 'masteradmin',
  domains: [],
});

const sessionCookie = 'mailport_session';
const maxBody = 64 * 1024;

// The same headers internal/web sends, so a CSP violation in the portal shows
// up in the browser tests before it reaches the real server.
const securityHeaders = {
  'Content-Security-Policy':
    "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/**
 * startMockServer listens on 127.0.0.1 (port 0 = any free port) and resolves
 * to { url, close(), calls } where calls counts API requests by "METHOD path".
 */
export async function startMockServer({ dist = defaultDist, port = 0 } = {}) {
  /** @type {Map<string, {csrf: string, login: string}>} session id -> session */
  const sessions = new Map();
  /** @type {Map<string, {name: string, created_at: string}>} */
  const domains = new Map();
  /** @type {Map<string, object>} address -> mailbox (with its password) */
  const mailboxes = new Map();
  /** @type {Record<string, number>} */
  const calls = {};

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendJSON(res, 500, { error: { code: 'server_error', message: String(err) } });
      else res.destroy();
    });
  });

  async function handle(req, res) {
    for (const [k, v] of Object.entries(securityHeaders)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://mock');
    if (url.pathname.startsWith('/api/')) {
      const key = `${req.method} ${url.pathname}`;
      calls[key] = (calls[key] ?? 0) + 1;
      return api(req, res, url.pathname);
    }
    return serveStatic(req, res, url.pathname);
  }

  async function api(req, res, path) {
    res.setHeader('Cache-Control', 'no-store');
    const sid = cookie(req, sessionCookie);
    const sess = sid ? sessions.get(sid) : undefined;
    const csrf = sess?.csrf;

    if (path === '/api/v1/session' && req.method === 'POST') {
      let body;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        return sendError(res, 400, 'bad_request', 'The request body is not valid JSON.');
      }
      const fields = {};
      if (typeof body?.login !== 'string' || body.login === '') fields.login = 'Required.';
      if (typeof body?.password !== 'string' || body.password === '') fields.password = 'Required.';
      if (Object.keys(fields).length > 0) {
        return sendJSON(res, 422, { error: { code: 'invalid', message: 'Some fields are missing.', fields } });
      }
      const mb = mailboxes.get(String(body.login));
      const adminOK = same(body.login, mockUser.login) && same(body.password, mockUser.password);
      const userOK = mb !== undefined && mb.enabled && same(body.password, mb.password);
      if (!adminOK && !userOK) {
        return sendError(res, 401, 'unauthorized', 'Wrong login or password.');
      }
      const id = randomBytes(24).toString('base64url');
      const token = randomBytes(24).toString('base64url');
      sessions.set(id, { csrf: token, login: body.login });
      res.setHeader('Set-Cookie', `${sessionCookie}=${id}; Path=/; HttpOnly; SameSite=Strict`);
      return sendJSON(res, 200, sessionBody(token, body.login));
    }

    if (path === '/api/v1/me' && req.method === 'GET') {
      if (!csrf) return sendError(res, 401, 'unauthorized', 'Not signed in.');
      return sendJSON(res, 200, sessionBody(csrf, sess.login));
    }

    if (path === '/api/v1/session' && req.method === 'DELETE') {
      if (!csrf) return sendError(res, 401, 'unauthorized', 'Not signed in.');
      if (!same(req.headers['x-csrf-token'] ?? '', csrf)) {
        return sendError(res, 403, 'csrf', 'The X-CSRF-Token header is missing or wrong.');
      }
      sessions.delete(sid);
      res.setHeader('Set-Cookie', `${sessionCookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      res.writeHead(204).end();
      return;
    }

    if (path === '/api/v1/session' || path === '/api/v1/me') {
      return sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed here.`);
    }
    if (path.startsWith('/api/v1/domains') || path.startsWith('/api/v1/mailboxes')) {
      if (!csrf) return sendError(res, 401, 'unauthorized', 'Not signed in.');
      if (req.method !== 'GET' && !same(req.headers['x-csrf-token'] ?? '', csrf)) {
        return sendError(res, 403, 'csrf', 'The X-CSRF-Token header is missing or wrong.');
      }
      return directory(req, res, path, sess.login === mockUser.login ? null : sess.login);
    }
    return sendError(res, 404, 'not_found', 'No such API endpoint.');
  }

  // directory implements the domain and mailbox calls; self is the signed-in
  // mail user's address, or null for the master admin.
  async function directory(req, res, path, self) {
    const url = new URL(req.url ?? '/', 'http://mock');
    const parts = path.split('/').slice(3).map(decodeURIComponent); // [collection, key?, sub?]
    const [coll, key, sub] = parts;
    const readJSON = async () => {
      try {
        return JSON.parse(await readBody(req));
      } catch {
        return undefined;
      }
    };
    const page = (all) => {
      const limit = Math.min(Number(url.searchParams.get('limit') || 100), 1000);
      const offset = Number(url.searchParams.get('offset') || 0);
      return { items: all.slice(offset, offset + limit), total: all.length };
    };
    const q = (url.searchParams.get('q') ?? '').toLowerCase();
    const admin = self === null;
    const forbidden = () => sendError(res, 403, 'forbidden', 'not allowed');
    const notFound = () => sendError(res, 404, 'not_found', 'not found');

    if (coll === 'domains') {
      if (!admin) return forbidden();
      if (key === undefined && req.method === 'GET') {
        const all = [...domains.values()].filter((d) => d.name.includes(q)).sort((a, b) => a.name.localeCompare(b.name));
        return sendJSON(res, 200, page(all));
      }
      if (key === undefined && req.method === 'POST') {
        const body = await readJSON();
        const name = String(body?.name ?? '');
        // Like the real server: a service-level check without a field name.
        if (!/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$/.test(name)) {
          return sendError(res, 422, 'invalid', `invalid domain name: ${JSON.stringify(name)}`);
        }
        if (domains.has(name)) return sendError(res, 409, 'exists', 'domain already exists');
        const d = { name, created_at: new Date().toISOString() };
        domains.set(name, d);
        return sendJSON(res, 201, d);
      }
      if (key !== undefined && !domains.has(key)) return notFound();
      if (sub === undefined && req.method === 'DELETE') {
        domains.delete(key);
        for (const a of [...mailboxes.keys()]) if (a.endsWith('@' + key)) mailboxes.delete(a);
        res.writeHead(204).end();
        return;
      }
      if (sub === 'dns' && req.method === 'GET') {
        const check = url.searchParams.get('check') === 'true';
        const records = [
          { kind: 'MX', name: key, type: 'MX', value: `10 mail.${key}.` },
          { kind: 'SPF', name: key, type: 'TXT', value: 'v=spf1 mx -all' },
          { kind: 'DMARC', name: `_dmarc.${key}`, type: 'TXT', value: 'v=DMARC1; p=quarantine' },
        ];
        if (check) {
          // The mock "finds" the MX record and not the others.
          records[0].status = 'OK';
          records[1].status = 'MISSING';
          records[2].status = 'WRONG';
          records[2].got = 'v=DMARC1; p=none';
        }
        return sendJSON(res, 200, check ? { records, all_ok: false } : { records });
      }
      return sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed here.`);
    }

    // mailboxes
    if (key === undefined && req.method === 'GET') {
      if (!admin) return forbidden();
      const all = [...mailboxes.values()]
        .filter((m) => m.address.includes(q) || m.display_name.toLowerCase().includes(q))
        .sort((a, b) => a.address.localeCompare(b.address));
      const p = page(all);
      return sendJSON(res, 200, { items: p.items.map(publicMailbox), total: p.total });
    }
    if (key === undefined && req.method === 'POST') {
      if (!admin) return forbidden();
      const body = await readJSON();
      const address = String(body?.address ?? '');
      const at = address.lastIndexOf('@');
      const fields = {};
      if (at < 1 || !domains.has(address.slice(at + 1))) fields['body.address'] = 'no hosted domain for this address';
      if (typeof body?.password !== 'string' || body.password.length < 8) {
        fields['body.password'] = 'a password has at least 8 characters';
      }
      if (Object.keys(fields).length > 0) {
        return sendJSON(res, 422, { error: { code: 'invalid', message: 'validation failed', fields } });
      }
      if (mailboxes.has(address)) return sendError(res, 409, 'exists', 'mailbox already exists');
      const m = {
        address,
        domain: address.slice(at + 1),
        display_name: String(body.display_name ?? ''),
        quota_bytes: Number(body.quota_bytes ?? 0),
        used_bytes: 0,
        enabled: true,
        role: 'user',
        created_at: new Date().toISOString(),
        password: body.password,
      };
      mailboxes.set(address, m);
      return sendJSON(res, 201, publicMailbox(m));
    }
    const m = mailboxes.get(key ?? '');
    if (!admin && key !== self) return forbidden();
    if (!m) return notFound();
    if (req.method === 'GET') return sendJSON(res, 200, publicMailbox(m));
    if (req.method === 'PATCH') {
      const body = (await readJSON()) ?? {};
      if (!admin && ('enabled' in body || 'quota_bytes' in body)) return forbidden();
      if ('password' in body && (typeof body.password !== 'string' || body.password.length < 8)) {
        return sendJSON(res, 422, {
          error: { code: 'invalid', message: 'validation failed', fields: { 'body.password': 'a password has at least 8 characters' } },
        });
      }
      for (const k of ['display_name', 'quota_bytes', 'enabled', 'password']) if (k in body) m[k] = body[k];
      return sendJSON(res, 200, publicMailbox(m));
    }
    if (req.method === 'DELETE' && admin) {
      mailboxes.delete(key);
      res.writeHead(204).end();
      return;
    }
    return sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed here.`);
  }

  async function serveStatic(req, res, pathname) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      res.writeHead(405).end();
      return;
    }
    let rel;
    try {
      rel = normalize(decodeURIComponent(pathname)).replace(/^[/\\]+/, '');
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = join(dist, rel);
    const inside = file.startsWith(dist + sep);
    let data;
    if (inside && rel !== '') {
      data = await readFile(file).catch(() => undefined);
    }
    if (data === undefined) {
      if (rel.startsWith('assets' + sep) || rel.startsWith('assets/')) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      // Single-page app: every other path is a page of the portal.
      data = await readFile(join(dist, 'index.html'));
      res.writeHead(200, { 'Content-Type': types['.html'], 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : data);
      return;
    }
    const cache = rel.startsWith('assets') ? 'public, max-age=31536000, immutable' : 'no-cache';
    res.writeHead(200, {
      'Content-Type': types[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': cache,
    });
    res.end(req.method === 'HEAD' ? undefined : data);
  }

  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  const addr = server.address();
  return {
    url: `http://127.0.0.1:${addr.port}`,
    calls,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

function sessionBody(csrfToken, login = mockUser.login) {
  const account =
    login === mockUser.login
      ? { login: mockUser.login, role: mockUser.role, domains: [...mockUser.domains] }
      : { login, role: 'user', domains: [] };
  return { account, csrfToken };
}

function publicMailbox(m) {
  const { password: _password, ...rest } = m;
  return rest;
}

function sendJSON(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res, status, code, message) {
  sendJSON(res, status, { error: { code, message } });
}

function cookie(req, name) {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

function same(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function readBody(req) {
  return new Promise((ok, fail) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > maxBody) {
        fail(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const srv = await startMockServer({ port: Number(process.argv[2] ?? 0) });
  console.log(`mock mailport on ${srv.url} (login ${mockUser.login}, password ${mockUser.password})`);
}
