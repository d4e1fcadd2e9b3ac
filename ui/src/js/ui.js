// ui.js: small DOM helpers shared by every page. No framework: build elements with h().
//
//   import { h, clear, field, selectField, showFormErrors, clearFormErrors, formValues,
//            toast, confirmDialog, dialog, badge, statusBadge, pageHeader, empty, loading,
//            errorBox, busy, download } from "../ui.js";
//   h("button", { class: "btn primary", "data-testid": "x", onclick: fn }, t("common.save"))
//     attrs: class, text-free children (strings/nodes/arrays/null), on<event> handlers,
//     dataset via "data-*", boolean attributes (true adds, false/null omits).
//   field({ name, label, type, value, required, testid, hint, autocomplete, attrs })
//     → <div class="field"> label + input + hint + <p class="field-error" id=…-error>;
//     the input has name=<name>, aria-describedby pointing at the hint and error.
//   showFormErrors(form, apiError) puts each ApiError.fields message under the input with that
//     name (aria-invalid, focus on the first); other errors go to the form's [data-form-error]
//     box. Inputs are never cleared: "nothing is lost from a form on error".
//   toast(text, kind="info"|"ok"|"error"), confirmDialog(text) → Promise<boolean>,
//   dialog({ title, body, actions:[{label, value, primary}] , testid}) → Promise<value>.
//   busy(button, promiseFn) disables the button while the action runs.

import { ApiError } from "./api.js";
import { t, tk } from "./i18n.js";

/** @typedef {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} Control a form control */

/**
 * What showFormErrors() and errorBox() read of an error: an ApiError, messages made on the
 * page, or whatever a catch block caught (then only its string `title` / `detail` count).
 * @typedef {object} FormErrors
 * @property {Map<string, string>} [fields] field name → message
 * @property {string} [title]
 * @property {string} [detail]
 */

/**
 * @param {unknown} err
 * @returns {FormErrors | null}
 */
function formErrorsOf(err) {
  if (typeof err !== "object" || err === null) return null;
  const { fields, title, detail } = /** @type {{ fields?: unknown, title?: unknown, detail?: unknown }} */ (err);
  return {
    fields: fields instanceof Map ? fields : undefined,
    title: typeof title === "string" ? title : undefined,
    detail: typeof detail === "string" ? detail : undefined,
  };
}

/**
 * The Japanese message of a caught error: the API's (detail, else title), else a generic one.
 * @param {unknown} err
 * @returns {string}
 */
export function errorMessage(err) {
  return err instanceof ApiError ? err.detail || err.title : t("error.generic");
}

/**
 * Create an element: `h("button", { class: "btn", onclick: fn }, "text", node)`.
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
    if (k === "class") el.className = String(v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (k === "value" && "value" in el) el.value = v;
    else if (k === "checked" || k === "selected" || k === "disabled") {
      Object.assign(el, { [k]: Boolean(v) });
      if (v) el.setAttribute(k, "");
    } else el.setAttribute(k, v === true ? "" : String(v));
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

let seq = 0;
/**
 * A new element id, unique in the page: "<prefix>-<n>".
 * @param {string} [prefix]
 * @returns {string}
 */
export function uid(prefix = "f") {
  seq += 1;
  return `${prefix}-${seq}`;
}

/**
 * @typedef {object} FieldOptions
 * @property {string} name the control's name (and the key of its API error)
 * @property {string} label
 * @property {string} [type] input type, or "textarea"
 * @property {string | number} [value]
 * @property {boolean} [required]
 * @property {string} [testid]
 * @property {string} [hint]
 * @property {string} [autocomplete]
 * @property {Kura.Attrs} [attrs] more attributes of the input
 * @property {HTMLSelectElement} [control] a ready control instead of the input
 */

/**
 * A labelled form field: label, control, hint and the error line showFormErrors() fills.
 * @param {FieldOptions} options
 * @returns {HTMLDivElement}
 */
export function field({ name, label, type = "text", value = "", required = false, testid, hint, autocomplete, attrs = {}, control: ready }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : null;
  const errId = `${id}-error`;
  const input =
    ready ||
    (type === "textarea"
      ? h("textarea", { id, name, required, "data-testid": testid, ...attrs }, value)
      : h("input", { id, name, type, value, required, autocomplete, "data-testid": testid, ...attrs }));
  if (ready) {
    input.id = id;
    input.name = name;
    if (required) input.required = true;
    if (testid) input.dataset.testid = testid;
  }
  input.setAttribute("aria-describedby", [hintId, errId].filter(Boolean).join(" "));
  return h(
    "div",
    { class: "field", "data-field": name },
    h("label", { for: id }, label, required ? h("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    input,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    h("p", { class: "field-error", id: errId, role: "alert", hidden: true }),
  );
}

/**
 * A labelled <select>; an empty first option when `blank` is a label.
 * @param {{ name: string, label: string, options: { value: string, label: string }[], value?: string,
 *   required?: boolean, testid?: string, blank?: string, hint?: string }} options
 * @returns {HTMLDivElement}
 */
export function selectField({ name, label, options, value = "", required = false, testid, blank, hint }) {
  const sel = h(
    "select",
    {},
    blank !== undefined ? h("option", { value: "" }, blank) : null,
    options.map((o) => h("option", { value: o.value, selected: String(o.value) === String(value) }, o.label)),
  );
  return field({ name, label, required, testid, hint, control: sel });
}

/**
 * The form's control called `name`, as `form.elements[name]` finds it; throws when there is
 * none (a page asking for a field it did not build).
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {Control}
 */
export function control(form, name) {
  const el = form.elements.namedItem(name);
  if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) return el;
  throw new Error(`form control "${name}" not found`);
}

/**
 * The values of a form's enabled, named controls (checkboxes as booleans).
 * @param {HTMLFormElement} form
 * @returns {Record<string, string | boolean>}
 */
export function formValues(form) {
  /** @type {Record<string, string | boolean>} */
  const out = {};
  for (const el of form.elements) {
    if (!(el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement)) continue;
    if (!el.name || el.disabled) continue;
    if (el instanceof HTMLInputElement && el.type === "checkbox") out[el.name] = el.checked;
    else out[el.name] = el.value;
  }
  return out;
}

/** @param {HTMLFormElement} form */
export function clearFormErrors(form) {
  form.querySelectorAll(".field-error").forEach((p) => {
    p.textContent = "";
    if (p instanceof HTMLElement) p.hidden = true;
  });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const box = form.querySelector("[data-form-error]");
  if (box instanceof HTMLElement) {
    box.textContent = "";
    box.hidden = true;
  }
}

/**
 * Show `message` under the field called `name`; false when the form has no such field.
 * @param {HTMLFormElement} form
 * @param {string} name
 * @param {string} message
 * @returns {boolean}
 */
export function setFieldError(form, name, message) {
  const wrap = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
  if (!wrap) return false;
  const p = wrap.querySelector(".field-error");
  const input = wrap.querySelector("input, select, textarea");
  if (p instanceof HTMLElement) {
    p.textContent = message;
    p.hidden = false;
  }
  if (input) input.setAttribute("aria-invalid", "true");
  return true;
}

/**
 * Put each message of `err.fields` under its field; the rest, with the headline, in the
 * form's [data-form-error] box (a toast when there is none). Focus goes to the first bad field.
 * @param {HTMLFormElement} form
 * @param {FormErrors | unknown} caught an ApiError, FormErrors, or anything caught
 */
export function showFormErrors(form, caught) {
  const err = formErrorsOf(caught);
  clearFormErrors(form);
  /** @type {string[]} */
  const rest = [];
  /** @type {HTMLElement | null} */
  let first = null;
  if (err && err.fields) {
    for (const [name, msg] of err.fields) {
      if (name && setFieldError(form, name, msg)) {
        first = first || form.querySelector(`.field[data-field="${CSS.escape(name)}"] input, .field[data-field="${CSS.escape(name)}"] select, .field[data-field="${CSS.escape(name)}"] textarea`);
      } else rest.push(msg);
    }
  }
  const found = form.querySelector("[data-form-error]");
  const box = found instanceof HTMLElement ? found : null;
  const headline = err && err.fields && err.fields.size ? t("error.form") : (err && (err.detail || err.title)) || t("error.generic");
  if (box) {
    box.textContent = "";
    box.append(h("strong", {}, headline));
    if (err && err.fields && err.fields.size && err.detail && err.detail !== headline && !rest.length) {
      /* field messages say it all */
    }
    rest.forEach((m) => box.append(h("div", {}, m)));
    box.hidden = false;
  } else toast(headline, "error");
  if (first) first.focus();
  else if (box) box.focus();
}

/** @returns {HTMLDivElement} the form's error box (showFormErrors fills it) */
export function formError() {
  return h("div", { class: "form-error", "data-form-error": "", role: "alert", tabindex: "-1", hidden: true });
}

/**
 * Run `fn` with `button` disabled (and aria-busy) until it settles.
 * @template T
 * @param {HTMLButtonElement} button
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function busy(button, fn) {
  const was = button.disabled;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } finally {
    button.disabled = was;
    button.removeAttribute("aria-busy");
  }
}

/**
 * A transient message at the bottom right (errors stay 8 s, others 4 s).
 * @param {string} text
 * @param {"info" | "ok" | "error"} [kind]
 */
export function toast(text, kind = "info") {
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  const el = h("div", { class: `toast ${kind}`, "data-testid": "toast" }, text);
  region.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

/**
 * @typedef {object} DialogAction
 * @property {string} label
 * @property {unknown} value what dialog() resolves with when this button is chosen
 * @property {boolean} [primary]
 * @property {boolean} [danger]
 * @property {string} [testid]
 */

/**
 * A modal <dialog>; resolves with the chosen action's value (null on Esc/cancel).
 * @param {{ title: string, body: Kura.Child, actions?: DialogAction[], testid?: string }} options
 * @returns {Promise<unknown>}
 */
export function dialog({ title, body, actions, testid }) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const dlg = h("dialog", { class: "dialog", "aria-labelledby": titleId, "data-testid": testid });
    /** @param {unknown} v */
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    dlg.append(
      h("h2", { id: titleId }, title),
      h("div", { class: "dialog-body" }, body),
      h(
        "div",
        { class: "dialog-actions" },
        (actions || [{ label: t("common.close"), value: true, primary: true }]).map((/** @type {DialogAction} */ a) =>
          h("button", { type: "button", class: `btn ${a.primary ? "primary" : ""} ${a.danger ? "danger" : ""}`, "data-testid": a.testid, onclick: () => done(a.value) }, a.label),
        ),
      ),
    );
    dlg.addEventListener("cancel", (e) => {
      e.preventDefault();
      done(null);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/**
 * Ask a yes/no question; true when the user confirms.
 * @param {string} text
 * @param {{ danger?: boolean, okLabel?: string }} [options]
 * @returns {Promise<boolean>}
 */
export async function confirmDialog(text, { danger = false, okLabel } = {}) {
  const v = await dialog({
    title: t("common.confirm"),
    body: h("p", {}, text),
    testid: "confirm-dialog",
    actions: [
      { label: t("common.cancel"), value: false, testid: "confirm-cancel" },
      { label: okLabel || t("common.yes"), value: true, primary: !danger, danger, testid: "confirm-ok" },
    ],
  });
  return v === true;
}

/**
 * @param {string} text
 * @param {string} [tone] neutral, info, ok, warn, err, archive
 * @param {Kura.Attrs} [attrs]
 * @returns {HTMLSpanElement}
 */
export function badge(text, tone = "neutral", attrs = {}) {
  return h("span", { class: `badge ${tone}`, ...attrs }, text);
}

/** @type {Record<string, string>} */
const STATUS_TONE = { registered: "neutral", in_progress: "info", completed: "ok", archived: "archive" };
/**
 * A work status as a coloured badge, in the words of the kind of work (施工中 / 履行中).
 * @param {string} status
 * @param {string | null} [kind] "construction" or "service"
 * @returns {HTMLSpanElement}
 */
export function statusBadge(status, kind) {
  return badge(tk(`status.${status}`, kind), STATUS_TONE[status] || "neutral", { "data-status": status });
}

/**
 * The page's <h1> with its action buttons.
 * @param {string} title
 * @param {...Kura.Child} actions
 * @returns {HTMLDivElement}
 */
export function pageHeader(title, ...actions) {
  return h("div", { class: "page-header" }, h("h1", { tabindex: "-1" }, title), actions.length ? h("div", { class: "page-actions" }, actions) : null);
}

/**
 * @param {string} text
 * @returns {HTMLParagraphElement}
 */
export function empty(text) {
  return h("p", { class: "empty" }, text);
}

/** @returns {HTMLParagraphElement} */
export function loading() {
  return h("p", { class: "loading", role: "status" }, t("app.loading"));
}

/**
 * An error shown in place of the content (an ApiError, or a title made by the page).
 * @param {FormErrors | unknown} caught
 * @returns {HTMLDivElement}
 */
export function errorBox(caught) {
  const err = formErrorsOf(caught);
  return h("div", { class: "error-box", role: "alert" }, h("strong", {}, (err && err.title) || t("error.load")), err && err.detail && err.detail !== err.title ? h("p", {}, err.detail) : null);
}

/**
 * Trigger a browser download of an API URL (cookies go along; no fetch needed).
 * @param {string} url
 */
export function download(url) {
  const a = h("a", { href: url, download: "" });
  document.body.append(a);
  a.click();
  a.remove();
}
