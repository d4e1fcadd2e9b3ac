// Grants (#/admin/grants[?user=<id>]): choose a user, see their function grants, grant / revoke.
// Work memberships are managed on the work (members); this page covers the function grants.
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { navigate } from "../router.js";
import { adminLayout } from "./admin.js";
import { busy, clear, control, empty, errorBox, errorMessage, formError, h, pageHeader, selectField, showFormErrors, toast } from "../ui.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const content = adminLayout(root, ctx, "/admin/grants");
  const q = params.query || {};
  /** @type {[{ name: string, label: string }[], Kura.Page<Kura.User>]} */
  const [names, users] = await Promise.all([api.get("/grants"), api.get("/users", { limit: 200 }).catch(() => ({ items: [] }))]);
  const label = new Map(names.map((g) => [g.name, g.label]));
  const pick = selectField({
    name: "user",
    label: t("grants.user"),
    value: q.user || "",
    blank: "—",
    testid: "grants-user",
    options: users.items.map((u) => ({ value: u.id, label: `${u.name}（${u.login_id}）` })),
  });
  const userSel = pick.querySelector("select");
  if (userSel) userSel.addEventListener("change", () => navigate(userSel.value ? `#/admin/grants?user=${encodeURIComponent(userSel.value)}` : "#/admin/grants"));
  const body = h("div", {});
  content.append(pageHeader(t("grants.title")), h("div", { class: "toolbar" }, pick), body);
  if (!q.user) {
    body.append(h("div", { class: "card" }, empty(t("grants.pick_user"))));
    return;
  }

  async function refresh() {
    /** @type {{ grant: string, label?: string, granted_at: string, version: number }[]} */
    let grants;
    try {
      grants = await api.get(`/users/${encodeURIComponent(q.user)}/grants`);
    } catch (err) {
      clear(body).append(errorBox(err));
      return;
    }
    clear(body);
    const have = new Set(grants.map((g) => g.grant));
    const list = grants.length
      ? h(
          "table",
          { class: "data", "data-testid": "grants-table" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("grants.title")), h("th", { scope: "col" }, t("audit.at")), h("th", { scope: "col" }, t("common.actions")))),
          h(
            "tbody",
            {},
            grants.map((g) => {
              const rm = h("button", { type: "button", class: "btn small danger", "data-testid": "grant-remove", "data-grant": g.grant }, t("grants.remove"));
              rm.addEventListener("click", () =>
                busy(rm, async () => {
                  try {
                    await api.del(`/users/${encodeURIComponent(q.user)}/grants/${encodeURIComponent(g.grant)}`, { version: g.version });
                    toast(t("common.deleted"), "ok");
                    await refresh();
                  } catch (err) {
                    toast(errorMessage(err), "error");
                  }
                }),
              );
              return h("tr", { "data-testid": "grant-row", "data-grant": g.grant }, h("td", {}, g.label || label.get(g.grant) || g.grant, h("div", { class: "mono small muted" }, g.grant)), h("td", { class: "nowrap small" }, fmtDateTime(g.granted_at)), h("td", {}, rm));
            }),
          ),
        )
      : empty(t("grants.none"));
    const add = h("button", { type: "submit", class: "btn primary", "data-testid": "grant-add" }, t("grants.add"));
    const form = h(
      "form",
      { class: "form-actions", novalidate: true },
      formError(),
      selectField({ name: "grant", label: t("grants.add"), options: names.filter((g) => !have.has(g.name)).map((g) => ({ value: g.name, label: g.label })), testid: "grant-select" }),
      add,
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      await busy(add, async () => {
        try {
          await api.post(`/users/${encodeURIComponent(q.user)}/grants`, { grant: control(form, "grant").value });
          toast(t("common.saved"), "ok");
          await refresh();
        } catch (err) {
          showFormErrors(form, err);
        }
      });
    });
    body.append(h("section", { class: "card" }, h("div", { class: "table-wrap" }, list), names.length > have.size ? form : null));
  }
  await refresh();
}
