// Audit trail (#/admin/audit?action=&actor=&target=&since=&until=): filters in the hash,
// cursor paging, export of the same filters as CSV or JSON lines (a plain download link).
import { apiUrl, api, ApiError } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { navigate } from "../router.js";
import { adminLayout } from "./admin.js";
import { clear, control, empty, errorBox, field, formError, h, loading, pageHeader, showFormErrors } from "../ui.js";

/**
 * An audit event (api/audit).
 * @typedef {object} AuditEvent
 * @property {string} at
 * @property {string} [actor_login]
 * @property {string} actor_id
 * @property {string} action
 * @property {string} target
 * @property {Record<string, unknown>} [detail]
 */

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
  const form = h(
    "form",
    { class: "toolbar", role: "search", novalidate: true, "data-testid": "audit-filters" },
    field({ name: "action", label: t("audit.action"), value: q.action || "", testid: "audit-action", hint: "例: users.created" }),
    field({ name: "actor", label: t("audit.actor"), value: q.actor || "", testid: "audit-actor" }),
    field({ name: "target", label: t("audit.target"), value: q.target || "", testid: "audit-target", hint: "例: works/01H…" }),
    field({ name: "since", label: t("audit.since"), type: "date", value: q.since || "", testid: "audit-since" }),
    field({ name: "until", label: t("audit.until"), type: "date", value: q.until || "", testid: "audit-until" }),
    formError(),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn primary", "data-testid": "audit-apply" }, t("common.search")), h("a", { class: "btn link", href: "#/admin/audit" }, t("common.clear"))),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const k of ["action", "actor", "target", "since", "until"]) if (control(form, k).value.trim()) next.set(k, control(form, k).value.trim());
    const qs = next.toString();
    navigate(`#/admin/audit${qs ? `?${qs}` : ""}`);
  });
  const results = h("div", {}, loading());
  content.append(pageHeader(t("audit.title"), exportLink("csv", "audit.export_csv", "audit-export-csv"), exportLink("jsonl", "audit.export_jsonl", "audit-export-jsonl")), form, results);

  const body = h("tbody", {});
  const more = h("button", { type: "button", class: "btn", "data-testid": "audit-more", hidden: true }, t("common.more"));
  /**
   * @param {string | null | undefined} cursor
   * @returns {Promise<Kura.Page<AuditEvent>>}
   */
  async function load(cursor) {
    /** @type {Kura.Page<AuditEvent>} */
    const page = await api.get("/audit/events", { ...filters, limit: 100, cursor });
    for (const ev of page.items) {
      const detail = ev.detail && Object.keys(ev.detail).length ? JSON.stringify(ev.detail) : "";
      body.append(
        h(
          "tr",
          { "data-testid": "audit-row" },
          h("td", { class: "nowrap small" }, fmtDateTime(ev.at)),
          h("td", {}, ev.actor_login || h("span", { class: "mono small" }, ev.actor_id)),
          h("td", { class: "mono small" }, ev.action),
          h("td", { class: "mono small target" }, ev.target),
          h("td", {}, detail ? h("details", {}, h("summary", {}, detail.length > 40 ? `${detail.slice(0, 40)}…` : detail), h("pre", { class: "detail" }, JSON.stringify(ev.detail, null, 2))) : ""),
        ),
      );
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
