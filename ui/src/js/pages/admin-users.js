// Users (#/admin/users[?org=<id>]): list, create (one-time password shown once, with a copy
// button), edit (name, mail, 役職 from the 役職 master; the organization for operators), reset
// password (new one-time password shown once), disable / enable (never one's own account).
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
  const copy = h("button", { type: "button", class: "btn small", "data-testid": "otp-copy" }, t("common.copy"));
  const said = h("span", { class: "small muted", role: "status", "data-testid": "otp-copied" });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(password);
      said.textContent = t("common.copied");
    } catch {
      // no clipboard (plain http, old browser): select the text for Ctrl+C
      const range = document.createRange();
      const value = copy.closest(".dialog")?.querySelector("[data-testid=otp-value]");
      if (value) {
        range.selectNodeContents(value);
        window.getSelection()?.removeAllRanges();
        window.getSelection()?.addRange(range);
      }
      said.textContent = t("users.otp_select");
    }
  });
  return dialog({
    title: t("users.otp_title"),
    testid: "otp-dialog",
    body: h("div", {}, h("p", {}, `${user.name}（${user.login_id}）`), h("div", { class: "otp-row" }, h("p", { class: "secret", "data-testid": "otp-value" }, password), copy, said), h("p", { class: "small" }, t("users.otp_lead"))),
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
  /** @type {{ name: string }[]} */
  const positions = await api.get("/master/positions").catch(() => []);
  const operator = ctx.session?.org_kind === "operator";
  const me = ctx.session?.user.id;
  /**
   * 役職: a choice from the 役職 master once it has entries, else free text.
   * @param {string} testid
   * @param {string} [value]
   */
  const positionField = (testid, value = "") =>
    positions.length
      ? selectField({ name: "position", label: t("users.position"), value, blank: t("workform.none"), options: [...positions.map((p) => ({ value: p.name, label: p.name })), ...(value && !positions.some((p) => p.name === value) ? [{ value, label: value }] : [])], testid, hint: t("users.position_hint") })
      : field({ name: "position", label: t("users.position"), value, testid });
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
      positionField("user-position"),
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
    const edit = h("button", { type: "button", class: "btn small", "data-testid": "user-edit" }, t("common.edit"));
    edit.addEventListener("click", () => editUser(u));
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
    const self = u.id === me;
    const toggleBtn = h("button", { type: "button", class: `btn small ${u.status === "active" ? "danger" : ""}`, "data-testid": "user-toggle", hidden: self }, u.status === "active" ? t("users.disable") : t("users.enable"));
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
      h("td", { class: "nowrap" }, orgName.get(u.org_id) || h("span", { class: "muted" }, t("work.name_unknown")), u.position ? h("div", { class: "small muted" }, u.position) : null),
      h("td", {}, status),
      h("td", { class: "nowrap small" }, u.last_login_at ? fmtDateTime(u.last_login_at) : "—"),
      h("td", {}, h("div", { class: "row-actions" }, edit, h("a", { class: "btn small link", href: `#/admin/grants?user=${encodeURIComponent(u.id)}` }, t("users.grants")), reset, self ? h("span", { class: "small muted", "data-testid": "user-self" }, t("users.self")) : toggleBtn)),
    );
  }
  /**
   * Edit name, mail, 役職 (and for operators the organization) of `u`.
   * @param {Kura.User} u
   */
  async function editUser(u) {
    const editForm = h(
      "form",
      { novalidate: true, "data-testid": "user-edit-form" },
      formError(),
      h(
        "div",
        { class: "form-grid" },
        field({ name: "name", label: t("users.name"), value: u.name, required: true, testid: "user-edit-name" }),
        field({ name: "email", label: t("users.email"), type: "email", value: u.email || "", testid: "user-edit-email" }),
        operator ? selectField({ name: "org_id", label: t("users.org"), options: orgOptions, value: u.org_id, testid: "user-edit-org", hint: t("users.org_hint") }) : null,
        positionField("user-edit-position", u.position || ""),
      ),
    );
    const save = h("button", { type: "submit", class: "btn primary", "data-testid": "user-edit-save" }, t("common.save"));
    const cancel = h("button", { type: "button", class: "btn" }, t("common.cancel"));
    editForm.append(h("div", { class: "form-actions" }, save, cancel));
    const titleId = `edit-${u.id}`;
    const dlg = h("dialog", { class: "dialog", "aria-labelledby": titleId, "data-testid": "user-edit-dialog" }, h("h2", { id: titleId }, t("users.edit", { name: u.name })), editForm);
    const close = () => {
      dlg.close();
      dlg.remove();
    };
    cancel.addEventListener("click", close);
    dlg.addEventListener("cancel", close);
    editForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      /** @param {string} name */
      const f = (name) => control(editForm, name);
      /** @type {Record<string, unknown>} */
      const body = { version: u.version, name: f("name").value.trim(), email: f("email").value.trim() || null, position: f("position").value.trim() || null };
      if (operator && f("org_id").value !== u.org_id) body.org_id = f("org_id").value;
      await busy(save, async () => {
        try {
          await api.patch(`/users/${encodeURIComponent(u.id)}`, body);
          close();
          toast(t("common.saved"), "ok");
          await refresh();
        } catch (err) {
          showFormErrors(editForm, err);
        }
      });
    });
    document.body.append(dlg);
    dlg.showModal();
    control(editForm, "name").focus();
  }

  await refresh();
}
