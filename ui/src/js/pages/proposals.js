// Lists of proposals (seed 001 別表1-1 4(4)-(7)):
//   #/proposals                every proposal the reader may read, of all or chosen works (a
//                              supervisor's list across works, 4(5))
//   #/works/<id>/proposals     one work's proposals (4(4)), with 新規作成 and the pre-meetings tab
// Columns of 4(6): 工事名, タイトル, 承認・閲覧状況, 回答希望日, 受付日, 回答予定日, 回答日 (and
// number, state, proposer); filters of 4(7) in the address (?state=, work=, form=, importance=,
// overdue=1, date_field= from= to=, q=, sort=, order=), so a list can be bookmarked; sorted by
// any column (the header buttons) and paged with a cursor (さらに表示).
// Test ids: proposals-page, proposals-filters, pl-q, pl-state-<state>, pl-importance,
// pl-overdue, pl-date-field, pl-from, pl-to, pl-form, pl-works, pl-sort, pl-order, pl-apply,
// pl-clear, proposals-table, proposals-row (data-id, data-state), proposals-more,
// proposals-empty, sort-<column>, proposal-new, work-tabs.
import { api } from "../api.js";
import { fmtDate, t } from "../i18n.js";
import { href } from "../router.js";
import { badge, busy, clear, empty, errorBox, h, loading, pageHeader, uid } from "../ui.js";
import { ensureProposalStyles, importanceBadge, stateBadge } from "../components/proposal-kit.js";

const STATES = ["draft", "in_review", "sent_back", "withdrawn", "decided", "cancelled"];
const DATE_FIELDS = ["requested_answer_date", "proposed_on", "received_on", "planned_answer_date", "answered_on", "decided_on"];
// Sortable columns: (key of the row, sort field of the API).
const COLUMNS = [
  ["number", "number"],
  ["work_title", "work_title"],
  ["title", "title"],
  ["status", null],
  ["requested_answer_date", "requested_answer_date"],
  ["received_on", "received_on"],
  ["planned_answer_date", "planned_answer_date"],
  ["answered_on", "answered_on"],
  ["updated_at", "updated_at"],
];

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureProposalStyles();
  const workId = typeof params.id === "string" ? params.id : null;
  const q = params.query || {};
  /** @type {Kura.Work | null} */
  const work = workId ? await api.get(`/works/${encodeURIComponent(workId)}`) : null;
  const title = work ? t("prop.list.work_title") : t("prop.list.title");
  ctx.setTitle(work ? `${title} — ${work.title}` : title);

  /** @type {Kura.ProposalForm[]} */
  let forms;
  /** @type {Kura.Work[]} */
  let works = [];
  try {
    /** @type {Kura.FormList} */
    const list = await api.get("/proposal-forms", work ? { org_id: work.orderer_org_id } : {});
    forms = list.items;
  } catch {
    forms = [];
  }
  if (!work) works = await readableWorks();

  const chosenStates = (q.state || "").split(",").filter((s) => STATES.includes(s));
  const chosenWorks = (q.work || "").split(",").filter(Boolean);
  const sort = q.sort || "updated_at";
  const order = q.order === "asc" ? "asc" : "desc";

  // -- filters (4(7)) ---------------------------------------------------------------------------
  const qId = uid("pl-q");
  const qInput = h("input", { id: qId, type: "search", name: "q", value: q.q || "", maxlength: "200", "data-testid": "pl-q" });
  const stateBoxes = STATES.map((s) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "state", value: s, checked: chosenStates.includes(s), "data-testid": `pl-state-${s}` }), ` ${t(`prop.state.${s}`)}`),
  );
  const impId = uid("pl-imp");
  const importance = h(
    "select",
    { id: impId, name: "importance", "data-testid": "pl-importance" },
    h("option", { value: "" }, t("common.all")),
    ["normal", "important"].map((v) => h("option", { value: v, selected: q.importance === v }, t(`prop.importance.${v}`))),
  );
  const overdue = h("input", { type: "checkbox", name: "overdue", checked: q.overdue === "1", "data-testid": "pl-overdue" });
  const dfId = uid("pl-df");
  const dateField = h("select", { id: dfId, name: "date_field", "data-testid": "pl-date-field" }, DATE_FIELDS.map((f) => h("option", { value: f, selected: q.date_field === f }, t(`prop.date.${f}`))));
  const fromId = uid("pl-from");
  const toId = uid("pl-to");
  const from = h("input", { id: fromId, type: "date", name: "from", value: q.from || "", "data-testid": "pl-from" });
  const to = h("input", { id: toId, type: "date", name: "to", value: q.to || "", "data-testid": "pl-to" });
  const formId = uid("pl-form");
  const formSel = h("select", { id: formId, name: "form", "data-testid": "pl-form" }, h("option", { value: "" }, t("common.all")), forms.map((f) => h("option", { value: f.id, selected: q.form === f.id }, f.name)));
  const worksId = uid("pl-works");
  const worksSel = work
    ? null
    : h(
        "select",
        { id: worksId, name: "work", multiple: true, size: String(Math.min(6, Math.max(3, works.length))), "data-testid": "pl-works" },
        works.map((w) => h("option", { value: w.id, selected: chosenWorks.includes(w.id) }, w.title)),
      );
  const sortId = uid("pl-sort");
  const sortSel = h("select", { id: sortId, name: "sort", "data-testid": "pl-sort" }, COLUMNS.filter(([, f]) => f).map(([c, f]) => h("option", { value: f || "", selected: sort === f }, t(`prop.col.${c}`))));
  const orderId = uid("pl-order");
  const orderSel = h("select", { id: orderId, name: "order", "data-testid": "pl-order" }, h("option", { value: "desc", selected: order === "desc" }, t("prop.list.desc")), h("option", { value: "asc", selected: order === "asc" }, t("prop.list.asc")));
  const apply = h("button", { type: "submit", class: "btn primary", "data-testid": "pl-apply" }, t("common.search"));
  const clearBtn = h("a", { class: "btn link", href: base(), "data-testid": "pl-clear" }, t("common.clear"));
  const filters = h(
    "form",
    { class: "card toolbar proposals-filters", role: "search", "aria-label": t("prop.list.filters"), "data-testid": "proposals-filters" },
    h("div", { class: "field wide" }, h("label", { for: qId }, t("prop.list.q")), qInput),
    h("fieldset", { class: "field pl-states" }, h("legend", {}, t("prop.col.status")), h("div", { class: "check-row" }, stateBoxes)),
    h("div", { class: "field" }, h("label", { for: impId }, t("prop.importance")), importance),
    h("div", { class: "field" }, h("label", { class: "check" }, overdue, " ", t("prop.list.overdue"))),
    h("div", { class: "field" }, h("label", { for: dfId }, t("prop.list.date_field")), dateField),
    h("div", { class: "field" }, h("label", { for: fromId }, t("prop.list.from")), from),
    h("div", { class: "field" }, h("label", { for: toId }, t("prop.list.to")), to),
    h("div", { class: "field" }, h("label", { for: formId }, t("prop.list.form")), formSel),
    worksSel ? h("div", { class: "field wide" }, h("label", { for: worksId }, t("prop.list.works")), worksSel, h("p", { class: "hint" }, t("prop.list.works_hint"))) : null,
    h("div", { class: "field" }, h("label", { for: sortId }, t("prop.list.sort")), sortSel),
    h("div", { class: "field" }, h("label", { for: orderId }, t("prop.list.order")), orderSel),
    h("div", { class: "form-actions" }, apply, clearBtn),
  );
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    /** @type {Record<string, string>} */
    const next = {};
    if (qInput.value.trim()) next.q = qInput.value.trim();
    const states = stateBoxes.map((b) => b.querySelector("input")).filter((x) => x instanceof HTMLInputElement && x.checked);
    if (states.length) next.state = states.map((x) => (x instanceof HTMLInputElement ? x.value : "")).join(",");
    if (importance.value) next.importance = importance.value;
    if (overdue.checked) next.overdue = "1";
    if (from.value || to.value) {
      next.date_field = dateField.value;
      if (from.value) next.from = from.value;
      if (to.value) next.to = to.value;
    }
    if (formSel.value) next.form = formSel.value;
    if (worksSel) {
      const ids = [...worksSel.selectedOptions].map((o) => o.value);
      if (ids.length) next.work = ids.join(",");
    }
    next.sort = sortSel.value;
    next.order = orderSel.value;
    ctx.navigate(`${base()}?${new URLSearchParams(next)}`);
  });

  function base() {
    return work ? `${href("/works", work.id)}/proposals` : "#/proposals";
  }

  /** @param {string} column the sort field */
  const sortHref = (column) => {
    const next = new URLSearchParams(q);
    next.set("sort", column);
    next.set("order", sort === column && order === "asc" ? "desc" : "asc");
    return `${base()}?${next}`;
  };

  // -- the table --------------------------------------------------------------------------------
  const tbody = h("tbody", {});
  const more = h("button", { type: "button", class: "btn", hidden: true, "data-testid": "proposals-more" }, t("common.more"));
  const countNote = h("span", { class: "small muted", "aria-live": "polite", "data-testid": "proposals-count" });
  const cols = COLUMNS.filter(([c]) => !(work && c === "work_title"));
  const table = h(
    "table",
    { class: "data proposals-table", "data-testid": "proposals-table" },
    h("caption", { class: "sr-only" }, title),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        cols.map(([c, f]) => {
          const sorted = f && sort === f ? (order === "asc" ? "ascending" : "descending") : null;
          return h(
            "th",
            { scope: "col", "aria-sort": sorted },
            f ? h("a", { href: sortHref(f), class: "sort-link", "data-testid": `sort-${c}` }, t(`prop.col.${c}`), sorted ? h("span", { "aria-hidden": "true" }, order === "asc" ? " ▲" : " ▼") : null) : t(`prop.col.${c}`),
          );
        }),
      ),
    ),
    tbody,
  );
  const list = h("div", {}, loading());

  /** @param {Kura.ProposalRow} r */
  const row = (r) =>
    h(
      "tr",
      { "data-testid": "proposals-row", "data-id": r.id, "data-state": r.state },
      cols.map(([c]) => {
        switch (c) {
          case "number":
            return h("td", { class: "num mono" }, r.number ? String(r.number) : "—");
          case "work_title":
            return h("td", { class: "pl-work" }, h("a", { href: `${href("/works", r.work_id)}/proposals` }, r.work_title));
          case "title":
            return h("td", { class: "pl-title" }, h("a", { href: href("/proposals", r.id) }, r.title || t("prop.untitled")), h("div", { class: "small muted" }, `${r.form_name} ・ ${r.proposer_name}`), importanceBadge(r.importance));
          case "status":
            return h("td", {}, stateBadge(r.state, r.state_label), h("div", { class: "small" }, r.status_text));
          case "requested_answer_date":
            return h(
              "td",
              { class: "nowrap" },
              fmtDate(r.requested_answer_date) || "—",
              r.days_left !== null ? h("div", {}, badge(r.days_left < 0 ? t("prop.overdue_days", { n: -r.days_left }) : t("prop.days_left", { n: r.days_left }), r.days_left < 0 ? "err" : r.days_left <= 2 ? "warn" : "neutral")) : null,
            );
          case "updated_at":
            return h("td", { class: "nowrap" }, fmtDate(r.updated_at));
          default: {
            const v = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (r))[String(c)];
            return h("td", { class: "nowrap" }, typeof v === "string" && v ? fmtDate(v) : "—");
          }
        }
      }),
    );

  /** @type {string | null} */
  let cursor = null;
  let shown = 0;
  /** @param {string | null} from_ */
  async function load(from_) {
    /** @type {Record<string, unknown>} */
    const query = { sort, order, limit: 50, cursor: from_ || undefined, q: q.q, importance: q.importance, form_id: q.form, overdue: q.overdue === "1" ? "true" : undefined };
    if (chosenStates.length) query.state = chosenStates;
    if (!work && chosenWorks.length) query.work = chosenWorks;
    if (q.date_field && (q.from || q.to)) Object.assign(query, { date_field: q.date_field, date_from: q.from, date_to: q.to });
    /** @type {Kura.ProposalPage} */
    const page = await api.get(work ? `/works/${encodeURIComponent(work.id)}/proposals` : "/proposals", query);
    tbody.append(...page.items.map(row));
    shown += page.items.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    countNote.textContent = cursor ? t("common.count_more", { n: shown }) : t("common.count", { n: shown });
    if (page.truncated) countNote.textContent += ` ${t("prop.list.truncated")}`;
    return page;
  }
  more.addEventListener("click", () => busy(more, async () => void (await load(cursor))));

  // -- the page ---------------------------------------------------------------------------------
  /** @type {Kura.Child[]} */
  const head = [];
  if (work) {
    head.push(h("nav", { class: "breadcrumb", "aria-label": t("prop.breadcrumb") }, h("a", { href: href("/works", work.id) }, work.title)));
    const newBtn = h("a", { class: "btn primary", href: `${href("/works", work.id)}/proposals/new`, "data-testid": "proposal-new" }, t("prop.list.new"));
    head.push(pageHeader(`${work.title}`, newBtn), workTabs(work.id, "proposals"));
  } else {
    head.push(pageHeader(title, h("a", { class: "btn", href: "#/inbox", "data-testid": "pl-inbox" }, t("prop.inbox.title")), h("a", { class: "btn", href: "#/delegations", "data-testid": "pl-delegations" }, t("prop.deleg.title"))));
  }
  root.append(h("div", { class: "proposals-page", "data-testid": "proposals-page" }, head, filters, list));
  try {
    const page = await load(null);
    clear(list);
    if (!page.items.length) {
      list.append(h("div", { class: "card", "data-testid": "proposals-empty" }, empty(t("prop.list.empty"))));
      return;
    }
    list.append(h("div", { class: "card" }, h("div", { class: "table-wrap" }, table), h("div", { class: "table-foot" }, countNote, more)));
  } catch (err) {
    clear(list).append(errorBox(err));
  }
}

/**
 * The tabs of a work's collaboration pages: 発議書類 / 事前打合せ.
 * @param {string} workId
 * @param {"proposals" | "premeetings"} here
 * @returns {HTMLElement}
 */
export function workTabs(workId, here) {
  return h(
    "nav",
    { class: "work-tabs", "aria-label": t("prop.list.work_tabs"), "data-testid": "work-tabs" },
    h("a", { href: `${href("/works", workId)}/proposals`, "aria-current": here === "proposals" ? "page" : null, "data-testid": "work-tab-proposals" }, t("prop.list.work_title")),
    h("a", { href: `${href("/works", workId)}/premeetings`, "aria-current": here === "premeetings" ? "page" : null, "data-testid": "work-tab-premeetings" }, t("prop.pm.title")),
  );
}

/**
 * The works the reader reads (for the works filter), up to 1,000.
 * @returns {Promise<Kura.Work[]>}
 */
async function readableWorks() {
  /** @type {Kura.Work[]} */
  const out = [];
  /** @type {string | undefined} */
  let cursor;
  for (let i = 0; i < 5; i += 1) {
    try {
      /** @type {Kura.Page<Kura.Work>} */
      const page = await api.get("/works", { limit: 200, sort: "title", order: "asc", cursor });
      out.push(...page.items);
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    } catch {
      break;
    }
  }
  return out;
}
