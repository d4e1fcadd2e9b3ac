// proposal-decide.js: what an approver, a viewer or an absent approver does on a proposal
// (seed 001 別表1-1 4(2)(3)(11)-(13)(21)(22)): 受付 with 受付日 and 回答予定日, the form's
// 処理・回答 fields of their side, a comment (所見), 承認 or 差戻し (to the proposer or an
// earlier approver, with the reason), 後閲 ahead of absent approvers (a superior), acting as a
// deputy (代理承認, for whom), 閲覧, and the later 後閲 by the absent approver.
//
//   decisionCard(detail, { session, done }) → the card, or null when there is nothing to do
// `done(message)` is called after a transition (the page reloads the proposal).
// Test ids: decide, decide-as, decide-received-on, decide-planned, decide-receive,
// decide-comment, decide-approve, decide-approve-ahead, decide-send-back, decide-send-back-to,
// decide-reason, decide-send-back-confirm, decide-interim, decide-answer-date, decide-answer,
// decide-view, decide-post-review, decide-post-review-comment, decide-error, plus pf-<key> of
// the answer fields.

import { api } from "../api.js";
import { t } from "../i18n.js";
import { busy, confirmDialog, formError, h, uid } from "../ui.js";
import { formFields } from "./proposal-fields.js";
import { clearOnInput, nameOf, showApiErrors, sideOf } from "./proposal-kit.js";

/** @returns {string} today in Japan, YYYY-MM-DD */
function today() {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Asia/Tokyo" }).format(new Date());
}

/**
 * @param {Kura.ProposalDetail} d
 * @param {{ session: Kura.Session | null, done: (message: string) => void }} options
 * @returns {HTMLElement | null}
 */
export function decisionCard(d, { session, done }) {
  const a = d.actions;
  const p = d.proposal;
  const approver = a.approve || a.approve_ahead;
  if (!approver && !a.view && !a.post_review && !a.receive) return null;
  const form = h("form", { class: "form decide", "data-testid": "decide", novalidate: true });
  clearOnInput(form);
  const errorBoxEl = formError();
  errorBoxEl.dataset.testid = "decide-error";
  const definition = d.form.definition;
  const path = `/proposals/${encodeURIComponent(p.id)}`;

  // Acting as: themself or a deputy for an absent approver (4(21)).
  /** @type {HTMLSelectElement | null} */
  let as = null;
  if (a.deputy_for.length) {
    const asId = uid("decide-as");
    as = h(
      "select",
      { id: asId, "data-testid": "decide-as" },
      a.waiting_for_me === "approve" ? h("option", { value: "" }, t("prop.decide.as_self")) : null,
      a.deputy_for.map((pid) => h("option", { value: pid }, t("prop.decide.as_deputy", { name: nameOf(d.users, pid) }))),
    );
    form.append(h("div", { class: "field" }, h("label", { for: asId }, t("prop.decide.as")), as, h("p", { class: "hint" }, t("prop.decide.as_hint"))));
  }
  const onBehalf = () => (as && as.value ? { on_behalf_of: as.value } : {});

  /**
   * POST one transition with the version seen; the page reloads after.
   * @param {HTMLButtonElement} button
   * @param {string} action
   * @param {Record<string, unknown>} body
   * @param {string} message
   */
  const send = (button, action, body, message) =>
    busy(button, async () => {
      try {
        await api.post(`${path}/${action}`, { version: p.version, ...body });
        done(message);
      } catch (err) {
        showApiErrors(form, err, definition, "answers");
      }
    });

  if (a.receive) {
    const rid = uid("decide-received");
    const pid = uid("decide-planned");
    const received = h("input", { id: rid, type: "date", value: today(), name: "received_on", "data-testid": "decide-received-on" });
    const planned = h("input", { id: pid, type: "date", name: "planned_answer_date", value: p.planned_answer_date || "", "data-testid": "decide-planned" });
    const receive = h("button", { type: "button", class: "btn", "data-testid": "decide-receive" }, t("prop.decide.receive"));
    receive.addEventListener("click", () => send(receive, "receive", { received_on: received.value || null, planned_answer_date: planned.value || null, ...onBehalf() }, t("prop.decide.received")));
    form.append(
      h(
        "fieldset",
        { class: "decide-group" },
        h("legend", {}, t("prop.decide.receive_legend")),
        h("div", { class: "pf-grid" }, h("div", { class: "field", "data-field": "received_on" }, h("label", { for: rid }, t("prop.date.received_on")), received, h("p", { class: "field-error", role: "alert", hidden: true })), h("div", { class: "field", "data-field": "planned_answer_date" }, h("label", { for: pid }, t("prop.date.planned_answer_date")), planned, h("p", { class: "field-error", role: "alert", hidden: true }))),
        receive,
      ),
    );
  }

  /** @type {{ el: HTMLElement, values: () => Record<string, unknown> } | null} */
  let answers = null;
  if (approver) {
    const side = sideOf(session);
    const hasAnswerFields = definition.fields.some((f) => f.part === "answer" && [side, "any"].includes(f.side || "any"));
    if (hasAnswerFields) {
      answers = formFields({ definition, values: p.answers || {}, part: "answer", sides: [side, "any"], prefix: "answers" });
      const interimId = uid("decide-interim");
      const dateId = uid("decide-answer-date");
      const interim = h("input", { id: interimId, type: "checkbox", "data-testid": "decide-interim" });
      const date = h("input", { id: dateId, type: "date", value: today(), name: "answer_date", "data-testid": "decide-answer-date" });
      const answerBtn = h("button", { type: "button", class: "btn", "data-testid": "decide-answer" }, t("prop.decide.answer"));
      const values = answers.values;
      answerBtn.addEventListener("click", () => send(answerBtn, "answer", { answers: values(), interim: interim.checked, answer_date: date.value || null, ...onBehalf() }, t("prop.decide.answered")));
      form.append(
        h(
          "fieldset",
          { class: "decide-group" },
          h("legend", {}, t("prop.decide.answer_legend")),
          answers.el,
          h("div", { class: "pf-grid" }, h("div", { class: "field", "data-field": "answer_date" }, h("label", { for: dateId }, t("prop.decide.answer_date")), date, h("p", { class: "field-error", role: "alert", hidden: true })), h("div", { class: "field" }, h("label", { class: "check", for: interimId }, interim, " ", t("prop.decide.interim")))),
          h("p", { class: "hint" }, t("prop.decide.answer_hint")),
          answerBtn,
        ),
      );
    }
    const commentId = uid("decide-comment");
    const comment = h("textarea", { id: commentId, rows: "3", maxlength: "2000", name: "comment", "data-testid": "decide-comment" });
    form.append(h("div", { class: "field", "data-field": "comment" }, h("label", { for: commentId }, t("prop.decide.comment")), comment, h("p", { class: "field-error", role: "alert", hidden: true })));
    const buttons = h("div", { class: "form-actions" });
    const withAnswers = () => (answers ? { answers: answers.values() } : {});
    if (a.approve) {
      const approve = h("button", { type: "button", class: "btn primary", "data-testid": "decide-approve" }, t("prop.decide.approve"));
      approve.addEventListener("click", () => send(approve, "approve", { comment: comment.value, ...withAnswers(), ...onBehalf() }, t("prop.decide.approved")));
      buttons.append(approve);
    }
    if (a.approve_ahead) {
      const ahead = h("button", { type: "button", class: "btn", "data-testid": "decide-approve-ahead" }, t("prop.decide.approve_ahead"));
      ahead.addEventListener("click", async () => {
        if (!(await confirmDialog(t("prop.decide.approve_ahead_confirm")))) return;
        await send(ahead, "approve", { comment: comment.value, post_review: true, ...withAnswers() }, t("prop.decide.approved_ahead"));
      });
      buttons.append(ahead);
    }
    if (a.send_back) {
      const toId = uid("decide-to");
      const reasonId = uid("decide-reason");
      const to = h(
        "select",
        { id: toId, "data-testid": "decide-send-back-to" },
        a.send_back_targets.map((target) => h("option", { value: target }, target === "proposer" ? t("prop.decide.to_proposer", { name: nameOf(d.users, p.proposer_id) }) : t("prop.decide.to_approver", { name: nameOf(d.users, target) }))),
      );
      const reason = h("textarea", { id: reasonId, rows: "3", maxlength: "2000", name: "reason", "data-testid": "decide-reason" });
      const confirm = h("button", { type: "button", class: "btn danger", "data-testid": "decide-send-back-confirm" }, t("prop.decide.send_back_confirm"));
      const box = h(
        "fieldset",
        { class: "decide-group", hidden: true },
        h("legend", {}, t("prop.decide.send_back_legend")),
        h("div", { class: "field", "data-field": "to" }, h("label", { for: toId }, t("prop.decide.send_back_to")), to, h("p", { class: "field-error", role: "alert", hidden: true })),
        h("div", { class: "field", "data-field": "reason" }, h("label", { for: reasonId }, t("prop.decide.reason"), h("span", { class: "req", "aria-hidden": "true" }, " *")), reason, h("p", { class: "field-error", role: "alert", hidden: true })),
        confirm,
      );
      const open = h("button", { type: "button", class: "btn", "data-testid": "decide-send-back", "aria-expanded": "false" }, t("prop.decide.send_back"));
      open.addEventListener("click", () => {
        box.hidden = !box.hidden;
        open.setAttribute("aria-expanded", String(!box.hidden));
        if (!box.hidden) reason.focus();
      });
      confirm.addEventListener("click", () => send(confirm, "send-back", { to: to.value, reason: reason.value, ...onBehalf() }, t("prop.decide.sent_back")));
      buttons.append(open);
      form.append(buttons, box);
    } else {
      form.append(buttons);
    }
  }

  if (a.view) {
    const view = h("button", { type: "button", class: "btn primary", "data-testid": "decide-view" }, t("prop.decide.view"));
    view.addEventListener("click", () => send(view, "view", {}, t("prop.decide.viewed")));
    form.append(h("fieldset", { class: "decide-group" }, h("legend", {}, t("prop.decide.view_legend")), h("p", { class: "hint" }, t("prop.decide.view_hint")), view));
  }
  if (a.post_review) {
    const cid = uid("decide-pr");
    const text = h("textarea", { id: cid, rows: "2", maxlength: "2000", "data-testid": "decide-post-review-comment" });
    const review = h("button", { type: "button", class: "btn primary", "data-testid": "decide-post-review" }, t("prop.decide.post_review"));
    review.addEventListener("click", () => send(review, "post-review", { comment: text.value }, t("prop.decide.post_reviewed")));
    form.append(h("fieldset", { class: "decide-group" }, h("legend", {}, t("prop.decide.post_review_legend")), h("p", { class: "hint" }, t("prop.decide.post_review_hint")), h("div", { class: "field" }, h("label", { for: cid }, t("prop.decide.comment")), text), review));
  }
  form.append(errorBoxEl);
  form.addEventListener("submit", (e) => e.preventDefault());
  return h("section", { class: "card decide-card", "aria-labelledby": "decide-title" }, h("h2", { id: "decide-title" }, t("prop.decide.title")), form);
}
