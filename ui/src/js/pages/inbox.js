// The inbox (#/inbox): what waits for me across works: approvals (also those of the approvers
// who named me deputy, inside the delegation's window, 4(21)), views, post-reviews (4(22)) and
// my proposals sent back for revision. Its count is the header's badge (the same conditions).
// Test ids: inbox-page, inbox-count, inbox-table, inbox-row (data-id, data-action), inbox-empty,
// inbox-more.
import { api } from "../api.js";
import { fmtDate, t } from "../i18n.js";
import { href } from "../router.js";
import { badge, busy, clear, empty, errorBox, h, loading } from "../ui.js";
import { ensureProposalStyles, importanceBadge, stateBadge } from "../components/proposal-kit.js";

/** @type {Record<string, string>} */
const TONE = { approve: "info", view: "neutral", post_review: "warn", revise: "err" };

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureProposalStyles();
  ctx.setTitle(t("prop.inbox.title"));
  const count = h("span", { class: "badge info", "data-testid": "inbox-count" }, "…");
  root.append(
    h(
      "div",
      { class: "page-header" },
      h("h1", { tabindex: "-1" }, t("prop.inbox.title"), " ", count),
      h("div", { class: "page-actions" }, h("a", { class: "btn", href: "#/proposals", "data-testid": "inbox-all" }, t("prop.list.title")), h("a", { class: "btn", href: "#/delegations", "data-testid": "inbox-delegations" }, t("prop.deleg.title"))),
    ),
    h("p", { class: "small muted" }, t("prop.inbox.help")),
  );
  const list = h("div", { "data-testid": "inbox-page" }, loading());
  root.append(list);
  const tbody = h("tbody", {});
  const more = h("button", { type: "button", class: "btn", hidden: true, "data-testid": "inbox-more" }, t("common.more"));
  /** @type {string | null} */
  let cursor = null;

  /** @param {Kura.ProposalRow} r */
  const row = (r) =>
    h(
      "tr",
      { "data-testid": "inbox-row", "data-id": r.id, "data-action": r.action || "" },
      h("td", {}, badge(t(`prop.inbox.action.${r.action || "none"}`), TONE[r.action || ""] || "neutral"), r.deputy_for_name ? h("div", { class: "small" }, t("prop.inbox.deputy_for", { name: r.deputy_for_name })) : null),
      h("td", {}, h("a", { href: `${href("/works", r.work_id)}/proposals` }, r.work_title)),
      h("td", { class: "pl-title" }, h("a", { href: href("/proposals", r.id) }, r.title || t("prop.untitled")), h("div", { class: "small muted" }, `${r.form_name} ・ ${r.proposer_name}`), importanceBadge(r.importance)),
      h("td", {}, stateBadge(r.state, r.state_label), h("div", { class: "small" }, r.status_text)),
      h(
        "td",
        { class: "nowrap" },
        fmtDate(r.requested_answer_date) || "—",
        r.days_left !== null ? h("div", {}, badge(r.days_left < 0 ? t("prop.overdue_days", { n: -r.days_left }) : t("prop.days_left", { n: r.days_left }), r.days_left < 0 ? "err" : r.days_left <= 2 ? "warn" : "neutral")) : null,
      ),
    );

  /** @param {string | null} from */
  async function load(from) {
    /** @type {Kura.ProposalPage} */
    const page = await api.get("/proposals/inbox", { sort: "requested_answer_date", order: "asc", limit: 50, cursor: from || undefined });
    tbody.append(...page.items.map(row));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    count.textContent = String(page.total ?? tbody.children.length);
    return page;
  }
  more.addEventListener("click", () => busy(more, async () => void (await load(cursor))));
  try {
    const page = await load(null);
    clear(list);
    if (!page.items.length) {
      list.append(h("div", { class: "card", "data-testid": "inbox-empty" }, empty(t("prop.inbox.empty"))));
      return;
    }
    list.append(
      h(
        "div",
        { class: "card" },
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data", "data-testid": "inbox-table" },
            h("caption", { class: "sr-only" }, t("prop.inbox.title")),
            h("thead", {}, h("tr", {}, ["action", "work_title", "title", "status", "requested_answer_date"].map((c) => h("th", { scope: "col" }, t(`prop.col.${c}`))))),
            tbody,
          ),
        ),
        h("div", { class: "table-foot" }, h("span", {}), more),
      ),
    );
  } catch (err) {
    clear(list).append(errorBox(err));
  }
}
