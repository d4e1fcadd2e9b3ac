// proposal-fields.js: the inputs of a form definition (forms are data: api/proposals/forms.py),
// and its values read back; or the values shown as text.
//
//   const f = formFields({ definition, values, part: "proposal" });  form.append(f.el);
//   f.values()   → { key: value } of the visible fields (empty ones left out)
//   shownValues(definition, values, part) → a <dl> of the filled fields, in the layout's order
//
// Each field is a `.field[data-field="<prefix>.<key>"]` (showFormErrors puts the API's message
// for `<key>` there, see proposal-kit showApiErrors) with `data-testid="pf-<key>"`. A field with
// `show_if` shows only while the other field has the value named (and is then neither sent nor
// required). Types: text, textarea, date, number, choice (radio buttons up to 8 choices, else a
// list), multichoice (check boxes), boolean (one check box), table (rows of cells, add/remove).

import { t } from "../i18n.js";
import { h, uid } from "../ui.js";

const RADIO_MAX = 8;

/**
 * @param {unknown} v
 * @returns {boolean}
 */
function empty(v) {
  return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
}

/**
 * A value as text (as the printed form shows it).
 * @param {Kura.FormField} field
 * @param {unknown} value
 * @returns {string}
 */
export function display(field, value) {
  if (empty(value)) return "";
  if (field.type === "multichoice" && Array.isArray(value)) return value.join("、");
  if (field.type === "boolean") return value ? t("prop.yes") : t("prop.no");
  if (field.type === "date") return String(value).replaceAll("-", "/");
  if (field.type === "number" && typeof value === "number") return value.toLocaleString("ja-JP");
  return String(value);
}

/**
 * @param {Kura.FormField} field
 * @param {Record<string, unknown>} values
 * @returns {boolean}
 */
function visible(field, values) {
  if (!field.show_if) return true;
  return values[field.show_if.field] === field.show_if.equals;
}

/**
 * The inputs of the fields of `part` (the answer part: only `sides` may be filled).
 * @param {{ definition: Kura.FormDefinition, values?: Record<string, unknown>, part?: "proposal" | "answer",
 *   sides?: string[], prefix?: string, onChange?: () => void }} options
 * @returns {{ el: HTMLDivElement, values: () => Record<string, unknown> }}
 */
export function formFields({ definition, values = {}, part = "proposal", sides, prefix = "values", onChange }) {
  const fields = definition.fields.filter((f) => (f.part || "proposal") === part && (!sides || part !== "answer" || sides.includes(f.side || "any")));
  /** @type {Map<string, { field: Kura.FormField, wrap: HTMLElement, read: () => unknown }>} */
  const made = new Map();
  const el = h("div", { class: "pf-grid" });
  for (const field of fields) {
    const built = build(field, values[field.key], prefix);
    made.set(field.key, { field, wrap: built.wrap, read: built.read });
    el.append(built.wrap);
  }

  /** @returns {Record<string, unknown>} every field's raw value (hidden ones too) */
  function raw() {
    /** @type {Record<string, unknown>} */
    const out = { ...values };
    for (const [key, m] of made) out[key] = m.read();
    return out;
  }

  function refresh() {
    const now = raw();
    for (const m of made.values()) m.wrap.hidden = !visible(m.field, now);
  }
  el.addEventListener("input", () => {
    refresh();
    if (onChange) onChange();
  });
  el.addEventListener("change", () => {
    refresh();
    if (onChange) onChange();
  });
  refresh();

  return {
    el,
    values() {
      const now = raw();
      /** @type {Record<string, unknown>} */
      const out = {};
      for (const [key, m] of made) {
        if (!visible(m.field, now)) continue;
        const v = now[key];
        if (!empty(v)) out[key] = v;
      }
      return out;
    },
  };
}

/**
 * @param {Kura.FormField} field
 * @param {unknown} value
 * @param {string} prefix
 * @returns {{ wrap: HTMLElement, read: () => unknown }}
 */
function build(field, value, prefix) {
  const id = uid(`pf-${field.key}`);
  const errId = `${id}-error`;
  const hintId = field.help ? `${id}-hint` : null;
  const describedBy = [hintId, errId].filter(Boolean).join(" ");
  const name = `${prefix}.${field.key}`;
  const req = field.required ? h("span", { class: "req", title: t("prop.required_at_submit") }, " *") : null;
  const hint = field.help ? h("p", { class: "hint", id: hintId }, field.help) : null;
  const error = h("p", { class: "field-error", id: errId, role: "alert", hidden: true });
  const testid = `pf-${field.key}`;
  const choices = field.choices || [];

  if ((field.type === "choice" && choices.length <= RADIO_MAX) || field.type === "multichoice") {
    const multi = field.type === "multichoice";
    const chosen = multi ? (Array.isArray(value) ? value.map(String) : []) : [String(value ?? "")];
    const boxes = choices.map((c, i) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: multi ? "checkbox" : "radio", name, value: c, id: `${id}-${i}`, checked: chosen.includes(c), "aria-describedby": describedBy }),
        ` ${c}`,
      ),
    );
    const set = h("fieldset", { class: "field pf-choices", "data-field": name, "data-testid": testid }, h("legend", {}, field.label, req), h("div", { class: "check-row" }, boxes), hint, error);
    const read = () => {
      const on = boxes.map((b) => b.querySelector("input")).filter((x) => x instanceof HTMLInputElement && x.checked);
      const vals = on.map((x) => (x instanceof HTMLInputElement ? x.value : ""));
      return multi ? vals : vals[0] || "";
    };
    if (!multi) {
      // A chosen radio can be cleared again (a draft may leave it empty).
      const clearBtn = h("button", { type: "button", class: "btn small link", "data-testid": `${testid}-clear` }, t("prop.clear_choice"));
      clearBtn.addEventListener("click", () => {
        for (const b of boxes) {
          const x = b.querySelector("input");
          if (x) x.checked = false;
        }
        set.dispatchEvent(new Event("change", { bubbles: true }));
      });
      set.querySelector(".check-row")?.append(clearBtn);
    }
    return { wrap: set, read };
  }

  if (field.type === "table") return table(field, value, { id, name, req, hint, error, testid });

  /** @type {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} */
  let input;
  if (field.type === "textarea") {
    input = h("textarea", { id, name, rows: "5", maxlength: field.max_length ? String(field.max_length) : null }, String(value ?? ""));
  } else if (field.type === "choice") {
    input = h("select", { id, name }, h("option", { value: "" }, t("prop.choose")), choices.map((c) => h("option", { value: c, selected: c === value }, c)));
  } else if (field.type === "boolean") {
    input = h("input", { id, name, type: "checkbox", checked: value === true });
  } else {
    const type = field.type === "date" ? "date" : field.type === "number" ? "number" : "text";
    input = h("input", {
      id,
      name,
      type,
      value: value === undefined || value === null ? "" : String(value),
      maxlength: type === "text" && field.max_length ? String(field.max_length) : null,
      min: field.min !== undefined ? String(field.min) : null,
      max: field.max !== undefined ? String(field.max) : null,
      step: type === "number" ? "any" : null,
    });
  }
  input.setAttribute("aria-describedby", describedBy);
  input.dataset.testid = `${testid}-input`;
  const wrap =
    field.type === "boolean"
      ? h("div", { class: "field", "data-field": name, "data-testid": testid }, h("label", { class: "check", for: id }, input, " ", field.label, req), hint, error)
      : h("div", { class: `field${field.type === "textarea" ? " pf-wide" : ""}`, "data-field": name, "data-testid": testid }, h("label", { for: id }, field.label, req), input, hint, error);
  const read = () => {
    if (input instanceof HTMLInputElement && input.type === "checkbox") return input.checked;
    const v = input.value;
    if (field.type === "number") return v === "" ? "" : Number(v);
    return v;
  };
  return { wrap, read };
}

/**
 * A table field: one row of inputs per row, add and remove rows.
 * @param {Kura.FormField} field
 * @param {unknown} value
 * @param {{ id: string, name: string, req: HTMLElement | null, hint: HTMLElement | null, error: HTMLElement, testid: string }} parts
 * @returns {{ wrap: HTMLElement, read: () => unknown }}
 */
function table(field, value, { id, name, req, hint, error, testid }) {
  const columns = field.columns || [];
  const max = field.max_rows || 20;
  const body = h("tbody", {});
  /** @param {Record<string, unknown>} [row] */
  const addRow = (row = {}) => {
    const n = body.children.length + 1;
    const cells = columns.map((c) => {
      const type = c.type === "number" ? "number" : c.type === "date" ? "date" : "text";
      return h(
        "td",
        {},
        h("input", {
          type,
          "data-col": c.key,
          step: type === "number" ? "any" : null,
          value: row[c.key] === undefined || row[c.key] === null ? "" : String(row[c.key]),
          "aria-label": t("prop.table_cell", { label: c.label, n }),
        }),
      );
    });
    const remove = h("button", { type: "button", class: "btn small", "aria-label": t("prop.table_remove_row", { n }) }, "×");
    const tr = h("tr", {}, cells, h("td", {}, remove));
    remove.addEventListener("click", () => {
      tr.remove();
      body.dispatchEvent(new Event("change", { bubbles: true }));
    });
    body.append(tr);
  };
  for (const row of Array.isArray(value) ? value : []) addRow(row && typeof row === "object" ? /** @type {Record<string, unknown>} */ (row) : {});
  const add = h("button", { type: "button", class: "btn small", "data-testid": `${testid}-add` }, t("prop.table_add_row"));
  add.addEventListener("click", () => {
    if (body.children.length < max) addRow();
  });
  const wrap = h(
    "fieldset",
    { class: "field pf-wide pf-table", "data-field": name, "data-testid": testid, id },
    h("legend", {}, field.label, req),
    h("div", { class: "table-wrap" }, h("table", { class: "data" }, h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)), h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("common.actions"))))), body)),
    add,
    hint,
    error,
  );
  const read = () =>
    [...body.querySelectorAll("tr")]
      .map((tr) => {
        /** @type {Record<string, unknown>} */
        const row = {};
        for (const input of tr.querySelectorAll("input[data-col]")) {
          if (!(input instanceof HTMLInputElement) || input.value === "") continue;
          row[input.dataset.col || ""] = input.type === "number" ? Number(input.value) : input.value;
        }
        return row;
      })
      .filter((row) => Object.keys(row).length);
  return { wrap, read };
}

/**
 * The filled fields of `part` as a description list, in the print layout's order.
 * @param {Kura.FormDefinition} definition
 * @param {Record<string, unknown>} values
 * @param {{ part?: "proposal" | "answer", testid?: string }} [options]
 * @returns {HTMLElement}
 */
export function shownValues(definition, values, { part = "proposal", testid } = {}) {
  const byKey = new Map(definition.fields.map((f) => [f.key, f]));
  const order = [...definition.layout.sections.flatMap((s) => s.fields), ...definition.fields.map((f) => f.key)];
  const seen = new Set();
  const dl = h("dl", { class: "props pf-values", "data-testid": testid });
  for (const key of order) {
    if (seen.has(key)) continue;
    seen.add(key);
    const field = byKey.get(key);
    if (!field || (field.part || "proposal") !== part || !visible(field, values)) continue;
    const value = values[key];
    if (empty(value)) continue;
    /** @type {Kura.Child} */
    let shown = display(field, value);
    if (field.type === "table" && Array.isArray(value)) {
      const cols = field.columns || [];
      shown = h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data" },
          h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c.label)))),
          h(
            "tbody",
            {},
            value.map((row) => h("tr", {}, cols.map((c) => h("td", {}, String((row && row[c.key]) ?? ""))))),
          ),
        ),
      );
    }
    dl.append(h("dt", {}, field.label), h("dd", { class: field.type === "textarea" ? "pf-text" : "", "data-key": key }, shown));
  }
  if (!dl.children.length) return h("p", { class: "muted", "data-testid": testid }, t("prop.no_values"));
  return dl;
}
