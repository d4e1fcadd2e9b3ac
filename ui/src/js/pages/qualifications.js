// #/qualifications: the application rounds (seed 004 第1 1-2). An applicant sees each round's
// window now (open until 17:00, or the next open time), its own draft or filing and what it may
// do (start, continue, re-apply, print the receipt); a municipality its list of what was sent
// to it; the operator the management page.

import { qualStyles } from "../components/qual-fields.js";
import { api } from "../api.js";
import { fmtDate, fmtDateTime, t } from "../i18n.js";
import { hasGrant, isOperator } from "../router.js";
import { clear, empty, errorBox, h, loading, pageHeader } from "../ui.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} _params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, _params, ctx) {
  qualStyles();
  ctx.setTitle(t("qual.title"));
  root.append(loading());
  /** @type {Kura.QualRound[]} */
  let rounds;
  try {
    rounds = await api.get("/qualifications/rounds");
  } catch (e) {
    clear(root).append(errorBox(e));
    return;
  }
  const s = ctx.session;
  const applicant = Boolean(s && s.org_kind === "contractor" && hasGrant(s, "qualifications.apply"));
  clear(root).append(
    pageHeader(
      t("qual.title"),
      s && isOperator(s) ? h("a", { class: "btn", href: "#/qualifications/admin", "data-testid": "qual-admin" }, t("qual.admin")) : null,
    ),
    h("p", { class: "qintro" }, t("qual.intro")),
    rounds.length ? h("div", { class: "qrounds" }, rounds.map((r) => roundCard(r, applicant))) : empty(t("qual.rounds.empty")),
  );
}

/**
 * @param {Kura.QualRound} r
 * @param {boolean} applicant
 */
function roundCard(r, applicant) {
  const w = r.windows.apply;
  const base = `#/qualifications/${encodeURIComponent(r.id)}`;
  const mine = r.mine || {};
  /** @type {Kura.Child[]} */
  const actions = [];
  if (applicant) {
    if (mine.application) {
      actions.push(h("a", { class: "btn primary", href: `${base}/apply?step=entry`, "data-testid": "reapply" }, t("qual.reapply")));
      actions.push(h("a", { class: "btn", href: `/api/v1/qualifications/applications/${encodeURIComponent(mine.application.id)}/receipt.pdf`, target: "_blank", rel: "noopener", "data-testid": "round-receipt" }, t("qual.receipt")));
    } else {
      actions.push(h("a", { class: "btn primary", href: `${base}/apply?step=entry`, "data-testid": "apply" }, mine.draft ? t("qual.continue") : t("qual.start")));
    }
  }
  if (r.receives) actions.push(h("a", { class: "btn", href: `${base}/received`, "data-testid": "received" }, t("qual.received")));
  return h(
    "section",
    { class: "card qround", "data-testid": "round", "data-id": r.id, "aria-labelledby": `round-${r.id}` },
    h("h2", { id: `round-${r.id}` }, r.name),
    h(
      "p",
      { class: `qwindow ${w.open ? "open" : "closed"}`, "data-testid": "round-window" },
      h("strong", {}, w.open ? t("qual.round.open") : t("qual.round.closed")),
      " ",
      w.message,
    ),
    h(
      "ul",
      { class: "qfacts" },
      h("li", {}, t("qual.round.period", { start: fmtDate(r.filing_start), end: fmtDate(r.filing_end), open: w.hours.open, close: w.hours.close })),
      h("li", {}, t("qual.round.paper", { date: fmtDate(r.paper_deadline) })),
      h("li", {}, t("qual.round.correction", { date: fmtDate(r.correction_deadline) })),
      r.additional_start && r.additional_end ? h("li", {}, t("qual.round.additional", { start: fmtDate(r.additional_start), end: fmtDate(r.additional_end) })) : null,
      h("li", {}, `${t("qual.targets")}: ${r.targets.map((x) => x.name).join("、")}`),
    ),
    applicant
      ? h(
          "p",
          { class: "qmine", "data-testid": "round-mine" },
          mine.application
            ? t("qual.mine.sent", { no: mine.application.receipt_no, at: fmtDateTime(mine.application.sent_at) })
            : mine.draft
              ? t("qual.mine.draft", { at: fmtDateTime(mine.draft.updated_at) })
              : t("qual.mine.none"),
        )
      : null,
    actions.length ? h("div", { class: "toolbar" }, actions) : null,
  );
}
