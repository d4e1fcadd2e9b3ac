// A work's pre-meeting matters (#/works/<id>/premeetings, 事前打合せ, seed 001 別表1-2
// 4(8)-(13)): listed apart from the decisions (4(13)) with their state (回答待ち / 回答済み);
// either side registers material for a matter with files for its shared folder (4(8)(12)),
// and the parties are told (4(9)).
// Test ids: premeetings-page, pm-table, pm-row (data-id, data-status), pm-empty, pm-form,
// pm-title, pm-body, pm-submit, plus bundle-* of the files.
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { href } from "../router.js";
import { badge, busy, empty, field, formError, h, pageHeader, showFormErrors, toast } from "../ui.js";
import { bundleEditor } from "../components/proposal-bundle.js";
import { ensureProposalStyles } from "../components/proposal-kit.js";
import { workTabs } from "./proposals.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { id: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureProposalStyles();
  const workId = params.id;
  /** @type {[Kura.Work, { items: Kura.Matter[] }]} */
  const [work, matters] = await Promise.all([api.get(`/works/${encodeURIComponent(workId)}`), api.get(`/works/${encodeURIComponent(workId)}/premeetings`)]);
  ctx.setTitle(`${t("prop.pm.title")} — ${work.title}`);
  const rows = matters.items.map((m) =>
    h(
      "tr",
      { "data-testid": "pm-row", "data-id": m.id, "data-status": m.status },
      h("td", {}, h("a", { href: href("/premeetings", m.id) }, m.title)),
      h("td", {}, m.created_by_name || ""),
      h("td", {}, badge(m.status_label || m.status, m.status === "answered" ? "ok" : "info")),
      h("td", { class: "num" }, String(m.comments)),
      h("td", { class: "nowrap" }, fmtDateTime(m.updated_at)),
    ),
  );
  const title = field({ name: "title", label: t("prop.pm.matter_title"), required: true, testid: "pm-title", attrs: { maxlength: "200" } });
  const body = field({ name: "body", label: t("prop.pm.body"), type: "textarea", testid: "pm-body", attrs: { maxlength: "4000", rows: "4" } });
  const files = bundleEditor({ workId, files: [], pages: false });
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "pm-submit" }, t("prop.pm.register"));
  const form = h("form", { class: "form", "data-testid": "pm-form", novalidate: true }, title, body, h("div", { class: "field", "data-field": "attachments" }, h("p", { class: "small" }, t("prop.pm.files")), files.el, h("p", { class: "field-error", role: "alert", hidden: true })), formError(), h("div", { class: "form-actions" }, submit));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, async () => {
      if (files.uploading()) {
        toast(t("prop.edit.wait_uploads"), "error");
        return;
      }
      const value = (/** @type {string} */ name) => {
        const el = form.elements.namedItem(name);
        return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement ? el.value : "";
      };
      try {
        /** @type {Kura.Matter} */
        const made = await api.post(`/works/${encodeURIComponent(workId)}/premeetings`, { title: value("title"), body: value("body"), attachments: files.items().map((f) => f.id) });
        toast(t("prop.pm.registered"), "ok");
        ctx.navigate(href("/premeetings", made.id));
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });
  root.append(
    h(
      "div",
      { "data-testid": "premeetings-page" },
      h("nav", { class: "breadcrumb", "aria-label": t("prop.breadcrumb") }, h("a", { href: href("/works", workId) }, work.title)),
      pageHeader(work.title),
      workTabs(workId, "premeetings"),
      h("p", { class: "small muted" }, t("prop.pm.help")),
      h(
        "section",
        { class: "card", "aria-labelledby": "pm-list" },
        h("h2", { id: "pm-list" }, t("prop.pm.title")),
        rows.length
          ? h("div", { class: "table-wrap" }, h("table", { class: "data", "data-testid": "pm-table" }, h("caption", { class: "sr-only" }, t("prop.pm.title")), h("thead", {}, h("tr", {}, ["title", "by", "status", "comments", "updated"].map((c) => h("th", { scope: "col" }, t(`prop.pm.col.${c}`))))), h("tbody", {}, rows)))
          : h("div", { "data-testid": "pm-empty" }, empty(t("prop.pm.empty"))),
      ),
      h("section", { class: "card", "aria-labelledby": "pm-new" }, h("h2", { id: "pm-new" }, t("prop.pm.new")), form),
    ),
  );
}
