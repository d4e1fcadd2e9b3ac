// Audit trail (#/admin/audit?action=&actor=&target=&since=&until=): filters in the hash,
// cursor paging, export of the same filters as CSV or JSON lines (a plain download link).
// For people (issue 8 §3 item 6): actions and targets in Japanese words with names, the
// detail as labelled fields, the action chosen from a list, dates typed as 和暦 or Western,
// and a run of the same action by the same person on the same work (an upload of 40 files)
// as one line that opens.
import { apiUrl, api, ApiError } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { navigate } from "../router.js";
import { adminLayout } from "./admin.js";
import { clear, control, empty, errorBox, field, formError, h, loading, pageHeader, selectField, setFieldError, showFormErrors } from "../ui.js";
import { parseDate } from "../components/dates.js";

const GROUP_GAP_MS = 10 * 60 * 1000; // events further apart than this start a new line

/**
 * An audit event (api/audit).
 * @typedef {object} AuditEvent
 * @property {string} at
 * @property {string} [actor_login]
 * @property {string} actor_id
 * @property {string} action
 * @property {string} target
 * @property {Record<string, unknown>} [detail]
 * @property {string} [action_name]
 * @property {string | null} [actor_name]
 * @property {string | null} [target_name]
 * @property {string | null} [work_id]
 * @property {{ key: string, label: string, value: string }[]} [fields]
 */

/**
 * Consecutive events by the same person doing the same thing on the same work, close in
 * time: one line of the trail.
 * @param {AuditEvent[]} events newest first
 * @returns {AuditEvent[][]}
 */
export function groupEvents(events) {
  /** @type {AuditEvent[][]} */
  const groups = [];
  for (const ev of events) {
    const last = groups[groups.length - 1];
    const head = last && last[last.length - 1];
    const same =
      head &&
      head.actor_id === ev.actor_id &&
      head.action === ev.action &&
      Boolean(ev.work_id) &&
      head.work_id === ev.work_id &&
      Math.abs(new Date(head.at).getTime() - new Date(ev.at).getTime()) <= GROUP_GAP_MS;
    if (same) last.push(ev);
    else groups.push([ev]);
  }
  return groups;
}

/**
 * Dates typed as days are sent as the start of that day in Japan time (until: end of day).
 * @param {string | undefined} day
 * @param {boolean} end
 * @returns {string | undefined}
 */
function dayBound(day, end) {
  if (!day) return undefined;
  return end ? `${day}T23:59:59.999+09:00` : `${day}T00:00:00+09:00`;
}

/**
 * Who did it: the name, with the login ID the filter takes.
 * @param {AuditEvent} ev
 * @returns {Kura.Child}
 */
function actorOf(ev) {
  if (ev.actor_name) return [ev.actor_name, ev.actor_login ? h("span", { class: "muted small" }, `（${ev.actor_login}）`) : null];
  if (ev.actor_login) return ev.actor_login;
  return ev.actor_id.startsWith("system") ? t("audit.system") : h("span", { class: "muted" }, t("work.name_unknown"));
}

/**
 * @param {AuditEvent} ev
 * @returns {Kura.Child}
 */
function detailOf(ev) {
  const fields = ev.fields || [];
  if (!fields.length) return "";
  return h("dl", { class: "audit-fields" }, fields.map((f) => [h("dt", {}, f.label), h("dd", {}, f.value)]));
}

/**
 * One line of the trail: an event, or a run of the same action (folded, opens to the list).
 * @param {AuditEvent[]} group newest first
 * @returns {HTMLTableRowElement}
 */
function rowOf(group) {
  const ev = group[0];
  const action = ev.action_name || ev.action;
  if (group.length === 1) {
    return h(
      "tr",
      { "data-testid": "audit-row", "data-action": ev.action },
      h("td", { class: "nowrap small" }, fmtDateTime(ev.at)),
      h("td", {}, actorOf(ev)),
      h("td", { class: "audit-action" }, action),
      h("td", { class: "target" }, ev.target_name || h("span", { class: "mono small" }, ev.target)),
      h("td", {}, detailOf(ev)),
    );
  }
  const last = group[group.length - 1];
  return h(
    "tr",
    { "data-testid": "audit-row", "data-action": ev.action, "data-group": String(group.length) },
    h("td", { class: "small" }, h("span", { class: "nowrap" }, fmtDateTime(last.at)), h("br", {}), h("span", { class: "nowrap" }, `〜 ${fmtDateTime(ev.at)}`)),
    h("td", {}, actorOf(ev)),
    h("td", { class: "audit-action" }, t("audit.grouped", { action, n: group.length })),
    h(
      "td",
      { class: "target", colspan: "2" },
      h(
        "details",
        { "data-testid": "audit-group" },
        h("summary", {}, t("audit.group_open", { n: group.length })),
        h("ul", { class: "audit-group-list", tabindex: "0", "aria-label": t("audit.group_open", { n: group.length }) }, group.map((g) => h("li", {}, h("span", { class: "small muted" }, fmtDateTime(g.at)), " ", g.target_name || g.target))),
      ),
    ),
  );
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const content = adminLayout(root, ctx, "/admin/audit");
  const q = params.query || {};
  const filters = { action: q.action, actor: q.actor, target: q.target, since: dayBound(q.since, false), until: dayBound(q.until, true) };
  /**
   * @param {string} format
   * @param {string} key
   * @param {string} testid
   */
  const exportLink = (format, key, testid) => h("a", { class: "btn", href: apiUrl("/audit/events/export", { ...filters, format }), download: "", "data-testid": testid }, t(key));
  /** @type {{ action: string, name: string }[]} */
  const actions = await api.get("/audit/actions").catch(() => []);
  const form = h(
    "form",
    { class: "toolbar", role: "search", novalidate: true, "data-testid": "audit-filters" },
    selectField({ name: "action", label: t("audit.action"), value: q.action || "", testid: "audit-action", blank: t("common.all"), options: [...actions.map((a) => ({ value: a.action, label: a.name })), ...(q.action && !actions.some((a) => a.action === q.action) ? [{ value: q.action, label: q.action }] : [])] }),
    field({ name: "actor", label: t("audit.actor"), value: q.actor || "", testid: "audit-actor", hint: t("audit.actor_hint") }),
    field({ name: "target", label: t("audit.target"), value: q.target || "", testid: "audit-target", hint: t("audit.target_hint") }),
    field({ name: "since", label: t("audit.since"), value: q.since || "", testid: "audit-since", hint: t("form.date_hint"), attrs: { inputmode: "text", class: "date-text" } }),
    field({ name: "until", label: t("audit.until"), value: q.until || "", testid: "audit-until", hint: t("form.date_hint"), attrs: { inputmode: "text", class: "date-text" } }),
    formError(),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn primary", "data-testid": "audit-apply" }, t("common.search")), h("a", { class: "btn link", href: "#/admin/audit" }, t("common.clear"))),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    let bad = false;
    for (const k of ["since", "until"]) {
      const typed = control(form, k).value.trim();
      const day = typed ? parseDate(typed) : "";
      setFieldError(form, k, day === null ? t("form.date_invalid") : "");
      if (day === null) bad = true;
      else if (day) next.set(k, day);
    }
    if (bad) return;
    for (const k of ["action", "actor", "target"]) if (control(form, k).value.trim()) next.set(k, control(form, k).value.trim());
    const qs = next.toString();
    navigate(`#/admin/audit${qs ? `?${qs}` : ""}`);
  });
  const results = h("div", {}, loading());
  content.append(pageHeader(t("audit.title"), exportLink("csv", "audit.export_csv", "audit-export-csv"), exportLink("jsonl", "audit.export_jsonl", "audit-export-jsonl")), form, results);

  const body = h("tbody", {});
  /** @type {AuditEvent[]} */
  let pending = [];
  /** @type {HTMLElement | null} */
  let lastRow = null;
  const more = h("button", { type: "button", class: "btn", "data-testid": "audit-more", hidden: true }, t("common.more"));
  /**
   * @param {string | null | undefined} cursor
   * @returns {Promise<Kura.Page<AuditEvent>>}
   */
  async function load(cursor) {
    /** @type {Kura.Page<AuditEvent>} */
    const page = await api.get("/audit/events", { ...filters, limit: 100, cursor });
    // a line still open from the previous page continues when its run goes on
    const carried = pending;
    const groups = groupEvents([...carried, ...page.items]);
    if (carried.length && lastRow) lastRow.remove();
    pending = page.next_cursor ? groups[groups.length - 1] : [];
    for (const group of groups) {
      lastRow = rowOf(group);
      body.append(lastRow);
    }
    return page;
  }
  try {
    let page = await load(undefined);
    clear(results);
    if (!page.items.length) {
      results.append(h("div", { class: "card" }, empty(t("audit.empty"))));
      return;
    }
    results.append(
      h(
        "div",
        { class: "table-wrap" },
        h("table", { class: "data", "data-testid": "audit-table" }, h("thead", {}, h("tr", {}, ["at", "actor", "action", "target", "detail"].map((c) => h("th", { scope: "col" }, t(`audit.${c}`))))), body),
      ),
      h("div", { class: "table-foot" }, h("span", {}), more),
    );
    more.hidden = !page.next_cursor;
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        page = await load(page.next_cursor);
        more.hidden = !page.next_cursor;
      } finally {
        more.disabled = false;
      }
    });
  } catch (err) {
    clear(results);
    if (err instanceof ApiError && (err.status === 422 || err.status === 400)) showFormErrors(form, err);
    else results.append(errorBox(err));
  }
}
