// A proposal (#/proposals/<id>[?tab=history]; notifications link here): its content as filled
// in (the form's fields and the 処理・回答), dates (4(2)(3)), the route with each approval and
// view as it was (代理承認, 後閲), the bound documents and the printed bundle, what the reader
// may do now (decision card; the proposer: 修正, 引戻し, 取下げ, コピー), comments of everyone on
// the route (4(9)(14)), and on the history tab every event, revision diffs (4(16)), date
// corrections (4(17)) and the exports (4(18)).
// Test ids: proposal-page, proposal-tabs, tab-content, tab-history, proposal-meta,
// proposal-values, proposal-answers, proposal-dates, route-progress, route-progress-step
// (data-step, data-current), route-mark (data-user, data-status, data-via), proposal-files,
// proposal-file (data-name), proposal-pdf-preview, proposal-pdf-download, proposal-edit,
// proposal-withdraw, proposal-cancel, proposal-copy, comments, comment (data-by),
// comment-text, comment-submit, correct-form, correct-field, correct-new, correct-reason,
// correct-submit; plus those of proposal-decide and proposal-history.
import { api, apiUrl } from "../api.js";
import { fmtDate, fmtDateTime, t } from "../i18n.js";
import { href } from "../router.js";
import { badge, busy, confirmDialog, empty, errorMessage, formError, h, showFormErrors, toast, uid } from "../ui.js";
import { decisionCard } from "../components/proposal-decide.js";
import { shownValues } from "../components/proposal-fields.js";
import { historyPanel } from "../components/proposal-history.js";
import { ensureProposalStyles, formatPages, importanceBadge, nameOf, stateBadge } from "../components/proposal-kit.js";
import { openPdfPreview } from "../components/pdf-preview.js";

const DATES = ["proposed_on", "requested_answer_date", "received_on", "planned_answer_date", "interim_answer_date", "answered_on", "decided_on"];

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { id: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureProposalStyles();
  const id = params.id;
  /** @type {[Kura.ProposalDetail, Kura.ProposalHistory]} */
  const [d, hist] = await Promise.all([api.get(`/proposals/${encodeURIComponent(id)}`), api.get(`/proposals/${encodeURIComponent(id)}/history`)]);
  const p = d.proposal;
  const a = d.actions;
  const users = { ...hist.users, ...d.users };
  ctx.setTitle(p.title || d.form.definition.name);
  const tab = (params.query || {}).tab === "history" ? "history" : "content";
  const self = `#/proposals/${encodeURIComponent(id)}`;
  /** @param {string} message */
  const done = (message) => {
    toast(message, "ok");
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  };

  // -- header ---------------------------------------------------------------------------------
  const proposer = d.users[p.proposer_id];
  const meta = h(
    "div",
    { class: "meta proposal-meta", "data-testid": "proposal-meta" },
    stateBadge(p.state, d.state_label),
    importanceBadge(p.importance),
    p.number ? h("span", { class: "mono" }, t("prop.number", { n: p.number })) : null,
    h("span", {}, `${p.form_name}（${t("prop.form_version", { n: p.form_version })}）`),
    proposer ? h("span", {}, t("prop.by", { name: proposer.name, org: proposer.org_name })) : null,
    d.days_left !== null ? badge(d.days_left < 0 ? t("prop.overdue_days", { n: -d.days_left }) : t("prop.days_left", { n: d.days_left }), d.days_left < 0 ? "err" : d.days_left <= 2 ? "warn" : "neutral", { "data-testid": "proposal-days-left" }) : null,
  );

  // The proposer's buttons, the bundle's PDF, copy.
  const pdfPath = `/proposals/${encodeURIComponent(id)}/pdf`;
  const tools = h("div", { class: "page-actions" });
  if (a.edit) tools.append(h("a", { class: "btn primary", href: `${self}/edit`, "data-testid": "proposal-edit" }, p.state === "draft" ? t("prop.edit_draft") : t("prop.revise")));
  if (a.withdraw) {
    const w = h("button", { type: "button", class: "btn", "data-testid": "proposal-withdraw" }, t("prop.withdraw"));
    w.addEventListener("click", async () => {
      if (!(await confirmDialog(t("prop.withdraw_confirm")))) return;
      await busy(w, async () => {
        try {
          await api.post(`/proposals/${encodeURIComponent(id)}/withdraw`, { version: p.version });
          done(t("prop.withdrawn"));
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      });
    });
    tools.append(w);
  }
  if (a.cancel) {
    const c = h("button", { type: "button", class: "btn danger", "data-testid": "proposal-cancel" }, t("prop.cancel"));
    c.addEventListener("click", async () => {
      if (!(await confirmDialog(t("prop.cancel_confirm"), { danger: true, okLabel: t("prop.cancel") }))) return;
      await busy(c, async () => {
        try {
          await api.post(`/proposals/${encodeURIComponent(id)}/cancel`, { version: p.version });
          done(t("prop.cancelled"));
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      });
    });
    tools.append(c);
  }
  const previewBtn = h("button", { type: "button", class: "btn", "data-testid": "proposal-pdf-preview" }, t("prop.pdf_preview"));
  previewBtn.addEventListener("click", () => openPdfPreview(pdfPath, { title: t("prop.preview.title", { name: p.title || p.form_name }), download: apiUrl(pdfPath, { disposition: "attachment" }) }));
  tools.append(previewBtn, h("a", { class: "btn", href: apiUrl(pdfPath, { disposition: "attachment" }), download: "", "data-testid": "proposal-pdf-download" }, t("prop.pdf_download")));
  if (a.copy) tools.append(h("a", { class: "btn", href: `${href("/works", p.work_id)}/proposals/new?copy=${encodeURIComponent(id)}`, "data-testid": "proposal-copy" }, t("prop.copy")));

  // -- content --------------------------------------------------------------------------------
  const notices = [];
  if (p.sent_back && (p.state === "sent_back" || p.state === "in_review")) {
    const sb = p.sent_back;
    notices.push(
      h(
        "div",
        { class: "notice warn", role: "note", "data-testid": "proposal-sent-back" },
        h("strong", {}, sb.to === "proposer" ? t("prop.sent_back_to_proposer", { name: nameOf(users, sb.by) }) : t("prop.sent_back_to_approver", { name: nameOf(users, sb.by), to: nameOf(users, sb.to) })),
        h("p", {}, sb.reason),
      ),
    );
  }
  if (d.form.current_version !== d.form.version) notices.push(h("p", { class: "small muted" }, t("prop.old_form_version", { n: d.form.version, current: d.form.current_version })));

  const valuesCard = h(
    "section",
    { class: "card", "aria-labelledby": "pp-values" },
    h("h2", { id: "pp-values" }, p.form_name),
    shownValues(d.form.definition, p.values || {}, { part: "proposal", testid: "proposal-values" }),
    d.form.definition.fields.some((f) => f.part === "answer")
      ? [h("h3", {}, t("prop.answers")), shownValues(d.form.definition, p.answers || {}, { part: "answer", testid: "proposal-answers" })]
      : null,
  );
  const datesCard = h(
    "section",
    { class: "card", "aria-labelledby": "pp-dates" },
    h("h2", { id: "pp-dates" }, t("prop.dates")),
    h(
      "dl",
      { class: "props", "data-testid": "proposal-dates" },
      DATES.map((k) => {
        const v = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (p))[k];
        return [h("dt", {}, t(`prop.date.${k}`)), h("dd", { "data-date": k }, typeof v === "string" && v ? fmtDate(v) : "—")];
      }),
    ),
    h("h3", {}, t("prop.route.title")),
    routeProgress(p, users),
  );
  const filesCard = h(
    "section",
    { class: "card", "aria-labelledby": "pp-files" },
    h("h2", { id: "pp-files" }, t("prop.files")),
    d.bundle.length
      ? h(
          "ol",
          { class: "proposal-files", "data-testid": "proposal-files" },
          d.bundle.map((f) =>
            h(
              "li",
              { "data-testid": "proposal-file", "data-name": f.name },
              h("a", { href: apiUrl(`/attachments/${encodeURIComponent(f.id)}/content`), download: f.name }, f.name),
              h("span", { class: "small muted" }, ` ${f.pages ? t("prop.bundle.pages_of", { pages: formatPages(f.pages) }) : t("prop.bundle.all_pages")}${f.page_count ? ` ・ ${t("prop.bundle.page_count", { n: f.page_count })}` : ""}`),
            ),
          ),
        )
      : empty(t("prop.no_files")),
  );

  const comments = hist.events.filter((e) => e.kind === "commented");
  const commentsCard = h(
    "section",
    { class: "card", "aria-labelledby": "pp-comments", "data-testid": "comments" },
    h("h2", { id: "pp-comments" }, t("prop.comments"), " ", h("span", { class: "small muted" }, t("common.count", { n: comments.length }))),
    comments.length
      ? h(
          "ul",
          { class: "comment-list" },
          comments.map((c) => h("li", { class: "comment", "data-testid": "comment", "data-by": c.actor_id }, h("div", { class: "small muted" }, `${c.actor_name}（${c.actor_org}） ・ ${fmtDateTime(c.at)}`), h("p", { class: "comment-text" }, c.detail))),
        )
      : h("p", { class: "small muted" }, t("prop.no_comments")),
    a.comment ? commentForm(id, done) : null,
  );

  const decide = decisionCard(d, { session: ctx.session, done });
  const content = h("div", { id: "panel-content", role: "tabpanel", "aria-labelledby": "tab-content", hidden: tab !== "content" }, notices, decide, h("div", { class: "grid-2" }, valuesCard, datesCard), filesCard, commentsCard);
  const history = h("div", { id: "panel-history", role: "tabpanel", "aria-labelledby": "tab-history", hidden: tab !== "history" }, historyPanel(d, hist), a.correct ? correctForm(p, done) : null);

  const tabs = h(
    "div",
    { class: "tabs", role: "tablist", "aria-label": t("prop.tabs"), "data-testid": "proposal-tabs" },
    h("button", { type: "button", role: "tab", id: "tab-content", "aria-controls": "panel-content", "aria-selected": String(tab === "content"), tabindex: tab === "content" ? "0" : "-1", "data-testid": "tab-content" }, t("prop.tab.content")),
    h("button", { type: "button", role: "tab", id: "tab-history", "aria-controls": "panel-history", "aria-selected": String(tab === "history"), tabindex: tab === "history" ? "0" : "-1", "data-testid": "tab-history" }, t("prop.tab.history", { n: hist.events.length })),
  );
  tabs.addEventListener("click", (e) => {
    const b = e.target instanceof Element ? e.target.closest("[role=tab]") : null;
    if (!(b instanceof HTMLElement)) return;
    const history_ = b.id === "tab-history";
    for (const tb of tabs.querySelectorAll("[role=tab]")) {
      tb.setAttribute("aria-selected", String(tb === b));
      tb.setAttribute("tabindex", tb === b ? "0" : "-1");
    }
    content.hidden = history_;
    history.hidden = !history_;
    window.history.replaceState(null, "", history_ ? `${self}?tab=history` : self);
  });
  tabs.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const all = [...tabs.querySelectorAll("[role=tab]")];
    const i = all.findIndex((x) => x === document.activeElement);
    const next = all[(i + 1) % all.length];
    if (next instanceof HTMLElement) {
      next.focus();
      next.click();
    }
  });

  root.append(
    h("nav", { class: "breadcrumb", "aria-label": t("prop.breadcrumb") }, h("a", { href: href("/works", d.work.id) }, d.work.title), " › ", h("a", { href: `${href("/works", d.work.id)}/proposals` }, t("prop.list.work_title"))),
    h("div", { class: "proposal-page", "data-testid": "proposal-page", "data-state": p.state }, h("div", { class: "page-header" }, h("h1", { tabindex: "-1" }, p.title || t("prop.untitled")), tools), meta, tabs, content, history),
  );
}

/**
 * The route as it went: each step, each assignee's mark, who acted and how (4(21)(22)).
 * @param {Kura.Proposal} p
 * @param {Record<string, Kura.PersonName>} users
 * @returns {HTMLElement}
 */
function routeProgress(p, users) {
  if (!p.route.length) return h("p", { class: "small muted" }, t("prop.route.none"));
  return h(
    "ol",
    { class: "route-progress", "data-testid": "route-progress" },
    p.route.map((step, i) => {
      const progress = p.progress[i] || { reached: false, marks: step.assignees.map((u) => ({ user_id: u, status: "pending" })) };
      const current = p.current_step === i && p.state === "in_review";
      return h(
        "li",
        { class: current ? "current" : "", "data-testid": "route-progress-step", "data-step": String(i), "data-current": String(current) },
        h("div", { class: "small" }, h("strong", {}, t("prop.route.step", { n: i + 1 })), " ", step.kind === "approve" ? t("prop.route.approve") : t("prop.route.view"), step.kind === "approve" && step.assignees.length > 1 ? ` ・ ${t("prop.route.parallel")}` : "", current ? badge(t("prop.route.current"), "info") : null),
        h(
          "ul",
          { class: "route-marks" },
          /** @type {Kura.RouteMark[]} */ (progress.marks).map((m) => {
            /** @type {string[]} */
            const notes = [];
            if (m.via === "deputy" && m.by) notes.push(t("prop.route.via_deputy", { name: nameOf(users, m.by) }));
            if (m.status === "approved" && m.via === "superior") notes.push(t("prop.route.via_superior"));
            if (m.status === "post_review" || m.status === "reviewed") notes.push(t("prop.route.skipped_by", { name: nameOf(users, m.by) }));
            const when = m.status === "reviewed" ? m.reviewed_at : m.at;
            return h(
              "li",
              { class: `route-mark ${m.status}`, "data-testid": "route-mark", "data-user": m.user_id, "data-status": m.status, "data-via": m.via || "" },
              h("span", {}, nameOf(users, m.user_id) || t("prop.route.unknown")),
              " ",
              badge(t(`prop.mark.${m.status}`), m.status === "pending" ? "neutral" : m.status === "post_review" ? "warn" : "ok"),
              when && m.status !== "pending" ? h("span", { class: "small muted" }, ` ${fmtDateTime(when)}`) : null,
              notes.length ? h("div", { class: "small" }, notes.join(" ・ ")) : null,
            );
          }),
        ),
      );
    }),
  );
}

/**
 * @param {string} id
 * @param {(message: string) => void} done
 * @returns {HTMLFormElement}
 */
function commentForm(id, done) {
  const tid = uid("comment");
  const text = h("textarea", { id: tid, name: "text", rows: "3", maxlength: "2000", "data-testid": "comment-text" });
  const submit = h("button", { type: "submit", class: "btn", "data-testid": "comment-submit" }, t("prop.comment_send"));
  const form = h("form", { class: "form", novalidate: true }, h("div", { class: "field", "data-field": "text" }, h("label", { for: tid }, t("prop.comment_new")), text, h("p", { class: "field-error", role: "alert", hidden: true })), formError(), h("div", { class: "form-actions" }, submit));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, async () => {
      try {
        await api.post(`/proposals/${encodeURIComponent(id)}/comments`, { text: text.value });
        done(t("prop.comment_sent"));
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });
  return form;
}

/**
 * 訂正 of a decided proposal's dates (4(17)), by its supervisor or a holder of the grant.
 * @param {Kura.Proposal} p
 * @param {(message: string) => void} done
 * @returns {HTMLElement}
 */
function correctForm(p, done) {
  const fid = uid("correct-field");
  const nid = uid("correct-new");
  const rid = uid("correct-reason");
  const fields = ["proposed_on", "received_on", "decided_on", "answered_on"];
  const field = h("select", { id: fid, name: "field", "data-testid": "correct-field" }, fields.map((f) => h("option", { value: f }, t(`prop.date.${f}`))));
  const current = h("p", { class: "hint", "aria-live": "polite" });
  const newDate = h("input", { id: nid, type: "date", name: "new", "data-testid": "correct-new", required: true });
  const reason = h("input", { id: rid, type: "text", name: "reason", maxlength: "500", "data-testid": "correct-reason" });
  const show = () => {
    const v = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (p))[field.value];
    current.textContent = t("prop.correct.current", { date: typeof v === "string" && v ? fmtDate(v) : "—" });
  };
  field.addEventListener("change", show);
  show();
  const submit = h("button", { type: "submit", class: "btn", "data-testid": "correct-submit" }, t("prop.correct.submit"));
  const form = h(
    "form",
    { class: "form", "data-testid": "correct-form", novalidate: true },
    h(
      "div",
      { class: "pf-grid" },
      h("div", { class: "field", "data-field": "field" }, h("label", { for: fid }, t("prop.correct.field")), field, current, h("p", { class: "field-error", role: "alert", hidden: true })),
      h("div", { class: "field", "data-field": "new" }, h("label", { for: nid }, t("prop.correct.new")), newDate, h("p", { class: "field-error", role: "alert", hidden: true })),
      h("div", { class: "field pf-wide", "data-field": "reason" }, h("label", { for: rid }, t("prop.correct.reason")), reason, h("p", { class: "field-error", role: "alert", hidden: true })),
    ),
    formError(),
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, async () => {
      try {
        await api.post(`/proposals/${encodeURIComponent(p.id)}/corrections`, { version: p.version, field: field.value, new: newDate.value, reason: reason.value });
        done(t("prop.correct.done"));
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });
  return h("section", { class: "card", "aria-labelledby": "pp-correct" }, h("h2", { id: "pp-correct" }, t("prop.correct.title")), h("p", { class: "small muted" }, t("prop.correct.help")), form);
}
