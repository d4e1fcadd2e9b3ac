// proposal-kit.js: small helpers the proposal pages share: their stylesheet, state and
// importance badges, page lists ("1-3,5"), names, and errors of the API placed by the field.
//
//   ensureProposalStyles()                         link css/proposals.css once
//   stateBadge(state, label), importanceBadge(importance)
//   parsePages("1-3,5") → [1, 2, 3, 5] (null: all pages; throws RangeError on bad input)
//   formatPages([1, 2, 3, 5]) → "1-3,5"
//   nameOf(users, id) → "監督 一郎" ("" for none)
//   showApiErrors(form, err, definition) → the API's fields under the inputs (values.<key>)
//   stale(err) → true for a 409 stale_version (somebody changed it first)
//   clearOnInput(form) → a field's error goes away once its input is changed

import { ApiError } from "../api.js";
import { t } from "../i18n.js";
import { badge, h, showFormErrors } from "../ui.js";

/** css/proposals.css, linked once (the proposal pages' own stylesheet). */
export function ensureProposalStyles() {
  if (document.getElementById("proposals-css")) return;
  document.head.append(h("link", { id: "proposals-css", rel: "stylesheet", href: "css/proposals.css" }));
}

/** @type {Record<string, string>} */
const STATE_TONE = { draft: "neutral", in_review: "info", sent_back: "warn", withdrawn: "neutral", decided: "ok", cancelled: "neutral" };

/**
 * A proposal's state as a badge (the API's Japanese label when given).
 * @param {string} state
 * @param {string} [label]
 * @returns {HTMLSpanElement}
 */
export function stateBadge(state, label) {
  return badge(label || t(`prop.state.${state}`), STATE_TONE[state] || "neutral", { "data-state": state, "data-testid": "proposal-state" });
}

/**
 * 重要 as a red badge; nothing for 通常.
 * @param {string | null | undefined} importance
 * @returns {HTMLSpanElement | null}
 */
export function importanceBadge(importance) {
  return importance === "important" ? badge(t("prop.important"), "err", { "data-testid": "proposal-important" }) : null;
}

/**
 * "1-3,5" → [1, 2, 3, 5]; "" → null (every page). Throws RangeError on anything else.
 * @param {string} text
 * @returns {number[] | null}
 */
export function parsePages(text) {
  const s = text.replace(/\s+/g, "").replace(/[，、]/g, ",").replace(/[〜～ー−]/g, "-");
  if (!s) return null;
  /** @type {number[]} */
  const out = [];
  for (const part of s.split(",")) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m) throw new RangeError(part);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    if (a < 1 || b < 1 || Math.abs(b - a) > 2000) throw new RangeError(part);
    const step = a <= b ? 1 : -1;
    for (let n = a; step > 0 ? n <= b : n >= b; n += step) out.push(n);
  }
  if (out.length > 2000) throw new RangeError(s);
  return out;
}

/**
 * [1, 2, 3, 5] → "1-3,5"; null → "".
 * @param {number[] | null | undefined} pages
 * @returns {string}
 */
export function formatPages(pages) {
  if (!pages || !pages.length) return "";
  /** @type {string[]} */
  const parts = [];
  let start = pages[0];
  let prev = pages[0];
  for (const n of [...pages.slice(1), NaN]) {
    if (n === prev + 1) {
      prev = n;
      continue;
    }
    parts.push(start === prev ? String(start) : `${start}-${prev}`);
    start = prev = n;
  }
  return parts.join(",");
}

/**
 * @param {Record<string, Kura.PersonName> | undefined} users
 * @param {string | null | undefined} id
 * @returns {string}
 */
export function nameOf(users, id) {
  if (!id || !users) return "";
  const u = users[id];
  return u ? u.name : "";
}

/**
 * Put the API's messages under their inputs: a form's own fields are named `values.<key>` in
 * the page, the rest (title, route, attachments, dates) by their own name.
 * @param {HTMLFormElement} form
 * @param {unknown} err
 * @param {Kura.FormDefinition | null} [definition]
 * @param {string} [prefix] the name prefix of the form's fields ("values", "answers")
 */
export function showApiErrors(form, err, definition, prefix = "values") {
  if (!(err instanceof ApiError)) {
    showFormErrors(form, err);
    return;
  }
  const keys = new Set((definition ? definition.fields : []).map((f) => f.key));
  /** @type {Map<string, string>} */
  const fields = new Map();
  for (const [name, message] of err.fields) {
    if (!name) continue;
    fields.set(keys.has(name) ? `${prefix}.${name}` : name, message);
  }
  showFormErrors(form, { fields, title: err.title, detail: err.detail });
}

/**
 * @param {unknown} err
 * @returns {boolean} a 409 because someone changed the record first
 */
export function stale(err) {
  return err instanceof ApiError && err.status === 409 && err.code === "stale_version";
}

/**
 * The side of the signed-in user (who fills which 処理・回答 fields).
 * @param {Kura.Session | null} session
 * @returns {"orderer" | "contractor"}
 */
export function sideOf(session) {
  return session && session.org_kind === "orderer" ? "orderer" : "contractor";
}

/**
 * Once the user changes a field that was marked wrong, its message and aria-invalid go (the
 * rest stay until the next submit): a message under text already corrected reads as a new error.
 * @param {HTMLFormElement} form
 */
export function clearOnInput(form) {
  /** @param {Event} e */
  const clear = (e) => {
    const target = e.target instanceof Element ? e.target : null;
    const wrap = target ? target.closest(".field[data-field]") : null;
    if (!wrap || !form.contains(wrap)) return;
    const p = wrap.querySelector(".field-error");
    if (p instanceof HTMLElement && !p.hidden) {
      p.textContent = "";
      p.hidden = true;
    }
    wrap.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  };
  form.addEventListener("input", clear);
  form.addEventListener("change", clear);
}
