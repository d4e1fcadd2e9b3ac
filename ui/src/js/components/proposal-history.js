// proposal-history.js: what happened to a proposal (seed 001 別表1-1 4(16)-(18)): every event
// of its decision log as it was (代理承認, 後閲, 差戻し with the reason, 引戻し), every revision
// submitted again after a send-back with the fields that changed (before → after) and the
// documents added, replaced or removed, the corrections of its dates (who, when, which date,
// old and new), and the exports (CSV, PDF).
//
//   historyPanel(detail, history) → the panel's element
// Test ids: history-table, history-row (data-kind, data-via), revisions, revision (data-n),
// revision-change (data-field), revision-file (data-change), corrections-table,
// correction-row, history-csv, history-pdf.

import { apiUrl } from "../api.js";
import { fmtDate, fmtDateTime, t } from "../i18n.js";
import { empty, h } from "../ui.js";
import { nameOf } from "./proposal-kit.js";

/** @type {Record<string, string>} */
const CORRECTABLE = { proposed_on: "prop.date.proposed_on", received_on: "prop.date.received_on", decided_on: "prop.date.decided_on", answered_on: "prop.date.answered_on" };

/**
 * @param {Kura.ProposalDetail} d
 * @param {Kura.ProposalHistory} hist
 * @returns {HTMLElement}
 */
export function historyPanel(d, hist) {
  const id = d.proposal.id;
  const events = h(
    "section",
    { class: "card", "aria-labelledby": "ph-events" },
    h("div", { class: "card-head" }, h("h2", { id: "ph-events" }, t("prop.history.events")), h("span", { class: "page-actions" }, h("a", { class: "btn small", href: apiUrl(`/proposals/${encodeURIComponent(id)}/history.csv`), download: "", "data-testid": "history-csv" }, t("prop.history.csv")), h("a", { class: "btn small", href: apiUrl(`/proposals/${encodeURIComponent(id)}/history.pdf`), download: "", "data-testid": "history-pdf" }, t("prop.history.pdf")))),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data", "data-testid": "history-table" },
        h("caption", { class: "sr-only" }, t("prop.history.events")),
        h("thead", {}, h("tr", {}, ["no", "at", "kind", "actor", "org", "detail"].map((c) => h("th", { scope: "col" }, t(`prop.history.col.${c}`))))),
        h(
          "tbody",
          {},
          hist.events.map((e) =>
            h(
              "tr",
              { "data-testid": "history-row", "data-kind": e.kind, "data-via": e.via || "" },
              h("td", { class: "num" }, String(e.seq)),
              h("td", { class: "nowrap" }, h("time", { datetime: e.at }, fmtDateTime(e.at))),
              h("td", { class: "nowrap" }, e.label),
              h("td", { class: "nowrap" }, e.actor_name),
              h("td", {}, e.actor_org),
              h("td", { class: "history-detail" }, e.detail),
            ),
          ),
        ),
      ),
    ),
  );

  const revisions = h(
    "section",
    { class: "card", "aria-labelledby": "ph-revisions", "data-testid": "revisions" },
    h("h2", { id: "ph-revisions" }, t("prop.history.revisions")),
    hist.revisions.length
      ? h(
          "ol",
          { class: "revision-list" },
          hist.revisions.map((r, i) =>
            h(
              "li",
              { class: "revision", "data-testid": "revision", "data-n": String(r.revision) },
              h("h3", {}, t("prop.history.revision", { n: r.revision }), " ", h("span", { class: "small muted" }, `${fmtDateTime(r.submitted_at)} ・ ${nameOf(hist.users, r.submitted_by)}`)),
              i === 0
                ? h("p", { class: "small muted" }, t("prop.history.first"))
                : [
                    r.changes.length
                      ? h(
                          "div",
                          { class: "table-wrap" },
                          h(
                            "table",
                            { class: "data revision-changes" },
                            h("caption", { class: "sr-only" }, t("prop.history.changes_of", { n: r.revision })),
                            h("thead", {}, h("tr", {}, ["field", "old", "new"].map((c) => h("th", { scope: "col" }, t(`prop.history.col.${c}`))))),
                            h(
                              "tbody",
                              {},
                              r.changes.map((c) =>
                                h(
                                  "tr",
                                  { "data-testid": "revision-change", "data-field": c.field },
                                  h("th", { scope: "row" }, c.label),
                                  h("td", {}, h("del", {}, c.old || "—")),
                                  h("td", {}, h("ins", {}, c.new || "—")),
                                ),
                              ),
                            ),
                          ),
                        )
                      : h("p", { class: "small muted" }, t("prop.history.no_field_changes")),
                    r.files.length
                      ? h(
                          "ul",
                          { class: "revision-files" },
                          r.files.map((f) => h("li", { "data-testid": "revision-file", "data-change": f.change }, h("span", { class: `badge ${f.change === "removed" ? "err" : f.change === "added" ? "ok" : "warn"}` }, f.label), " ", f.name)),
                        )
                      : h("p", { class: "small muted" }, t("prop.history.no_file_changes")),
                  ],
            ),
          ),
        )
      : empty(t("prop.history.no_revisions")),
  );

  const corrections = h(
    "section",
    { class: "card", "aria-labelledby": "ph-corrections" },
    h("h2", { id: "ph-corrections" }, t("prop.history.corrections")),
    hist.corrections.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data", "data-testid": "corrections-table" },
            h("caption", { class: "sr-only" }, t("prop.history.corrections")),
            h("thead", {}, h("tr", {}, ["at", "actor", "field", "old", "new", "reason"].map((c) => h("th", { scope: "col" }, t(`prop.history.col.${c}`))))),
            h(
              "tbody",
              {},
              hist.corrections.map((c) =>
                h(
                  "tr",
                  { "data-testid": "correction-row" },
                  h("td", { class: "nowrap" }, fmtDateTime(c.at)),
                  h("td", {}, nameOf(hist.users, c.by)),
                  h("td", {}, t(CORRECTABLE[c.field] || c.field)),
                  h("td", {}, fmtDate(c.old) || "—"),
                  h("td", {}, fmtDate(c.new)),
                  h("td", {}, c.reason || ""),
                ),
              ),
            ),
          ),
        )
      : empty(t("prop.history.no_corrections")),
  );
  return h("div", { class: "history-panel" }, events, revisions, corrections);
}
