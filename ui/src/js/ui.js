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

import { t } from "./i18n.js";

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value" && "value" in el) el.value = v;
    else if (k === "checked" || k === "selected" || k === "disabled") {
      el[k] = Boolean(v);
      if (v) el.setAttribute(k, "");
    } else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let seq = 0;
export function uid(prefix = "f") {
  seq += 1;
  return `${prefix}-${seq}`;
}

export function field({ name, label, type = "text", value = "", required = false, testid, hint, autocomplete, attrs = {}, control }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : null;
  const errId = `${id}-error`;
  const input =
    control ||
    (type === "textarea"
      ? h("textarea", { id, name, required, "data-testid": testid, ...attrs }, value)
      : h("input", { id, name, type, value, required, autocomplete, "data-testid": testid, ...attrs }));
  if (control) {
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

/** options: [{ value, label }]; an empty first option when `blank` is a label. */
export function selectField({ name, label, options, value = "", required = false, testid, blank, hint }) {
  const sel = h(
    "select",
    {},
    blank !== undefined ? h("option", { value: "" }, blank) : null,
    options.map((o) => h("option", { value: o.value, selected: String(o.value) === String(value) }, o.label)),
  );
  return field({ name, label, required, testid, hint, control: sel });
}

export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") out[el.name] = el.checked;
    else out[el.name] = el.value;
  }
  return out;
}

export function clearFormErrors(form) {
  form.querySelectorAll(".field-error").forEach((p) => {
    p.textContent = "";
    p.hidden = true;
  });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  const box = form.querySelector("[data-form-error]");
  if (box) {
    box.textContent = "";
    box.hidden = true;
  }
}

export function setFieldError(form, name, message) {
  const wrap = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
  if (!wrap) return false;
  const p = wrap.querySelector(".field-error");
  const input = wrap.querySelector("input, select, textarea");
  p.textContent = message;
  p.hidden = false;
  if (input) input.setAttribute("aria-invalid", "true");
  return true;
}

export function showFormErrors(form, err) {
  clearFormErrors(form);
  const rest = [];
  let first = null;
  if (err && err.fields) {
    for (const [name, msg] of err.fields) {
      if (name && setFieldError(form, name, msg)) {
        first = first || form.querySelector(`.field[data-field="${CSS.escape(name)}"] input, .field[data-field="${CSS.escape(name)}"] select, .field[data-field="${CSS.escape(name)}"] textarea`);
      } else rest.push(msg);
    }
  }
  const box = form.querySelector("[data-form-error]");
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

export function formError() {
  return h("div", { class: "form-error", "data-form-error": "", role: "alert", tabindex: "-1", hidden: true });
}

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

/** A modal <dialog>; resolves with the chosen action's value (null on Esc/cancel). */
export function dialog({ title, body, actions, testid }) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const dlg = h("dialog", { class: "dialog", "aria-labelledby": titleId, "data-testid": testid });
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
        (actions || [{ label: t("common.close"), value: true, primary: true }]).map((a) =>
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

export function badge(text, tone = "neutral", attrs = {}) {
  return h("span", { class: `badge ${tone}`, ...attrs }, text);
}

const STATUS_TONE = { registered: "neutral", in_progress: "info", completed: "ok", archived: "archive" };
export function statusBadge(status) {
  return badge(t(`status.${status}`), STATUS_TONE[status] || "neutral", { "data-status": status });
}

export function pageHeader(title, ...actions) {
  return h("div", { class: "page-header" }, h("h1", { tabindex: "-1" }, title), actions.length ? h("div", { class: "page-actions" }, actions) : null);
}

export function empty(text) {
  return h("p", { class: "empty" }, text);
}

export function loading() {
  return h("p", { class: "loading", role: "status" }, t("app.loading"));
}

export function errorBox(err) {
  return h("div", { class: "error-box", role: "alert" }, h("strong", {}, (err && err.title) || t("error.load")), err && err.detail && err.detail !== err.title ? h("p", {}, err.detail) : null);
}

/** Trigger a browser download of an API URL (cookies go along; no fetch needed). */
export function download(url) {
  const a = h("a", { href: url, download: "" });
  document.body.append(a);
  a.click();
  a.remove();
}
