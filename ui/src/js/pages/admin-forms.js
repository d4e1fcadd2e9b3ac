// Proposal forms (#/admin/proposal-forms[/<id>|/new]; issue 10 §1: forms are data): operators
// keep the system-wide forms, an orderer's holder of `proposals.forms` its own organization's.
// The list shows every form with its version and state (使用中 / 使用終了); the editor adds a
// form or revises one (a new version: proposals made with older versions keep theirs): name,
// kinds of work, the fields (type, required, length, choices, defaults from the work's basic
// information, 1(3), show-if, the 処理・回答 part and its side), the printed layout, and the
// definition as JSON for a copy elsewhere. The API checks the definition (unknown types, loops
// between fields, a layout naming unknown fields) and its messages show by the field.
// Test ids: forms-page, forms-table, forms-row (data-id), form-new, form-toggle, form-editor,
// fe-name, fe-kind-<kind>, fe-description, fe-fields, fe-field (data-key), fe-key, fe-label,
// fe-type, fe-required, fe-part, fe-side, fe-length, fe-choices, fe-default-kind,
// fe-default-value, fe-help, fe-field-up, fe-field-down, fe-field-remove, fe-add-field,
// fe-sections, fe-section, fe-section-heading, fe-section-style, fe-section-fields,
// fe-add-section, fe-print-title, fe-stamps, fe-json, fe-json-apply, fe-preview, fe-save,
// fe-versions, fe-error.
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { adminLayout } from "./admin.js";
import { badge, busy, clear, empty, formError, h, pageHeader, showFormErrors, toast, uid } from "../ui.js";
import { formFields } from "../components/proposal-fields.js";
import { ensureProposalStyles } from "../components/proposal-kit.js";

const SECTION = "/admin/proposal-forms";
const STYLES = ["kv", "text", "checks", "table"];

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureProposalStyles();
  const content = adminLayout(root, ctx, SECTION);
  const id = typeof params.id === "string" ? params.id : null;
  const operator = ctx.session?.org_kind === "operator";
  const orgId = operator ? null : ctx.session ? ctx.session.user.org_id : null;
  /** @type {Kura.FormList} */
  const list = await api.get("/proposal-forms", { include_inactive: "true", ...(orgId ? { org_id: orgId } : {}) });
  if (!id) {
    ctx.setTitle(t("prop.forms.title"));
    listPage(content, list, operator, orgId);
    return;
  }
  /** @type {Kura.FormDetail | null} */
  const detail = id === "new" ? null : await api.get(`/proposal-forms/${encodeURIComponent(id)}`);
  ctx.setTitle(detail ? detail.form.name : t("prop.forms.new"));
  editor(content, list, detail, orgId, ctx);
}

/**
 * @param {HTMLElement} content
 * @param {Kura.FormList} list
 * @param {boolean} operator
 * @param {string | null} orgId
 */
function listPage(content, list, operator, orgId) {
  const mine = list.items.filter((f) => operator || f.org_id === orgId);
  content.append(
    pageHeader(t("prop.forms.title"), h("a", { class: "btn primary", href: `#${SECTION}/new`, "data-testid": "form-new" }, t("prop.forms.new"))),
    h("p", { class: "small muted" }, operator ? t("prop.forms.help_operator") : t("prop.forms.help_org")),
    h(
      "div",
      { class: "card", "data-testid": "forms-page" },
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data", "data-testid": "forms-table" },
          h("caption", { class: "sr-only" }, t("prop.forms.title")),
          h("thead", {}, h("tr", {}, ["name", "kinds", "scope", "version", "state", "actions"].map((c) => h("th", { scope: "col" }, t(`prop.forms.col.${c}`))))),
          h(
            "tbody",
            {},
            list.items.map((f) => {
              const editable = mine.includes(f);
              const toggle = h("button", { type: "button", class: "btn small", "data-testid": "form-toggle" }, f.active ? t("prop.forms.retire") : t("prop.forms.activate"));
              toggle.addEventListener("click", () =>
                busy(toggle, async () => {
                  try {
                    await api.post(`/proposal-forms/${encodeURIComponent(f.id)}/active`, { version: f.version, active: !f.active });
                    window.dispatchEvent(new HashChangeEvent("hashchange"));
                  } catch (err) {
                    toast(err instanceof Error ? err.message : String(err), "error");
                  }
                }),
              );
              return h(
                "tr",
                { "data-testid": "forms-row", "data-id": f.id },
                h("td", {}, editable ? h("a", { href: `#${SECTION}/${encodeURIComponent(f.id)}` }, f.name) : f.name),
                h("td", {}, f.work_kinds.map((k) => t(`kind.${k}`)).join("・")),
                h("td", {}, f.standard ? t("prop.forms.standard") : f.org_id ? t("prop.forms.org") : t("prop.forms.system")),
                h("td", { class: "num" }, t("prop.form_version", { n: f.current_version })),
                h("td", {}, badge(f.active ? t("prop.forms.active") : t("prop.forms.retired"), f.active ? "ok" : "neutral")),
                h("td", {}, editable ? toggle : null),
              );
            }),
          ),
        ),
      ),
    ),
  );
}

/**
 * @typedef {object} FieldRow
 * @property {HTMLElement} el
 * @property {() => Record<string, unknown>} read
 * @property {() => string} key
 */

/**
 * @param {HTMLElement} content
 * @param {Kura.FormList} list
 * @param {Kura.FormDetail | null} detail
 * @param {string | null} orgId
 * @param {Kura.PageContext} ctx
 */
function editor(content, list, detail, orgId, ctx) {
  const def = detail ? detail.definition : { name: "", work_kinds: ["construction"], description: "", fields: [{ key: "subject", label: "件名", type: "text", required: true }], layout: { title: "", sections: [{ heading: null, fields: ["subject"], style: "kv" }], stamps: true } };
  const form = h("form", { class: "form form-editor", "data-testid": "form-editor", novalidate: true });
  const name = h("input", { id: "fe-name", name: "name", type: "text", maxlength: "100", value: def.name, "data-testid": "fe-name" });
  const kinds = ["construction", "service"].map((k) => h("label", { class: "check" }, h("input", { type: "checkbox", value: k, checked: def.work_kinds.includes(k), "data-testid": `fe-kind-${k}` }), ` ${t(`kind.${k}`)}`));
  const description = h("textarea", { id: "fe-description", rows: "2", maxlength: "1000", "data-testid": "fe-description" }, def.description || "");

  /** @type {FieldRow[]} */
  let rows = [];
  const fieldList = h("ol", { class: "fe-fields", "data-testid": "fe-fields" });
  const drawFields = () => {
    clear(fieldList).append(...rows.map((r) => r.el));
    rows.forEach((r, i) => {
      const no = r.el.querySelector(".fe-no");
      if (no) no.textContent = t("prop.forms.field_no", { n: i + 1 });
    });
  };
  /** @param {Kura.FormField} f */
  const addField = (f) => {
    const row = fieldRow(f, list.field_types, list.sources, {
      up: () => move(row, -1),
      down: () => move(row, 1),
      remove: () => {
        rows = rows.filter((r) => r !== row);
        drawFields();
      },
    });
    rows.push(row);
    drawFields();
  };
  /**
   * @param {FieldRow} row
   * @param {number} by
   */
  const move = (row, by) => {
    const i = rows.indexOf(row);
    const j = i + by;
    if (j < 0 || j >= rows.length) return;
    rows.splice(i, 1);
    rows.splice(j, 0, row);
    drawFields();
  };
  for (const f of def.fields) addField(f);
  const addBtn = h("button", { type: "button", class: "btn small", "data-testid": "fe-add-field" }, t("prop.forms.add_field"));
  addBtn.addEventListener("click", () => addField({ key: `field${rows.length + 1}`, label: "", type: "text" }));

  // Layout: sections of keys, in print order.
  const printTitle = h("input", { id: "fe-print-title", type: "text", maxlength: "100", value: def.layout.title || "", "data-testid": "fe-print-title" });
  const stamps = h("input", { type: "checkbox", checked: def.layout.stamps !== false, "data-testid": "fe-stamps" });
  /** @type {{ el: HTMLElement, read: () => Kura.FormSection }[]} */
  let sections = [];
  const sectionList = h("ol", { class: "fe-sections", "data-testid": "fe-sections" });
  /** @param {Kura.FormSection} s */
  const addSection = (s) => {
    const hid = uid("fe-heading");
    const sid = uid("fe-style");
    const kid = uid("fe-keys");
    const heading = h("input", { id: hid, type: "text", maxlength: "100", value: s.heading || "", "data-testid": "fe-section-heading" });
    const style = h("select", { id: sid, "data-testid": "fe-section-style" }, STYLES.map((st) => h("option", { value: st, selected: s.style === st }, t(`prop.forms.style.${st}`))));
    const keys = h("input", { id: kid, type: "text", value: s.fields.join(", "), "data-testid": "fe-section-fields" });
    const remove = h("button", { type: "button", class: "btn small", "aria-label": t("prop.forms.remove_section") }, t("common.delete"));
    const item = {
      el: h("li", { class: "fe-section field", "data-testid": "fe-section" }, h("div", { class: "pf-grid" }, h("div", { class: "field" }, h("label", { for: hid }, t("prop.forms.section_heading")), heading), h("div", { class: "field" }, h("label", { for: sid }, t("prop.forms.section_style")), style), h("div", { class: "field pf-wide" }, h("label", { for: kid }, t("prop.forms.section_fields")), keys)), remove),
      read: () => ({ heading: heading.value.trim() || null, style: style.value, fields: keys.value.split(/[,、\s]+/).filter(Boolean) }),
    };
    remove.addEventListener("click", () => {
      sections = sections.filter((x) => x !== item);
      item.el.remove();
    });
    sections.push(item);
    sectionList.append(item.el);
  };
  for (const s of def.layout.sections) addSection(s);
  const addSectionBtn = h("button", { type: "button", class: "btn small", "data-testid": "fe-add-section" }, t("prop.forms.add_section"));
  addSectionBtn.addEventListener("click", () => addSection({ heading: null, fields: [], style: "kv" }));

  /** @returns {Record<string, unknown>} the definition as the page holds it */
  const definition = () => ({
    name: name.value.trim(),
    work_kinds: kinds.map((k) => k.querySelector("input")).filter((x) => x instanceof HTMLInputElement && x.checked).map((x) => (x instanceof HTMLInputElement ? x.value : "")),
    description: description.value,
    fields: rows.map((r) => r.read()),
    layout: { title: printTitle.value.trim() || name.value.trim(), sections: sections.map((s) => s.read()), stamps: stamps.checked },
  });

  // JSON, for a copy to another installation or a bulk edit.
  const json = h("textarea", { id: "fe-json", rows: "12", class: "mono", spellcheck: "false", "data-testid": "fe-json" });
  const jsonApply = h("button", { type: "button", class: "btn small", "data-testid": "fe-json-apply" }, t("prop.forms.json_apply"));
  const details = h("details", {}, h("summary", {}, t("prop.forms.json")), h("label", { for: "fe-json", class: "sr-only" }, t("prop.forms.json")), json, jsonApply);
  details.addEventListener("toggle", () => {
    if (details.open) json.value = JSON.stringify(definition(), null, 2);
  });
  jsonApply.addEventListener("click", () => {
    try {
      /** @type {Kura.FormDefinition} */
      const parsed = JSON.parse(json.value);
      name.value = String(parsed.name || "");
      for (const k of kinds) {
        const x = k.querySelector("input");
        if (x) x.checked = (parsed.work_kinds || []).includes(x.value);
      }
      description.value = String(parsed.description || "");
      rows = [];
      for (const f of parsed.fields || []) addField(f);
      sections = [];
      clear(sectionList);
      for (const s of (parsed.layout && parsed.layout.sections) || []) addSection(s);
      printTitle.value = (parsed.layout && parsed.layout.title) || "";
      toast(t("prop.forms.json_applied"), "ok");
    } catch {
      toast(t("prop.forms.json_bad"), "error");
    }
  });

  const previewBox = h("div", { class: "fe-preview", "aria-live": "polite" });
  const preview = h("button", { type: "button", class: "btn", "data-testid": "fe-preview" }, t("prop.forms.preview"));
  preview.addEventListener("click", () => {
    const d = /** @type {Kura.FormDefinition} */ (/** @type {unknown} */ (definition()));
    try {
      clear(previewBox).append(h("h3", {}, d.name || t("prop.forms.untitled")), formFields({ definition: d, prefix: "preview" }).el);
    } catch {
      clear(previewBox).append(h("p", { class: "err-text" }, t("prop.forms.preview_failed")));
    }
  });

  const errorBoxEl = formError();
  errorBoxEl.dataset.testid = "fe-error";
  const save = h("button", { type: "submit", class: "btn primary", "data-testid": "fe-save" }, detail ? t("prop.forms.save_version") : t("prop.forms.create"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(save, async () => {
      try {
        /** @type {Kura.ProposalForm} */
        const saved = detail
          ? await api.put(`/proposal-forms/${encodeURIComponent(detail.form.id)}`, { version: detail.form.version, definition: definition() })
          : await api.post("/proposal-forms", { definition: definition(), org_id: orgId });
        toast(detail ? t("prop.forms.saved_version", { n: saved.current_version }) : t("prop.forms.created"), "ok");
        ctx.navigate(`#${SECTION}/${encodeURIComponent(saved.id)}`);
      } catch (err) {
        showFormErrors(form, err);
        // Every problem the API named, in the box too (a field's row may be far down).
        const problem = /** @type {{ problem?: Kura.Problem }} */ (err).problem;
        for (const p of (problem && problem.errors) || []) if (p.message) errorBoxEl.append(h("div", {}, p.message));
      }
    });
  });

  form.append(
    h(
      "section",
      { class: "card", "aria-labelledby": "fe-basic" },
      h("h2", { id: "fe-basic" }, t("prop.forms.basic")),
      h(
        "div",
        { class: "pf-grid" },
        h("div", { class: "field", "data-field": "name" }, h("label", { for: "fe-name" }, t("prop.forms.name"), h("span", { class: "req", "aria-hidden": "true" }, " *")), name, h("p", { class: "field-error", role: "alert", hidden: true })),
        h("fieldset", { class: "field", "data-field": "work_kinds" }, h("legend", {}, t("prop.forms.kinds")), h("div", { class: "check-row" }, kinds), h("p", { class: "field-error", role: "alert", hidden: true })),
        h("div", { class: "field pf-wide" }, h("label", { for: "fe-description" }, t("prop.forms.description")), description),
      ),
    ),
    h("section", { class: "card field", "data-field": "fields", "aria-labelledby": "fe-fields-h" }, h("h2", { id: "fe-fields-h" }, t("prop.forms.fields")), h("p", { class: "small muted" }, t("prop.forms.fields_help")), fieldList, addBtn, h("p", { class: "field-error", role: "alert", hidden: true })),
    h(
      "section",
      { class: "card field", "data-field": "layout", "aria-labelledby": "fe-layout-h" },
      h("h2", { id: "fe-layout-h" }, t("prop.forms.layout")),
      h("div", { class: "pf-grid" }, h("div", { class: "field" }, h("label", { for: "fe-print-title" }, t("prop.forms.print_title")), printTitle), h("div", { class: "field" }, h("label", { class: "check" }, stamps, " ", t("prop.forms.stamps")))),
      sectionList,
      addSectionBtn,
      h("p", { class: "field-error", role: "alert", hidden: true }),
    ),
    h("section", { class: "card", "aria-labelledby": "fe-more" }, h("h2", { id: "fe-more" }, t("prop.forms.more")), details, h("div", { class: "form-actions" }, preview), previewBox),
    errorBoxEl,
    h("div", { class: "form-actions" }, save, h("a", { class: "btn link", href: `#${SECTION}` }, t("common.back"))),
  );
  content.append(
    pageHeader(detail ? t("prop.forms.edit", { name: detail.form.name }) : t("prop.forms.new")),
    detail ? h("p", { class: "small muted" }, t("prop.forms.revise_note", { n: detail.form.current_version })) : h("p", { class: "small muted" }, orgId ? t("prop.forms.new_org") : t("prop.forms.new_system")),
    form,
    detail
      ? h(
          "section",
          { class: "card", "aria-labelledby": "fe-versions-h" },
          h("h2", { id: "fe-versions-h" }, t("prop.forms.versions")),
          detail.versions.length ? h("ul", { "data-testid": "fe-versions" }, detail.versions.map((v) => h("li", {}, `${t("prop.form_version", { n: v.version })} ・ ${fmtDateTime(v.created_at)}`))) : empty(t("prop.forms.no_versions")),
        )
      : "",
  );
  name.focus();
}

/**
 * One field of the definition as inputs.
 * @param {Kura.FormField} f
 * @param {Record<string, string>} types
 * @param {Record<string, string>} sources
 * @param {{ up: () => void, down: () => void, remove: () => void }} on
 * @returns {FieldRow}
 */
function fieldRow(f, types, sources, on) {
  const i = uid("fe");
  /** @param {string} suffix */
  const id = (suffix) => `${i}-${suffix}`;
  const key = h("input", { id: id("key"), type: "text", value: f.key, maxlength: "40", pattern: "[a-z][a-z0-9_]*", "data-testid": "fe-key" });
  const label = h("input", { id: id("label"), type: "text", value: f.label, maxlength: "100", "data-testid": "fe-label" });
  const type = h("select", { id: id("type"), "data-testid": "fe-type" }, Object.entries(types).map(([v, l]) => h("option", { value: v, selected: f.type === v }, l)));
  const required = h("input", { type: "checkbox", checked: Boolean(f.required), "data-testid": "fe-required" });
  const part = h("select", { id: id("part"), "data-testid": "fe-part" }, h("option", { value: "proposal", selected: (f.part || "proposal") === "proposal" }, t("prop.forms.part_proposal")), h("option", { value: "answer", selected: f.part === "answer" }, t("prop.forms.part_answer")));
  const side = h("select", { id: id("side"), "data-testid": "fe-side" }, ["any", "orderer", "contractor"].map((s) => h("option", { value: s, selected: (f.side || "any") === s }, t(`prop.forms.side_${s}`))));
  const length = h("input", { id: id("len"), type: "number", min: "1", max: "20000", value: f.max_length ? String(f.max_length) : "", "data-testid": "fe-length" });
  const choices = h("textarea", { id: id("choices"), rows: "3", "data-testid": "fe-choices" }, (f.choices || []).join("\n"));
  const columns = h("textarea", { id: id("cols"), rows: "3", "data-testid": "fe-columns" }, (f.columns || []).map((c) => `${c.key}:${c.label}:${c.type}`).join("\n"));
  const defKind = h(
    "select",
    { id: id("dk"), "data-testid": "fe-default-kind" },
    h("option", { value: "", selected: !f.default }, t("prop.forms.default_none")),
    h("option", { value: "from", selected: Boolean(f.default && f.default.from) }, t("prop.forms.default_from")),
    h("option", { value: "value", selected: Boolean(f.default && "value" in f.default) }, t("prop.forms.default_value")),
  );
  const defSource = h("select", { id: id("ds"), "data-testid": "fe-default-source" }, Object.entries(sources).map(([v, l]) => h("option", { value: v, selected: Boolean(f.default && f.default.from === v) }, l)));
  const defValue = h("input", { id: id("dv"), type: "text", value: f.default && "value" in f.default ? String(f.default.value ?? "") : "", "data-testid": "fe-default-value" });
  const showField = h("input", { id: id("sf"), type: "text", value: f.show_if ? f.show_if.field : "", "data-testid": "fe-show-field" });
  const showEquals = h("input", { id: id("se"), type: "text", value: f.show_if ? String(f.show_if.equals ?? "") : "", "data-testid": "fe-show-equals" });
  const help = h("input", { id: id("help"), type: "text", maxlength: "300", value: f.help || "", "data-testid": "fe-help" });

  /**
   * @param {string} suffix
   * @param {string} text
   * @param {HTMLElement} control
   * @param {string} [extra]
   */
  const cell = (suffix, text, control, extra = "") => h("div", { class: `field ${extra}`, "data-part": suffix }, h("label", { for: id(suffix) }, text), control);
  const wrap = h(
    "li",
    { class: "fe-field field", "data-testid": "fe-field", "data-key": f.key, "data-field": f.key },
    h(
      "div",
      { class: "fe-field-head" },
      h("strong", { class: "fe-no" }),
      h(
        "span",
        { class: "route-step-buttons" },
        h("button", { type: "button", class: "btn small", "data-testid": "fe-field-up", "aria-label": t("prop.forms.up"), onclick: on.up }, "↑"),
        h("button", { type: "button", class: "btn small", "data-testid": "fe-field-down", "aria-label": t("prop.forms.down"), onclick: on.down }, "↓"),
        h("button", { type: "button", class: "btn small", "data-testid": "fe-field-remove", onclick: on.remove }, t("common.delete")),
      ),
    ),
    h(
      "div",
      { class: "pf-grid" },
      cell("key", t("prop.forms.key"), key),
      cell("label", t("prop.forms.label"), label),
      cell("type", t("prop.forms.type"), type),
      h("div", { class: "field" }, h("label", { class: "check" }, required, " ", t("prop.forms.required"))),
      cell("part", t("prop.forms.part"), part),
      cell("side", t("prop.forms.side"), side),
      cell("len", t("prop.forms.length"), length),
      cell("choices", t("prop.forms.choices"), choices, "pf-wide"),
      cell("cols", t("prop.forms.columns"), columns, "pf-wide"),
      cell("dk", t("prop.forms.default"), defKind),
      cell("ds", t("prop.forms.default_source"), defSource),
      cell("dv", t("prop.forms.default_literal"), defValue),
      cell("sf", t("prop.forms.show_field"), showField),
      cell("se", t("prop.forms.show_equals"), showEquals),
      cell("help", t("prop.forms.help"), help, "pf-wide"),
    ),
    h("p", { class: "field-error", role: "alert", hidden: true }),
  );
  const sync = () => {
    const tp = type.value;
    /** @param {string} part_ @param {boolean} on_ */
    const show = (part_, on_) => {
      const el = wrap.querySelector(`[data-part="${part_}"]`);
      if (el instanceof HTMLElement) el.hidden = !on_;
    };
    show("side", part.value === "answer");
    show("len", tp === "text" || tp === "textarea");
    show("choices", tp === "choice" || tp === "multichoice");
    show("cols", tp === "table");
    show("ds", defKind.value === "from");
    show("dv", defKind.value === "value");
    wrap.dataset.key = key.value;
    wrap.dataset.field = key.value;
  };
  for (const el of [type, part, defKind, key]) el.addEventListener("change", sync);
  sync();

  return {
    el: wrap,
    key: () => key.value.trim(),
    read() {
      /** @type {Record<string, unknown>} */
      const out = { key: key.value.trim(), label: label.value.trim(), type: type.value, required: required.checked, part: part.value };
      if (part.value === "answer") out.side = side.value;
      if ((type.value === "text" || type.value === "textarea") && length.value) out.max_length = Number(length.value);
      if (type.value === "choice" || type.value === "multichoice") out.choices = choices.value.split("\n").map((c) => c.trim()).filter(Boolean);
      if (type.value === "table")
        out.columns = columns.value
          .split("\n")
          .map((line) => line.trim())
          .filter(Boolean)
          .map((line) => {
            const [k, l, ty] = line.split(":");
            return { key: (k || "").trim(), label: (l || "").trim(), type: (ty || "text").trim() };
          });
      if (defKind.value === "from") out.default = { from: defSource.value };
      if (defKind.value === "value" && defValue.value !== "") out.default = { value: type.value === "number" ? Number(defValue.value) : defValue.value };
      if (showField.value.trim()) out.show_if = { field: showField.value.trim(), equals: showEquals.value };
      if (help.value.trim()) out.help = help.value.trim();
      return out;
    },
  };
}
