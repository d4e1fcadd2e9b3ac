// One pre-meeting matter (#/premeetings/<id>; notifications link here, seed 001 別表1-2
// 4(8)-(13)): its material and its shared folder (the files of the matter and of every comment,
// 4(12)), the comments of both sides (4(10)), and the answer, which tells the registrant (4(11)).
// Test ids: premeeting-page, pm-status, pm-files, pm-file (data-name), pm-comments,
// pm-comment (data-by), pm-comment-form, pm-comment-text, pm-comment-submit, pm-answer,
// pm-answer-form, pm-answer-text, pm-answer-submit.
import { api, apiUrl } from "../api.js";
import { fmtBytes, fmtDateTime, t } from "../i18n.js";
import { href } from "../router.js";
import { badge, busy, empty, field, formError, h, pageHeader, showFormErrors, toast } from "../ui.js";
import { bundleEditor } from "../components/proposal-bundle.js";
import { ensureProposalStyles, nameOf } from "../components/proposal-kit.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { id: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureProposalStyles();
  /** @type {Kura.MatterDetail} */
  const d = await api.get(`/premeetings/${encodeURIComponent(params.id)}`);
  const m = d.matter;
  /** @type {Kura.Work} */
  const work = await api.get(`/works/${encodeURIComponent(m.work_id)}`);
  ctx.setTitle(m.title);
  const reload = (/** @type {string} */ message) => {
    toast(message, "ok");
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  };

  const text = field({ name: "text", label: t("prop.pm.comment"), type: "textarea", required: true, testid: "pm-comment-text", attrs: { maxlength: "2000", rows: "3" } });
  const files = bundleEditor({ workId: m.work_id, files: [], pages: false });
  const send = h("button", { type: "submit", class: "btn", "data-testid": "pm-comment-submit" }, t("prop.comment_send"));
  const commentForm = h("form", { class: "form", "data-testid": "pm-comment-form", novalidate: true }, text, h("div", { class: "field", "data-field": "attachments" }, files.el, h("p", { class: "field-error", role: "alert", hidden: true })), formError(), h("div", { class: "form-actions" }, send));
  commentForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(send, async () => {
      if (files.uploading()) {
        toast(t("prop.edit.wait_uploads"), "error");
        return;
      }
      const el = commentForm.elements.namedItem("text");
      try {
        await api.post(`/premeetings/${encodeURIComponent(m.id)}/comments`, { text: el instanceof HTMLTextAreaElement ? el.value : "", attachments: files.items().map((f) => f.id) });
        reload(t("prop.comment_sent"));
      } catch (err) {
        showFormErrors(commentForm, err);
      }
    });
  });

  const answerText = field({ name: "text", label: t("prop.pm.answer_text"), type: "textarea", required: true, testid: "pm-answer-text", attrs: { maxlength: "4000", rows: "3" } });
  const answerBtn = h("button", { type: "submit", class: "btn primary", "data-testid": "pm-answer-submit" }, t("prop.pm.answer"));
  const answerForm = h("form", { class: "form", "data-testid": "pm-answer-form", novalidate: true }, answerText, formError(), h("div", { class: "form-actions" }, answerBtn));
  answerForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(answerBtn, async () => {
      const el = answerForm.elements.namedItem("text");
      try {
        await api.post(`/premeetings/${encodeURIComponent(m.id)}/answer`, { version: m.version, text: el instanceof HTMLTextAreaElement ? el.value : "" });
        reload(t("prop.pm.answered"));
      } catch (err) {
        showFormErrors(answerForm, err);
      }
    });
  });

  root.append(
    h(
      "div",
      { "data-testid": "premeeting-page" },
      h("nav", { class: "breadcrumb", "aria-label": t("prop.breadcrumb") }, h("a", { href: href("/works", work.id) }, work.title), " › ", h("a", { href: `${href("/works", work.id)}/premeetings` }, t("prop.pm.title"))),
      pageHeader(m.title),
      h("div", { class: "meta proposal-meta" }, badge(d.status_label, m.status === "answered" ? "ok" : "info", { "data-testid": "pm-status" }), h("span", {}, t("prop.pm.registered_by", { name: nameOf(d.users, m.created_by), at: fmtDateTime(m.created_at) }))),
      h("section", { class: "card", "aria-labelledby": "pm-material" }, h("h2", { id: "pm-material" }, t("prop.pm.material")), m.body ? h("p", { class: "pf-text" }, m.body) : h("p", { class: "small muted" }, t("prop.pm.no_body"))),
      h(
        "section",
        { class: "card", "aria-labelledby": "pm-folder" },
        h("h2", { id: "pm-folder" }, t("prop.pm.folder")),
        d.files.length
          ? h("ul", { class: "proposal-files", "data-testid": "pm-files" }, d.files.map((f) => h("li", { "data-testid": "pm-file", "data-name": f.name }, h("a", { href: apiUrl(`/attachments/${encodeURIComponent(f.id)}/content`), download: f.name }, f.name), h("span", { class: "small muted" }, ` ${fmtBytes(f.size)}`))))
          : empty(t("prop.no_files")),
      ),
      m.answer
        ? h("section", { class: "card", "aria-labelledby": "pm-answer-h", "data-testid": "pm-answer" }, h("h2", { id: "pm-answer-h" }, t("prop.pm.answer_title")), h("p", { class: "small muted" }, `${nameOf(d.users, m.answer.by)} ・ ${fmtDateTime(m.answer.at)}`), h("p", { class: "pf-text" }, m.answer.text))
        : null,
      h(
        "section",
        { class: "card", "aria-labelledby": "pm-comments-h", "data-testid": "pm-comments" },
        h("h2", { id: "pm-comments-h" }, t("prop.comments"), " ", h("span", { class: "small muted" }, t("common.count", { n: d.comments.length }))),
        d.comments.length
          ? h("ul", { class: "comment-list" }, d.comments.map((c) => h("li", { class: "comment", "data-testid": "pm-comment", "data-by": c.by }, h("div", { class: "small muted" }, `${nameOf(d.users, c.by)} ・ ${fmtDateTime(c.at)}`), h("p", { class: "comment-text" }, c.text), c.files.length ? h("p", { class: "small muted" }, t("prop.pm.comment_files", { n: c.files.length })) : null)))
          : h("p", { class: "small muted" }, t("prop.no_comments")),
        commentForm,
      ),
      m.status !== "answered" ? h("section", { class: "card", "aria-labelledby": "pm-answer-new" }, h("h2", { id: "pm-answer-new" }, t("prop.pm.answer")), answerForm) : null,
    ),
  );
}
