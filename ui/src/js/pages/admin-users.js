// Users (#/admin/users[?org=<id>]): list, create (one-time password shown once), reset
// password (new one-time password shown once), disable / enable.
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { navigate } from "../router.js";
import { adminLayout } from "./admin.js";
import { badge, busy, clear, confirmDialog, control, dialog, empty, errorBox, errorMessage, field, formError, h, loading, pageHeader, selectField, showFormErrors, toast } from "../ui.js";

/**
 * Every organization the session may read (up to 2,000, a page of 200 at a time).
 * @returns {Promise<Kura.Org[]>}
 */
export async function loadOrgs() {
  /** @type {Kura.Org[]} */
  const out = [];
  let cursor;
  do {
    /** @type {Kura.Page<Kura.Org>} */
    const page = await api.get("/organizations", { limit: 200, cursor });
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && out.length < 2000);
  return out;
}

/**
 * The one-time password, shown once.
 * @param {Kura.User} user
 * @param {string} password
 */
function showPassword(user, password) {
  return dialog({
    title: t("users.otp_title"),
    testid: "otp-dialog",
    body: h("div", {}, h("p", {}, `${user.name}（${user.login_id}）`), h("p", { class: "secret", "data-testid": "otp-value" }, password), h("p", { class: "small" }, t("users.otp_lead"))),
    actions: [{ label: t("users.otp_done"), value: true, primary: true, testid: "otp-done" }],
  });
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const content = adminLayout(root, ctx, "/admin/users");
  const q = params.query || {};
  const own = ctx.session?.user.org_id;
  /** @type {{ id: string, name: string, kind?: string }[]} */
  let orgs;
  try {
    orgs = await loadOrgs();
  } catch {
    orgs = own ? [{ id: own, name: own }] : [];
  }
  const orgName = new Map(orgs.map((o) => [o.id, o.name]));
  const orgOptions = orgs.map((o) => ({ value: o.id, label: `${o.name}（${t(`orgkind.${o.kind}`)}）` }));

  const newBtn = h("button", { type: "button", class: "btn primary", "data-testid": "user-new", "aria-expanded": "false" }, t("users.new"));
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "user-create-submit" }, t("common.create"));
  const form = h(
    "form",
    { class: "card", novalidate: true, hidden: true, "data-testid": "user-create-form", "aria-label": t("users.new") },
    h("h2", {}, t("users.new")),
    formError(),
    h(
      "div",
      { class: "form-grid" },
      field({ name: "login_id", label: t("users.login_id"), required: true, testid: "user-login-id", autocomplete: "off" }),
      field({ name: "name", label: t("users.name"), required: true, testid: "user-name" }),
      field({ name: "name_kana", label: t("users.name_kana"), testid: "user-name-kana" }),
      field({ name: "email", label: t("users.email"), type: "email", testid: "user-email" }),
      selectField({ name: "org_id", label: t("users.org"), required: true, options: orgOptions, value: q.org || own, testid: "user-org" }),
      field({ name: "position", label: t("users.position"), testid: "user-position" }),
    ),
    h("div", { class: "form-actions" }, submit, h("button", { type: "button", class: "btn", onclick: () => toggle(false) }, t("common.cancel"))),
  );
  /** @param {boolean} open */
  function toggle(open) {
    form.hidden = !open;
    newBtn.setAttribute("aria-expanded", String(open));
    if (open) control(form, "login_id").focus();
  }
  newBtn.addEventListener("click", () => toggle(Boolean(form.hidden)));

  const filter = selectField({ name: "org", label: t("users.filter_org"), options: orgOptions, value: q.org || "", blank: t("common.all"), testid: "users-filter-org" });
  const orgSel = filter.querySelector("select");
  if (orgSel) orgSel.addEventListener("change", () => navigate(orgSel.value ? `#/admin/users?org=${encodeURIComponent(orgSel.value)}` : "#/admin/users"));
  const list = h("div", {}, loading());
  content.append(pageHeader(t("users.title"), newBtn), form, h("div", { class: "toolbar" }, filter), list);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    /** @param {string} name */
    const f = (name) => control(form, name);
    /** @type {Record<string, string>} */
    const body = { login_id: f("login_id").value.trim(), name: f("name").value.trim(), org_id: f("org_id").value };
    for (const k of ["name_kana", "email", "position"]) if (f(k).value.trim()) body[k] = f(k).value.trim();
    await busy(submit, async () => {
      try {
        /** @type {{ user: Kura.User, initial_password: string }} */
        const created = await api.post("/users", body);
        form.reset();
        toggle(false);
        toast(t("users.created"), "ok");
        await showPassword(created.user, created.initial_password);
        await refresh();
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });

  async function refresh() {
    /** @type {Kura.Page<Kura.User>} */
    let page;
    try {
      page = await api.get("/users", { org_id: q.org, limit: 200 });
    } catch (err) {
      clear(list).append(errorBox(err));
      return;
    }
    clear(list);
    if (!page.items.length) {
      list.append(h("div", { class: "card" }, empty(t("users.empty"))));
      return;
    }
    list.append(
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data", "data-testid": "users-table" },
          h("thead", {}, h("tr", {}, ["login_id", "name", "org", "status", "last_login"].map((c) => h("th", { scope: "col" }, t(`users.${c}`))), h("th", { scope: "col" }, t("common.actions")))),
          h("tbody", {}, page.items.map((u) => userRow(u))),
        ),
      ),
    );
  }

  /**
   * @param {Kura.User} u
   * @returns {HTMLTableRowElement}
   */
  function userRow(u) {
    /** @type {Kura.Child[]} */
    const status = [badge(t(`users.status.${u.status}`), u.status === "active" ? "ok" : "neutral")];
    if (u.locked_until && new Date(u.locked_until) > new Date()) status.push(" ", badge(t("users.locked"), "err"));
    if (u.must_change_password) status.push(" ", badge(t("users.must_change"), "warn"));
    const reset = h("button", { type: "button", class: "btn small", "data-testid": "user-reset" }, t("users.reset"));
    reset.addEventListener("click", async () => {
      if (!(await confirmDialog(t("users.confirm_reset", { name: u.name }), { okLabel: t("users.reset") }))) return;
      try {
        /** @type {{ user?: Kura.User, one_time_password: string }} */
        const res = await api.post(`/users/${encodeURIComponent(u.id)}/reset-password`);
        await showPassword(res.user || u, res.one_time_password);
        await refresh();
      } catch (err) {
        toast(errorMessage(err), "error");
      }
    });
    const toggleBtn = h("button", { type: "button", class: `btn small ${u.status === "active" ? "danger" : ""}`, "data-testid": "user-toggle" }, u.status === "active" ? t("users.disable") : t("users.enable"));
    toggleBtn.addEventListener("click", async () => {
      try {
        if (u.status === "active") {
          if (!(await confirmDialog(t("users.confirm_disable", { name: u.name }), { danger: true, okLabel: t("users.disable") }))) return;
          await api.post(`/users/${encodeURIComponent(u.id)}/disable`);
        } else {
          await api.patch(`/users/${encodeURIComponent(u.id)}`, { version: u.version, status: "active" });
        }
        toast(t("common.saved"), "ok");
        await refresh();
      } catch (err) {
        toast(errorMessage(err), "error");
      }
    });
    return h(
      "tr",
      { "data-testid": "user-row", "data-login": u.login_id },
      h("td", { class: "mono" }, u.login_id),
      h("td", { class: "nowrap" }, u.name, u.email ? h("div", { class: "small muted" }, u.email) : null),
      h("td", {}, orgName.get(u.org_id) || h("span", { class: "mono small" }, u.org_id), u.position ? h("div", { class: "small muted" }, u.position) : null),
      h("td", {}, status),
      h("td", { class: "nowrap small" }, u.last_login_at ? fmtDateTime(u.last_login_at) : "—"),
      h("td", {}, h("div", { class: "row-actions" }, h("a", { class: "btn small link", href: `#/admin/grants?user=${encodeURIComponent(u.id)}` }, t("users.grants")), reset, toggleBtn)),
    );
  }
  await refresh();
}
