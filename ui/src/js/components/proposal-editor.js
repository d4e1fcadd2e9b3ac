// proposal-editor.js: the proposal form (seed 001 別表1-1 3): the fields of its form definition
// with the work's information filled in (3(3)), title, importance (通常/重要, 4(20)) and the
// 回答希望日 (4(2)), the documents bound with it in order (3(7)-(10)), the route (4(8)), and
// the buttons: 一時保存 (a draft, 3(5)), PDFプレビュー (the printed bundle), 発議 (3(2): every
// missing required field is named under its input), 削除 (3(6)).
//
//   await proposalEditor(root, { work, definition, form, proposal, values, bundle, session })
// `proposal` null: a new one (saved on the first 一時保存 or 発議).
// Test ids: proposal-form, proposal-title, proposal-importance-<normal|important>,
// proposal-requested, proposal-save, proposal-preview, proposal-submit, proposal-delete,
// proposal-dirty, plus those of proposal-fields (pf-<key>), proposal-bundle and route-editor.

import { api } from "../api.js";
import { t } from "../i18n.js";
import { href } from "../router.js";
import { busy, clearFormErrors, confirmDialog, errorMessage, formError, h, pageHeader, toast } from "../ui.js";
import { bundleEditor } from "./proposal-bundle.js";
import { formFields } from "./proposal-fields.js";
import { clearOnInput, ensureProposalStyles, showApiErrors, stale } from "./proposal-kit.js";
import { openPdfPreview } from "./pdf-preview.js";
import { routeEditor } from "./route-editor.js";

/**
 * @typedef {object} EditorOptions
 * @property {{ id: string, title: string, kind: string }} work
 * @property {Kura.FormDefinition} definition
 * @property {{ id: string, version: number }} form
 * @property {Kura.Proposal | null} proposal
 * @property {Record<string, unknown>} values
 * @property {Kura.BundleFile[]} bundle
 * @property {Kura.Session | null} session
 * @property {(hash: string, options?: { replace?: boolean }) => void} navigate
 */

/**
 * @param {HTMLElement} root
 * @param {EditorOptions} options
 */
export async function proposalEditor(root, { work, definition, form: formInfo, proposal, values, bundle, session, navigate }) {
  ensureProposalStyles();
  /** @type {[{ items: Kura.RoutePerson[] }, { items: Kura.RouteTemplate[], users: Record<string, Kura.PersonName> }]} */
  const [people, templates] = await Promise.all([
    api.get(`/works/${encodeURIComponent(work.id)}/proposals/people`),
    api.get("/route-templates", { work_id: work.id }).catch(() => ({ items: [], users: {} })),
  ]);
  let current = proposal;
  let dirty = false;
  const dirtyNote = h("span", { class: "small muted", "data-testid": "proposal-dirty", hidden: true }, t("prop.edit.unsaved"));
  const touch = () => {
    dirty = true;
    dirtyNote.hidden = false;
  };

  const title = h("input", { id: "proposal-title", name: "title", type: "text", maxlength: "200", value: current ? current.title : "", "data-testid": "proposal-title", "aria-describedby": "proposal-title-error", required: true });
  const importance = current ? current.importance : "normal";
  const radios = ["normal", "important"].map((v) =>
    h("label", { class: "check" }, h("input", { type: "radio", name: "importance", value: v, checked: v === importance, "data-testid": `proposal-importance-${v}` }), ` ${t(`prop.importance.${v}`)}`),
  );
  const requested = h("input", { id: "proposal-requested", name: "requested_answer_date", type: "date", value: current && current.requested_answer_date ? current.requested_answer_date : "", "data-testid": "proposal-requested", "aria-describedby": "proposal-requested-hint proposal-requested-error" });

  const fields = formFields({ definition, values, part: "proposal", onChange: touch });
  const files = bundleEditor({ workId: work.id, files: bundle, onChange: touch });
  const route = routeEditor({ workId: work.id, route: current ? current.route : [], people: people.items, templates: templates.items, users: templates.users || {}, session, onChange: touch });

  const save = h("button", { type: "button", class: "btn", "data-testid": "proposal-save" }, t("prop.edit.save"));
  const preview = h("button", { type: "button", class: "btn", "data-testid": "proposal-preview" }, t("prop.edit.preview"));
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "proposal-submit" }, current && current.revision ? t("prop.edit.resubmit") : t("prop.edit.submit"));
  const del = current && !current.revision ? h("button", { type: "button", class: "btn danger", "data-testid": "proposal-delete" }, t("prop.edit.delete")) : null;
  const errorBoxEl = formError();

  const form = h(
    "form",
    { class: "form proposal-form", "data-testid": "proposal-form", novalidate: true },
    current && current.sent_back && current.state === "sent_back"
      ? h("div", { class: "notice warn", role: "note", "data-testid": "proposal-sent-back" }, h("strong", {}, t("prop.sent_back_notice")), h("p", {}, current.sent_back.reason))
      : null,
    h(
      "section",
      { class: "card", "aria-labelledby": "pe-basic" },
      h("h2", { id: "pe-basic" }, t("prop.edit.basic")),
      h(
        "div",
        { class: "pf-grid" },
        h("div", { class: "field pf-wide", "data-field": "title" }, h("label", { for: "proposal-title" }, t("prop.title"), h("span", { class: "req", title: t("prop.required_at_submit") }, " *")), title, h("p", { class: "field-error", id: "proposal-title-error", role: "alert", hidden: true })),
        h("fieldset", { class: "field", "data-field": "importance" }, h("legend", {}, t("prop.importance")), h("div", { class: "check-row" }, radios), h("p", { class: "field-error", role: "alert", hidden: true })),
        h(
          "div",
          { class: "field", "data-field": "requested_answer_date" },
          h("label", { for: "proposal-requested" }, t("prop.requested_answer_date")),
          requested,
          h("p", { class: "hint", id: "proposal-requested-hint" }, t("prop.edit.requested_hint")),
          h("p", { class: "field-error", id: "proposal-requested-error", role: "alert", hidden: true }),
        ),
      ),
    ),
    h("section", { class: "card", "aria-labelledby": "pe-fields" }, h("h2", { id: "pe-fields" }, definition.name), definition.description ? h("p", { class: "small muted" }, definition.description) : null, fields.el),
    h("section", { class: "card field", "data-field": "attachments", "aria-labelledby": "pe-files" }, h("h2", { id: "pe-files" }, t("prop.edit.files")), h("p", { class: "small muted" }, t("prop.edit.files_help")), files.el, h("p", { class: "field-error", role: "alert", hidden: true })),
    h("section", { class: "card", "aria-labelledby": "pe-route" }, h("h2", { id: "pe-route" }, t("prop.edit.route")), route.el),
    errorBoxEl,
    h("div", { class: "form-actions proposal-actions" }, submit, save, preview, del, dirtyNote, h("a", { class: "btn link", href: current ? href("/proposals", current.id) : `${href("/works", work.id)}/proposals` }, t("common.back"))),
  );
  clearOnInput(form);
  form.addEventListener("input", touch);
  form.addEventListener("change", touch);

  /** The proposal as the page holds it (throws RangeError for bad pages of a file). */
  function body() {
    const imp = form.querySelector("input[name=importance]:checked");
    return {
      title: title.value.trim(),
      importance: imp instanceof HTMLInputElement ? imp.value : "normal",
      requested_answer_date: requested.value || null,
      values: fields.values(),
      attachments: files.items(),
      route: route.steps(),
    };
  }

  /** Save the draft; true when saved (the page then holds the stored version). */
  async function store() {
    if (files.uploading()) {
      toast(t("prop.edit.wait_uploads"), "error");
      return false;
    }
    let data;
    try {
      data = body();
    } catch (err) {
      toast(t("prop.edit.bad_pages", { name: err instanceof Error ? err.message : "" }), "error");
      return false;
    }
    try {
      if (!current) {
        current = /** @type {Kura.Proposal} */ (await api.post(`/works/${encodeURIComponent(work.id)}/proposals`, { form_id: formInfo.id, form_version: formInfo.version, ...data }));
        history.replaceState(null, "", `${href("/proposals", current.id)}/edit`);
      } else {
        current = /** @type {Kura.Proposal} */ (await api.patch(`/proposals/${encodeURIComponent(current.id)}`, { version: current.version, ...data }));
      }
      dirty = false;
      dirtyNote.hidden = true;
      clearFormErrors(form);
      return true;
    } catch (err) {
      showApiErrors(form, err, definition);
      if (stale(err)) errorBoxEl.append(" ", h("button", { type: "button", class: "btn small", onclick: () => window.location.reload() }, t("prop.reload")));
      return false;
    }
  }
  save.addEventListener("click", () =>
    busy(save, async () => {
      if (await store()) toast(t("prop.edit.saved"), "ok");
    }),
  );
  preview.addEventListener("click", () =>
    busy(preview, async () => {
      if ((dirty || !current) && !(await store())) return;
      if (!current) return;
      const path = `/proposals/${encodeURIComponent(current.id)}/pdf`;
      openPdfPreview(path, { title: t("prop.preview.title", { name: current.title || definition.name }), download: `/api/v1${path}?disposition=attachment` });
    }),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, async () => {
      if ((dirty || !current) && !(await store())) return;
      if (!current) return;
      const data = body();
      try {
        await api.post(`/proposals/${encodeURIComponent(current.id)}/submit`, { version: current.version, route: data.route, importance: data.importance, requested_answer_date: data.requested_answer_date });
        toast(t("prop.edit.submitted"), "ok");
        navigate(href("/proposals", current.id));
      } catch (err) {
        showApiErrors(form, err, definition);
      }
    });
  });
  if (del) {
    del.addEventListener("click", async () => {
      if (!current || !(await confirmDialog(t("prop.edit.delete_confirm"), { danger: true, okLabel: t("common.delete") }))) return;
      const id = current.id;
      await busy(del, async () => {
        try {
          await api.del(`/proposals/${encodeURIComponent(id)}`, { version: current ? current.version : 0 });
          toast(t("common.deleted"), "ok");
          navigate(`${href("/works", work.id)}/proposals`);
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      });
    });
  }

  root.append(
    h("nav", { class: "breadcrumb", "aria-label": t("prop.breadcrumb") }, h("a", { href: href("/works", work.id) }, work.title), " › ", h("a", { href: `${href("/works", work.id)}/proposals` }, t("prop.list.work_title"))),
    pageHeader(current ? t("prop.edit.title_edit", { name: definition.name }) : t("prop.edit.title_new", { name: definition.name })),
    form,
  );
  title.focus();
}
