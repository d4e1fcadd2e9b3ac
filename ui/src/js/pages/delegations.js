// 代理者の設定 (#/delegations, seed 001 別表1-1 4(21)): a deputy named in advance, of one's own
// organization, for every work or one work, inside a window [start, end); the deputy then
// approves in one's place (shown as 代理承認). Lists what one gave and received, current and
// future; a delegation can be revoked.
// Test ids: delegations-page, deleg-form, deleg-deputy, deleg-work, deleg-starts, deleg-ends,
// deleg-note, deleg-submit, deleg-table, deleg-row (data-id, data-state), deleg-revoke.
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { badge, busy, confirmDialog, empty, errorMessage, field, formError, h, pageHeader, selectField, showFormErrors, toast } from "../ui.js";
import { ensureProposalStyles, nameOf } from "../components/proposal-kit.js";

/**
 * A <input type=datetime-local> value (local time) → ISO with the browser's offset.
 * @param {string} value "2026-06-10T09:00"
 * @returns {string | null}
 */
function iso(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * @param {Date} d
 * @returns {string} the value of a datetime-local input
 */
function local(d) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureProposalStyles();
  ctx.setTitle(t("prop.deleg.title"));
  /** @type {[Kura.DelegationList, { items: { id: string, name: string }[] }, Kura.Page<Kura.Work>]} */
  const [mine, candidates, works] = await Promise.all([api.get("/delegations"), api.get("/delegations/candidates"), api.get("/works", { limit: 200, sort: "title", order: "asc" })]);
  const me = ctx.session ? ctx.session.user.id : "";
  const now = new Date();
  const start = new Date(now.getTime());
  start.setSeconds(0, 0);
  const end = new Date(start.getTime() + 7 * 24 * 3600 * 1000);

  const deputy = selectField({ name: "deputy_id", label: t("prop.deleg.deputy"), options: candidates.items.map((u) => ({ value: u.id, label: u.name })), blank: t("prop.choose"), required: true, testid: "deleg-deputy" });
  const work = selectField({ name: "work_id", label: t("prop.deleg.work"), options: works.items.map((w) => ({ value: w.id, label: w.title })), blank: t("prop.deleg.every_work"), testid: "deleg-work" });
  const starts = field({ name: "starts_at", label: t("prop.deleg.starts"), type: "datetime-local", value: local(start), required: true, testid: "deleg-starts" });
  const ends = field({ name: "ends_at", label: t("prop.deleg.ends"), type: "datetime-local", value: local(end), required: true, testid: "deleg-ends", hint: t("prop.deleg.ends_hint") });
  const note = field({ name: "note", label: t("prop.deleg.note"), testid: "deleg-note", attrs: { maxlength: "200" } });
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "deleg-submit" }, t("prop.deleg.submit"));
  const form = h("form", { class: "form", "data-testid": "deleg-form", novalidate: true }, h("div", { class: "pf-grid" }, deputy, work, starts, ends, note), formError(), h("div", { class: "form-actions" }, submit));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, async () => {
      /** @param {string} name */
      const val = (name) => {
        const el = form.elements.namedItem(name);
        return el instanceof HTMLInputElement || el instanceof HTMLSelectElement ? el.value : "";
      };
      try {
        await api.post("/delegations", { deputy_id: val("deputy_id") || null, work_id: val("work_id") || null, starts_at: iso(val("starts_at")), ends_at: iso(val("ends_at")), note: val("note") });
        toast(t("prop.deleg.saved"), "ok");
        window.dispatchEvent(new HashChangeEvent("hashchange"));
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });

  /** @param {Kura.Delegation} d */
  const stateOf = (d) => (d.revoked_at ? "revoked" : new Date(d.starts_at) > now ? "future" : "active");
  const rows = mine.items.map((d) => {
    const state = stateOf(d);
    const revoke = h("button", { type: "button", class: "btn small", "data-testid": "deleg-revoke" }, t("prop.deleg.revoke"));
    revoke.addEventListener("click", async () => {
      if (!(await confirmDialog(t("prop.deleg.revoke_confirm"), { danger: true }))) return;
      await busy(revoke, async () => {
        try {
          await api.del(`/delegations/${encodeURIComponent(d.id)}`);
          toast(t("prop.deleg.revoked"), "ok");
          window.dispatchEvent(new HashChangeEvent("hashchange"));
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      });
    });
    return h(
      "tr",
      { "data-testid": "deleg-row", "data-id": d.id, "data-state": state },
      h("td", {}, nameOf(mine.users, d.principal_id), d.principal_id === me ? h("span", { class: "small muted" }, ` ${t("prop.deleg.me")}`) : null),
      h("td", {}, nameOf(mine.users, d.deputy_id), d.deputy_id === me ? h("span", { class: "small muted" }, ` ${t("prop.deleg.me")}`) : null),
      h("td", {}, d.work_id ? mine.works[d.work_id] || "—" : t("prop.deleg.every_work")),
      h("td", { class: "nowrap" }, `${fmtDateTime(d.starts_at)} 〜 ${fmtDateTime(d.ends_at)}`),
      h("td", {}, d.note),
      h("td", {}, badge(t(`prop.deleg.state.${state}`), state === "active" ? "ok" : state === "future" ? "info" : "neutral")),
      h("td", {}, state !== "revoked" ? revoke : null),
    );
  });
  root.append(
    h(
      "div",
      { "data-testid": "delegations-page" },
      pageHeader(t("prop.deleg.title"), h("a", { class: "btn", href: "#/inbox" }, t("prop.inbox.title"))),
      h("p", { class: "small muted" }, t("prop.deleg.help")),
      h("section", { class: "card", "aria-labelledby": "deleg-list" }, h("h2", { id: "deleg-list" }, t("prop.deleg.list")), rows.length ? h("div", { class: "table-wrap" }, h("table", { class: "data", "data-testid": "deleg-table" }, h("caption", { class: "sr-only" }, t("prop.deleg.list")), h("thead", {}, h("tr", {}, ["principal", "deputy", "work", "period", "note", "state", "actions"].map((c) => h("th", { scope: "col" }, t(`prop.deleg.col.${c}`))))), h("tbody", {}, rows))) : empty(t("prop.deleg.none"))),
      h("section", { class: "card", "aria-labelledby": "deleg-new" }, h("h2", { id: "deleg-new" }, t("prop.deleg.new")), candidates.items.length ? form : empty(t("prop.deleg.no_candidates"))),
    ),
  );
}
