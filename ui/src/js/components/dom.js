// dom.js: small DOM helpers for the archive pages (search, browse, viewer, upload).
//
//   h("button", { class: "btn", onclick: fn, "data-testid": "x" }, "text", childNode)
//   marked(snippet)        → DocumentFragment from an API snippet (HTML-escaped, <mark> only)
//   fieldError(input, msg) → shows a Japanese message under a form field (aria-describedby)
//   downloadResponse(res)  → saves a fetch Response as a file (name from Content-Disposition)
// Nothing here uses innerHTML with data from the API.

import { csrfToken, ApiError, API_PREFIX, isAbort } from "../api.js";
import { t } from "../i18n.js";

/**
 * Create an element: `h("button", { class: "btn", onclick: fn }, "text", node)`. Unlike ui.js's
 * h(), `style` may be an object (set through CSSOM, which the CSP allows) and `dataset` too.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Kura.Attrs | null} [attrs]
 * @param {...Kura.Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (k === "class") el.className = String(v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {Kura.Child[]} children
 */
function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * Remove every child of `el`.
 * @template {Element} E
 * @param {E} el
 * @returns {E} el
 */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** @type {Record<string, string>} */
const ENTITIES = { "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };

/**
 * @param {string} s
 * @returns {string}
 */
function unescapeText(s) {
  return s.replace(/&(lt|gt|amp|quot|#x27|#39);/g, (m) => ENTITIES[m] ?? m);
}

/**
 * An API snippet (HTML-escaped text with <mark>…</mark>) as safe DOM nodes.
 * @param {string | null | undefined} snippet
 * @returns {DocumentFragment}
 */
export function marked(snippet) {
  const frag = document.createDocumentFragment();
  const parts = String(snippet || "").split(/(<mark>|<\/mark>)/);
  let inMark = false;
  for (const part of parts) {
    if (part === "<mark>") inMark = true;
    else if (part === "</mark>") inMark = false;
    else if (part) {
      const text = document.createTextNode(unescapeText(part));
      if (inMark) {
        const m = document.createElement("mark");
        m.append(text);
        frag.append(m);
      } else frag.append(text);
    }
  }
  return frag;
}

/**
 * Show `message` under `input` (or clear it with a falsy message); with `anchor`, the message
 * goes at the end of that element instead (none: after the input).
 * @param {HTMLInputElement} input
 * @param {string | null | undefined} message
 * @param {Element | null} [anchor]
 */
export function fieldError(input, message, anchor = input) {
  const id = `${input.id || input.name}-error`;
  let box = document.getElementById(id);
  if (!message) {
    if (box) box.remove();
    input.removeAttribute("aria-invalid");
    return;
  }
  if (!box) {
    box = h("p", { id, class: "field-error", role: "alert" });
    const at = anchor || input;
    at.insertAdjacentElement(at === input ? "afterend" : "beforeend", box);
  }
  box.textContent = String(message).replace(/^[a-z_]+: /, "");
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", id);
}

/**
 * A message box (error / info) placed in `where`, replacing the previous one there.
 * @param {Element} where
 * @param {string | null | undefined} message nothing (the box is removed) when empty
 * @param {"error" | "info" | "ok"} [kind]
 */
export function notice(where, message, kind = "error") {
  clear(where);
  if (!message) return;
  where.append(
    h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, message),
  );
}

/**
 * The Japanese message for any error (ApiError carries the API's own text).
 * @param {unknown} err
 * @returns {string}
 */
export function errorText(err) {
  if (err instanceof ApiError) return err.detail && err.detail !== err.title ? err.detail : err.title;
  if (isAbort(err)) return t("archive.cancelled");
  return t("error.generic");
}

/**
 * @param {Response} res
 * @param {string} fallback
 * @returns {string}
 */
function filenameOf(res, fallback) {
  const cd = res.headers.get("Content-Disposition") || "";
  const star = cd.match(/filename\*=UTF-8''([^;]+)/i);
  if (star) return decodeURIComponent(star[1]);
  const plain = cd.match(/filename="?([^";]+)"?/i);
  return plain ? plain[1] : fallback;
}

/**
 * Fetch `path` (under /api/v1) and save the body as a file; problem+json → ApiError.
 * Resolves with the size of what was saved.
 * @param {string} path
 * @param {{ method?: string, body?: unknown, fallback?: string, signal?: AbortSignal }} [options]
 * @returns {Promise<number>}
 */
export async function download(path, { method = "GET", body, fallback = "download", signal } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "*/*" };
  if (method !== "GET") {
    headers["X-CSRF-Token"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(path.startsWith("/api/") ? path : API_PREFIX + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new ApiError(0, { code: "network", title: t("error.network") });
  }
  if (!res.ok) {
    /** @type {Kura.Problem | null} */
    let problem;
    try {
      problem = await res.json();
    } catch {
      problem = null;
    }
    throw new ApiError(res.status, problem);
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filenameOf(res, fallback), hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}

/**
 * What typeIcon() reads of a listing row or a search hit.
 * @typedef {{ kind?: string, name?: string | null, title?: string | null, path?: string | null,
 *   file_type?: string | null, content_type?: string | null }} Typed
 */

/**
 * A small type icon (CSS-drawn folder, or the file's kind as a label: PDF, JPG, XML…).
 * @param {Typed} node
 * @returns {HTMLSpanElement}
 */
export function typeIcon(node) {
  if (node.kind === "folder") return h("span", { class: "ico ico-folder", "aria-hidden": "true" });
  // the file's own name: a photo row's name is "写真タイトル（P0000001.JPG）"
  const name = String((node.path ? node.path.split("/").pop() : "") || node.name || node.title || "").toLowerCase();
  const type = String(node.file_type || node.content_type || "").toLowerCase();
  const ext = name.includes(".") ? (name.split(".").pop() ?? "") : "";
  let kind = "file";
  if (type.includes("pdf") || ext === "pdf") kind = "pdf";
  else if (/^(jpeg|jpg|png|gif|tiff|bmp|webp)$/.test(type) || type.startsWith("image") || /^(jpe?g|png|gif|tiff?|bmp|webp)$/.test(ext)) kind = "img";
  else if (type.includes("xml") || ext === "xml") kind = "xml";
  else if (ext === "zip") kind = "zip";
  /** @type {Record<string, string>} */
  const labels = { pdf: "PDF", img: ext === "png" ? "PNG" : "JPG", xml: "XML", zip: "ZIP" };
  const label = labels[kind] || (ext || "FILE").slice(0, 4).toUpperCase();
  return h("span", { class: `ico ico-${kind}`, "aria-hidden": "true" }, label);
}

/**
 * Debounce a function (search-as-you-type, resize).
 * @template {unknown[]} A
 * @param {(...args: A) => void} fn
 * @param {number} ms
 * @returns {(...args: A) => void}
 */
export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
