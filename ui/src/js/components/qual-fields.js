// qual-fields.js: form fields of the qualification application, bound to a values object by
// a dotted path ("company.name"). Every field has a visible label (never a placeholder), the
// guide's hint as text, and an error line tied to the control (aria-describedby,
// aria-invalid) that starts with the word エラー (never colour alone); a conversion the
// server offers (`suggestion`) is a button beside the error: nothing is converted silently.
// No control is ever disabled or read-only (デジタル庁 design system): a choice that does not
// apply is replaced by a sentence saying why.
//
//   const form = qualForm(values, onChange);
//   form.text({ path, label, hint, inputmode, autocomplete, size })
//   form.radios({ path, legend, options: [{ value, label }], hint })
//   form.select({ path, label, options, blank, hint })
//   form.checks({ path, legend, options, hint })      // a list of codes
//   form.showErrors(errors)   // put each error beside its field; returns the summary element
//   form.focus(path)

import { t } from "../i18n.js";
import { h, uid } from "../ui.js";

/** The qualification pages' stylesheet, linked once (css/qual.css). */
export function qualStyles() {
  if (!document.getElementById("qual-css")) document.head.append(h("link", { id: "qual-css", rel: "stylesheet", href: "css/qual.css" }));
}

/**
 * @param {Kura.QualValues} obj
 * @param {string} path
 * @returns {any}
 */
export function getPath(obj, path) {
  /** @type {any} */
  let node = obj;
  for (const part of path.split(".")) {
    if (node === null || node === undefined) return undefined;
    node = Array.isArray(node) ? node[Number(part)] : node[part];
  }
  return node;
}

/**
 * @param {Kura.QualValues} obj
 * @param {string} path
 * @param {any} value
 */
export function setPath(obj, path, value) {
  const parts = path.split(".");
  /** @type {any} */
  let node = obj;
  for (const part of parts.slice(0, -1)) {
    const key = Array.isArray(node) ? Number(part) : part;
    if (node[key] === null || node[key] === undefined || typeof node[key] !== "object") node[key] = {};
    node = node[key];
  }
  const last = parts[parts.length - 1];
  node[Array.isArray(node) ? Number(last) : last] = value;
}

/** @typedef {{ value: string, label: string }} Option */

/**
 * @typedef {object} Slot a field's place: its wrapper, its error line and focusable control
 * @property {HTMLElement} wrap
 * @property {HTMLElement} error
 * @property {HTMLElement} control
 * @property {HTMLElement[]} inputs
 */

/**
 * @param {Kura.QualValues} values the draft's values (changed in place)
 * @param {(path: string) => void} onChange called after a control changed a value
 */
export function qualForm(values, onChange) {
  /** @type {Map<string, Slot>} */
  const slots = new Map();

  /**
   * @param {string} path
   * @param {HTMLElement} wrap
   * @param {HTMLElement} control
   * @param {HTMLElement[]} inputs
   * @param {string | null} hintId
   * @returns {HTMLElement} the error line
   */
  function register(path, wrap, control, inputs, hintId) {
    const errId = `${control.id || uid("q")}-error`;
    const error = h("div", { class: "qerror", id: errId, hidden: true, "data-testid": `error-${path}` });
    for (const input of inputs) input.setAttribute("aria-describedby", [hintId, errId].filter(Boolean).join(" "));
    slots.set(path, { wrap, error, control, inputs });
    wrap.dataset.path = path;
    return error;
  }

  /**
   * A text input.
   * @param {{ path: string, label: string, hint?: string, type?: string, inputmode?: string,
   *   autocomplete?: string, size?: string, required?: boolean }} o
   */
  function text(o) {
    const id = uid("q");
    const hintId = o.hint ? `${id}-hint` : null;
    const input = h("input", {
      id,
      name: o.path,
      type: o.type || "text",
      value: String(getPath(values, o.path) ?? ""),
      inputmode: o.inputmode,
      autocomplete: o.autocomplete || "off",
      class: `qinput ${o.size || ""}`,
      "data-testid": `f-${o.path}`,
    });
    // What is typed joins the values at once, so a redraw of the step (another field's
    // change) before this field's own change event keeps it; the change event saves.
    input.addEventListener("input", () => setPath(values, o.path, input.value));
    input.addEventListener("change", () => {
      setPath(values, o.path, input.value);
      onChange(o.path);
    });
    const wrap = h("div", { class: "qfield" });
    const error = register(o.path, wrap, input, [input], hintId);
    wrap.append(
      h("label", { for: id }, o.label, o.required ? h("span", { class: "qreq" }, t("qual.required")) : null),
      ...(o.hint ? [h("p", { class: "qhint", id: hintId }, o.hint)] : []),
      input,
      error,
    );
    return wrap;
  }

  /**
   * A group of radio buttons.
   * @param {{ path: string, legend: string, options: Option[], hint?: string, required?: boolean }} o
   */
  function radios(o) {
    const name = uid("r");
    const hintId = o.hint ? `${name}-hint` : null;
    const current = String(getPath(values, o.path) ?? "");
    const inputs = o.options.map((opt) => {
      const input = h("input", { type: "radio", name, value: opt.value, id: `${name}-${opt.value}`, checked: current === opt.value, "data-testid": `f-${o.path}-${opt.value}` });
      input.addEventListener("change", () => {
        if (!input.checked) return;
        setPath(values, o.path, opt.value);
        onChange(o.path);
      });
      return input;
    });
    const set = h("fieldset", { class: "qfield qradios", id: `${name}-set` });
    const error = register(o.path, set, inputs[0], inputs, hintId);
    set.append(
      h("legend", {}, o.legend, o.required ? h("span", { class: "qreq" }, t("qual.required")) : null),
      ...(o.hint ? [h("p", { class: "qhint", id: hintId }, o.hint)] : []),
      h("div", { class: "qchoices" }, inputs.map((input, i) => h("label", { class: "qchoice", for: input.id }, input, o.options[i].label))),
      error,
    );
    return set;
  }

  /**
   * A select.
   * @param {{ path: string, label: string, options: Option[], blank?: string, hint?: string,
   *   required?: boolean, onPick?: (value: string) => void }} o
   */
  function select(o) {
    const id = uid("q");
    const hintId = o.hint ? `${id}-hint` : null;
    const current = String(getPath(values, o.path) ?? "");
    const sel = h(
      "select",
      { id, name: o.path, class: "qinput", "data-testid": `f-${o.path}` },
      o.blank !== undefined ? h("option", { value: "" }, o.blank) : null,
      o.options.map((opt) => h("option", { value: opt.value, selected: opt.value === current }, opt.label)),
    );
    sel.addEventListener("change", () => {
      setPath(values, o.path, sel.value);
      if (o.onPick) o.onPick(sel.value);
      onChange(o.path);
    });
    const wrap = h("div", { class: "qfield" });
    const error = register(o.path, wrap, sel, [sel], hintId);
    wrap.append(
      h("label", { for: id }, o.label, o.required ? h("span", { class: "qreq" }, t("qual.required")) : null),
      ...(o.hint ? [h("p", { class: "qhint", id: hintId }, o.hint)] : []),
      sel,
      error,
    );
    return wrap;
  }

  /**
   * Checkboxes over a list of codes.
   * @param {{ path: string, legend: string, options: Option[], hint?: string, testid?: string }} o
   */
  function checks(o) {
    const name = uid("c");
    const hintId = o.hint ? `${name}-hint` : null;
    /** @returns {string[]} */
    const chosen = () => {
      const v = getPath(values, o.path);
      return Array.isArray(v) ? v.map(String) : [];
    };
    const inputs = o.options.map((opt) => {
      const input = h("input", { type: "checkbox", id: `${name}-${opt.value}`, value: opt.value, checked: chosen().includes(opt.value), "data-testid": `f-${o.path}-${opt.value}` });
      input.addEventListener("change", () => {
        const now = chosen().filter((x) => x !== opt.value);
        if (input.checked) now.push(opt.value);
        // keep the list order of the options
        setPath(values, o.path, o.options.map((x) => x.value).filter((v) => now.includes(v)));
        onChange(o.path);
      });
      return input;
    });
    const set = h("fieldset", { class: "qfield qchecks", "data-testid": o.testid });
    const error = register(o.path, set, inputs[0] || set, inputs, hintId);
    set.append(
      h("legend", {}, o.legend),
      ...(o.hint ? [h("p", { class: "qhint", id: hintId }, o.hint)] : []),
      h("div", { class: "qchoices" }, inputs.map((input, i) => h("label", { class: "qchoice", for: input.id }, input, o.options[i].label))),
      error,
    );
    return set;
  }

  /**
   * Show each error beside its field (the others only in the summary).
   * @param {Kura.QualError[]} errors
   * @param {(path: string, value: string) => void} onConvert apply an offered conversion
   */
  function showErrors(errors, onConvert) {
    for (const slot of slots.values()) {
      slot.error.hidden = true;
      slot.error.textContent = "";
      for (const input of slot.inputs) input.removeAttribute("aria-invalid");
      slot.wrap.classList.remove("has-error");
    }
    for (const e of errors) {
      const slot = slots.get(e.field);
      if (!slot) continue;
      if (!slot.error.hidden) {
        slot.error.append(h("p", {}, `${t("qual.error.prefix")}${e.message}`));
      } else {
        slot.error.hidden = false;
        slot.error.append(h("p", {}, `${t("qual.error.prefix")}${e.message}`));
      }
      if (e.suggestion !== undefined && e.suggestion !== null) {
        const value = e.suggestion;
        slot.error.append(
          h("button", { type: "button", class: "btn small", "data-testid": `convert-${e.field}`, onclick: () => onConvert(e.field, value) }, t("qual.convert", { value })),
        );
      }
      for (const input of slot.inputs) input.setAttribute("aria-invalid", "true");
      slot.wrap.classList.add("has-error");
    }
  }

  /** @param {string} path */
  function focus(path) {
    const slot = slots.get(path) || [...slots.entries()].find(([p]) => path.startsWith(`${p}.`))?.[1];
    if (slot) {
      slot.wrap.scrollIntoView({ block: "center" });
      slot.control.focus();
    }
  }

  /** @param {string} path */
  function has(path) {
    return slots.has(path);
  }

  return { text, radios, select, checks, showErrors, focus, has };
}

/**
 * The list of errors at the top of a step (第2 3 ※②: 画面の上方にエラーメッセージ), each a
 * button that moves to its field.
 * @param {Kura.QualError[]} errors
 * @param {(path: string) => void} go
 * @returns {HTMLElement}
 */
export function errorSummary(errors, go) {
  if (!errors.length) return h("div", { class: "qsummary-empty", hidden: true });
  return h(
    "div",
    { class: "qsummary", role: "alert", tabindex: "-1", "data-testid": "error-summary" },
    h("h2", {}, t("qual.errors.title", { n: errors.length })),
    h("p", {}, t("qual.errors.intro")),
    h(
      "ul",
      {},
      errors.map((e) =>
        h("li", {}, h("button", { type: "button", class: "linklike", onclick: () => go(e.field) }, `${e.label}：${e.message}`)),
      ),
    ),
  );
}
