// The portal's only way to talk to mailport: a thin typed wrapper over fetch
// for the /api/v1 contract. The directory types come from the OpenAPI
// document (`npm run gen:api` writes src/lib/api.gen.ts with
// openapi-typescript); request() is the transport for every call.

import type { components } from './api.gen';

export type Role = 'masteradmin' | 'domainadmin' | 'user';

export interface Account {
  login: string;
  role: Role;
  domains: string[];
}

/** What POST /api/v1/session and GET /api/v1/me answer. */
export interface Session {
  account: Account;
  csrfToken: string;
}

/** The error object every 4xx answer carries. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    fields?: Record<string, string>;
    /** What an operation reports with its error, e.g. an import's report (422 import_rejected). */
    details?: unknown;
  };
}

/**
 * An API call that did not succeed. status is the HTTP status, or 0 when the
 * server could not be reached at all.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string>;
  /** Seconds from a Retry-After header (429), when the server sent one. */
  readonly retryAfter: number | undefined;
  /** The error's details, when the server sent any (ErrorBody). */
  readonly details: unknown;

  constructor(
    status: number,
    code: string,
    message: string,
    fields: Record<string, string> = {},
    retryAfter?: number,
    details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
    this.details = details;
  }
}

const base = '/api/v1';

// The CSRF token of the current session. It lives only in memory: a page
// reload gets it again from GET /me, so it is never in storage that other
// scripts or a later user of the browser could read.
let csrfToken = '';

// Called when an authenticated call answers 401 (the session expired or was
// revoked elsewhere), so the app can go back to the login page.
let onUnauthorized: (() => void) | undefined;

export function setUnauthorizedHandler(fn: (() => void) | undefined): void {
  onUnauthorized = fn;
}

const unsafeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface RequestOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is with its media type, instead of a JSON body (an import file). */
  raw?: { data: string | Blob; type: string };
  /** Do not call the unauthorized handler on 401 (login and session probe). */
  quiet401?: boolean;
  signal?: AbortSignal;
}

/**
 * request sends one API call and returns its decoded JSON body (undefined for
 * 204).
 */
export async function request<T>(method: Method, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(method, path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, 'bad_response', 'The server sent an answer the portal cannot read.');
  }
}

/** download fetches a body that is not JSON (an export file) as a Blob. */
export async function download(path: string): Promise<Blob> {
  return (await send('GET', path, {})).blob();
}

/** upload POSTs data of the given media type as it is (an import file) and decodes the JSON answer. */
export function upload<T>(path: string, data: string | Blob, type: string): Promise<T> {
  return request<T>('POST', path, { raw: { data, type } });
}

/**
 * send is the transport of every call: it returns a successful response and
 * throws ApiError for any other. Unsafe methods carry the session's CSRF
 * token in X-CSRF-Token, as the server requires for cookie-authenticated
 * requests.
 */
async function send(method: Method, path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: string | Blob | undefined;
  if (opts.raw !== undefined) {
    headers['Content-Type'] = opts.raw.type;
    body = opts.raw.data;
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (unsafeMethods.has(method) && csrfToken !== '') {
    headers['X-CSRF-Token'] = csrfToken;
  }
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers,
      body,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
  if (res.ok) return res;
  const err = await errorFrom(res);
  if (err.status === 401 && !opts.quiet401) {
    csrfToken = '';
    onUnauthorized?.();
  }
  throw err;
}

async function errorFrom(res: Response): Promise<ApiError> {
  let parsed: Partial<ErrorBody> | undefined;
  try {
    parsed = (await res.json()) as Partial<ErrorBody>;
  } catch {
    parsed = undefined;
  }
  const e = parsed?.error;
  const retry = Number.parseInt(res.headers.get('Retry-After') ?? '', 10);
  const retryAfter = Number.isFinite(retry) && retry >= 0 ? retry : undefined;
  const code = typeof e?.code === 'string' && e.code !== '' ? e.code : defaultCode(res.status);
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : defaultMessage(res.status);
  const fields = e?.fields !== null && typeof e?.fields === 'object' ? e.fields : {};
  return new ApiError(res.status, code, message, fields, retryAfter, e?.details);
}

function defaultCode(status: number): string {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 429:
      return 'rate_limited';
    default:
      return status >= 500 ? 'server_error' : 'bad_request';
  }
}

function defaultMessage(status: number): string {
  switch (status) {
    case 401:
      return 'You are not signed in.';
    case 403:
      return 'You are not allowed to do this.';
    case 404:
      return 'Not found.';
    case 429:
      return 'Too many attempts. Wait a little and try again.';
    default:
      return status >= 500 ? 'The server failed to answer. Try again later.' : `The request failed (HTTP ${status}).`;
  }
}

function remember(s: Session): Session {
  csrfToken = s.csrfToken;
  return s;
}

/** login opens a session: POST /api/v1/session. Bad credentials throw ApiError 401. */
export async function login(loginName: string, password: string): Promise<Session> {
  const s = await request<Session>('POST', '/session', {
    body: { login: loginName, password },
    quiet401: true,
  });
  return remember(s);
}

/** me returns the current session, or null when the cookie is missing or expired. */
export async function me(): Promise<Session | null> {
  try {
    return remember(await request<Session>('GET', '/me', { quiet401: true }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      csrfToken = '';
      return null;
    }
    throw err;
  }
}

/** logout ends the session: DELETE /api/v1/session with the CSRF token. */
export async function logout(): Promise<void> {
  try {
    await request<void>('DELETE', '/session', { quiet401: true });
  } catch (err) {
    // An already expired session is as good as logged out; any other failure
    // leaves the session (and its token) in place so the user can retry.
    if (!(err instanceof ApiError && err.status === 401)) throw err;
  }
  csrfToken = '';
}

// The shapes of the API's bodies, generated from the OpenAPI document, so a
// change to the server's contract breaks `npm run check` where it matters.
export type Schemas = components['schemas'];
export type Domain = Schemas['Domain'];
export type Mailbox = Schemas['Mailbox'];
export type DNSRecord = Schemas['DNSRecord'];
export type DNSAnswer = Schemas['DnsOutputBody'];
export type MailboxCreate = Schemas['CreateMailboxInputBody'];
export type MailboxUpdate = Schemas['UpdateMailboxInputBody'];

export interface ListPage<T> {
  items: T[];
  total: number;
}

export type QueryValue = string | number | boolean | undefined;

/** query builds "?a=1&b=x" from the set values (empty strings are left out). */
export function query(params: Record<string, QueryValue>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

// Path segments are user data (domain names, addresses): always encoded, so
// a "/" or "?" in one cannot reach another endpoint.
export const seg = encodeURIComponent;

/** path joins a collection and encoded segments: path('/forwards', a, b) is /forwards/A/B. */
export function path(collection: string, ...segments: string[]): string {
  return [collection, ...segments.map(seg)].join('/');
}

/** What every list operation takes: a search, a page (limit/offset), a sort, and per-collection filters. */
export interface ListParams {
  q?: string;
  limit?: number;
  offset?: number;
  sort?: string;
  [filter: string]: QueryValue;
}

/**
 * list fetches one page of a collection (GET /domains, /aliases, ...). Every
 * list answer has the shape {items, total}; a null items is an empty page.
 */
export async function list<T>(collection: string, p: ListParams = {}, signal?: AbortSignal): Promise<ListPage<T>> {
  const r = await request<{ items?: T[] | null; total: number }>('GET', collection + query(p), { signal });
  return { items: r.items ?? [], total: r.total };
}

/** get, create, update (PATCH), put and remove are the object calls of every collection. */
export function get<T>(objectPath: string): Promise<T> {
  return request<T>('GET', objectPath);
}

export function create<T>(collection: string, body: unknown): Promise<T> {
  return request<T>('POST', collection, { body });
}

export function update<T>(objectPath: string, body: unknown): Promise<T> {
  return request<T>('PATCH', objectPath, { body });
}

export function put<T>(objectPath: string, body: unknown): Promise<T> {
  return request<T>('PUT', objectPath, { body });
}

export function remove(objectPath: string): Promise<void> {
  return request<void>('DELETE', objectPath);
}

export async function domainDNS(name: string, check: boolean): Promise<DNSAnswer> {
  const r = await request<DNSAnswer>('GET', path('/domains', name, 'dns') + query({ check: check || undefined }));
  return { ...r, records: r.records ?? [] };
}
