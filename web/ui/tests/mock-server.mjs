// A stand-in for mailport's HTTP server while the real API is being built:
// it serves the built portal (internal/web/dist) the way internal/web does
// (security headers, SPA fallback) and implements the session part of the
// /api/v1 contract for one fixed user. The browser tests use it unless
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
  /** @type {Map<string, string>} session id -> csrf token */
  const sessions = new Map();
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
    const csrf = sid ? sessions.get(sid) : undefined;

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
      if (!(same(body.login, mockUser.login) && same(body.password, mockUser.password))) {
        return sendError(res, 401, 'unauthorized', 'Wrong login or password.');
      }
      const id = randomBytes(24).toString('base64url');
      const token = randomBytes(24).toString('base64url');
      sessions.set(id, token);
      res.setHeader('Set-Cookie', `${sessionCookie}=${id}; Path=/; HttpOnly; SameSite=Strict`);
      return sendJSON(res, 200, sessionBody(token));
    }

    if (path === '/api/v1/me' && req.method === 'GET') {
      if (!csrf) return sendError(res, 401, 'unauthorized', 'Not signed in.');
      return sendJSON(res, 200, sessionBody(csrf));
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
    return sendError(res, 404, 'not_found', 'No such API endpoint.');
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

function sessionBody(csrfToken) {
  return {
    account: { login: mockUser.login, role: mockUser.role, domains: [...mockUser.domains] },
    csrfToken,
  };
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
