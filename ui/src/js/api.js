// api.js: the one way pages talk to the Kura API (/api/v1).
//
//   import { api, ApiError, apiUrl } from "../api.js";
//   const work = await api.get(`/works/${id}`);              // JSON body, or null on 204
//   const page = await api.get("/works", { status: "archived", limit: 50 });  // query object
//   await api.post("/auth/login", { login_id, password });   // JSON body
//   await api.del(`/works/${id}`, { version: 3 });           // query object
//   await api.request("PATCH", path, { query, body, headers, raw: true }) // raw → Response
//   apiUrl("/files/x/content", { disposition: "inline" })    // a URL for <img>, <a href>
//
// Session: the browser sends the `kura_session` cookie; unsafe methods add `X-CSRF-Token` read
// from the `kura_csrf` cookie. A failed request throws ApiError with the problem+json fields:
//   err.status, err.code, err.title (Japanese), err.detail (Japanese), err.fields
//   (Map field name → Japanese message, from 422 `errors[].loc` and DuplicateError `fields`).
// 401 anywhere (except the login call) fires the window event "kura:unauthenticated"; 403 with
// code password_change_required fires "kura:password-change"; app.js routes to them.

import { t } from "./i18n.js";

export const API_PREFIX = "/api/v1";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Options of request() (and of the api.* shortcuts).
 * @typedef {object} RequestOptions
 * @property {Record<string, unknown>} [query] query parameters (see apiUrl)
 * @property {unknown} [body] JSON-encoded, unless a FormData or Blob (sent as it is)
 * @property {Record<string, string>} [headers]
 * @property {AbortSignal} [signal]
 * @property {boolean} [raw] resolve with the Response itself
 * @property {boolean} [quiet401] a 401 does not fire "kura:unauthenticated" (login, /auth/me)
 */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0: the request did not reach the server)
   * @param {Kura.Problem | null} [problem] the problem+json body, if any
   */
  constructor(status, problem) {
    const p = problem || {};
    super(p.detail || p.title || t("error.generic"));
    this.name = "ApiError";
    this.status = status;
    this.code = p.code || `http_${status}`;
    this.title = p.title || t("error.generic");
    this.detail = p.detail || this.title;
    this.problem = p;
    /** @type {Map<string, string>} field name → Japanese message */
    this.fields = fieldErrors(p);
  }

  /**
   * `err` as an ApiError: itself when it is one, else a generic one (status 0) that carries it
   * as `cause`. For catch blocks, whose error is `unknown`.
   * @param {unknown} err
   * @returns {ApiError}
   */
  static from(err) {
    if (err instanceof ApiError) return err;
    const wrapped = new ApiError(0, null);
    wrapped.cause = err;
    return wrapped;
  }
}

/**
 * Is `err` the rejection of an aborted request (AbortController.abort())?
 * @param {unknown} err
 * @returns {boolean}
 */
export function isAbort(err) {
  return typeof err === "object" && err !== null && "name" in err && err.name === "AbortError";
}

/**
 * The CSRF token the server set at login (double-submit cookie).
 * @returns {string}
 */
export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)kura_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}

/**
 * Build `/api/v1<path>?query` (undefined/null/"" values are dropped; arrays repeat the key).
 * @param {string} path
 * @param {Record<string, unknown>} [query]
 * @returns {string}
 */
export function apiUrl(path, query) {
  const url = new URL(API_PREFIX + path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => url.searchParams.append(k, String(x)));
    else url.searchParams.set(k, String(v));
  }
  return url.pathname + url.search;
}

/**
 * Send a request to the API. Resolves with the JSON body (a string for other types, null on
 * 204, the Response with `raw`); rejects with ApiError (or the AbortError of `signal`).
 * The JSON is the server's: `any`, typed by the caller where it reads it (`Kura.Work`, ...).
 * @param {string} method
 * @param {string} path under /api/v1
 * @param {RequestOptions} [opts]
 * @returns {Promise<any>}
 */
export async function request(method, path, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json, application/problem+json", ...(opts.headers || {}) };
  let body;
  if (opts.body !== undefined) {
    if (opts.body instanceof FormData || opts.body instanceof Blob) body = opts.body;
    else {
      body = JSON.stringify(opts.body);
      headers["Content-Type"] = "application/json";
    }
  }
  if (!SAFE.has(method)) {
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
  }
  let res;
  try {
    res = await fetch(apiUrl(path, opts.query), {
      method,
      headers,
      body,
      credentials: "same-origin",
      signal: opts.signal,
    });
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new ApiError(0, { code: "network", title: t("error.network"), detail: t("error.network") });
  }
  if (!res.ok) {
    /** @type {Kura.Problem | null} */
    let problem;
    try {
      problem = await res.json();
    } catch {
      problem = null;
    }
    const err = new ApiError(res.status, problem);
    if (res.status === 401 && !opts.quiet401) {
      window.dispatchEvent(new CustomEvent("kura:unauthenticated", { detail: err }));
    }
    if (res.status === 403 && err.code === "password_change_required") {
      window.dispatchEvent(new CustomEvent("kura:password-change", { detail: err }));
    }
    throw err;
  }
  if (opts.raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") || "";
  return type.includes("json") ? res.json() : res.text();
}

export const api = {
  /** @type {(path: string, query?: Record<string, unknown>, opts?: RequestOptions) => Promise<any>} */
  get: (path, query, opts = {}) => request("GET", path, { ...opts, query }),
  /** @type {(path: string, body?: unknown, opts?: RequestOptions) => Promise<any>} */
  post: (path, body, opts = {}) => request("POST", path, { ...opts, body }),
  /** @type {(path: string, body?: unknown, opts?: RequestOptions) => Promise<any>} */
  put: (path, body, opts = {}) => request("PUT", path, { ...opts, body }),
  /** @type {(path: string, body?: unknown, opts?: RequestOptions) => Promise<any>} */
  patch: (path, body, opts = {}) => request("PATCH", path, { ...opts, body }),
  /** @type {(path: string, query?: Record<string, unknown>, opts?: RequestOptions) => Promise<any>} */
  del: (path, query, opts = {}) => request("DELETE", path, { ...opts, query }),
  request,
};

/**
 * Pydantic's English messages are replaced by Japanese ones chosen by error type.
 * @param {Kura.ValidationIssue} e
 * @returns {string}
 */
function validationMessage(e) {
  const type = String(e.type || "");
  // The project's own validators (api/kit/text.py) raise Japanese messages: shown as written.
  const own = type === "value_error" ? String(e.msg || "").replace(/^Value error, /, "") : "";
  if (own && /[^ -~]/.test(own)) return own;
  const ctx = e.ctx || {};
  const key = `validation.${type}`;
  const msg = t(key, ctx);
  if (msg !== key) return msg;
  if (type.startsWith("string_")) return t("validation.string_pattern_mismatch");
  return t("validation.invalid");
}

/**
 * @param {Kura.Problem} p
 * @returns {Map<string, string>}
 */
function fieldErrors(p) {
  /** @type {Map<string, string>} */
  const out = new Map();
  for (const e of p.errors || []) {
    // A rule of the service naming its field (400 validation_failed: `{field, message}`).
    if (e.field && e.message) {
      if (!out.has(e.field)) out.set(e.field, e.message);
      continue;
    }
    const loc = (e.loc || []).filter((x) => x !== "body" && x !== "query" && x !== "path");
    const name = loc.length ? String(loc[0]) : "";
    if (!out.has(name)) out.set(name, validationMessage(e));
  }
  for (const f of p.fields || []) {
    if (!out.has(f)) out.set(f, t("validation.duplicate"));
  }
  if (p.field && !out.has(p.field)) out.set(p.field, p.detail || p.title || "");
  return out;
}
