// Organizations (#/admin/orgs[?org=<id>]): list by kind, create, and the offices of one org.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { adminLayout } from "./admin.js";
import { loadOrgs } from "./admin-users.js";
import { busy, clear, empty, errorBox, field, formError, h, pageHeader, selectField, showFormErrors, toast } from "../ui.js";

const KINDS = ["orderer", "contractor", "issuer", "operator"];

export async function render(root, params, ctx) {
  const content = adminLayout(root, ctx, "/admin/orgs");
  const q = params.query || {};
  const newBtn = h("button", { type: "button", class: "btn primary", "data-testid": "org-new" }, t("orgs.new"));
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "org-create-submit" }, t("common.create"));
  const form = h(
    "form",
    { class: "card", novalidate: true, hidden: true, "data-testid": "org-create-form", "aria-label": t("orgs.new") },
    h("h2", {}, t("orgs.new")),
    formError(),
    h(
      "div",
      { class: "form-grid" },
      selectField({ name: "kind", label: t("orgs.kind"), required: true, options: KINDS.map((k) => ({ value: k, label: t(`orgkind.${k}`) })), testid: "org-kind" }),
      field({ name: "name", label: t("orgs.name"), required: true, testid: "org-name" }),
      field({ name: "name_kana", label: t("orgs.name_kana"), testid: "org-name-kana" }),
      field({ name: "code", label: t("orgs.code"), testid: "org-code", attrs: { inputmode: "numeric" } }),
      field({ name: "corporate_number", label: t("orgs.corporate_number"), testid: "org-corporate-number", attrs: { inputmode: "numeric" } }),
      field({ name: "address", label: t("orgs.address"), testid: "org-address" }),
      field({ name: "phone", label: t("orgs.phone"), type: "tel", testid: "org-phone" }),
    ),
    h("div", { class: "form-actions" }, submit, h("button", { type: "button", class: "btn", onclick: () => (form.hidden = true) }, t("common.cancel"))),
  );
  newBtn.addEventListener("click", () => {
    form.hidden = !form.hidden;
    if (!form.hidden) form.elements.kind.focus();
  });
  const list = h("div", {});
  const offices = h("div", {});
  content.append(pageHeader(t("orgs.title"), newBtn), form, list, offices);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements;
    const body = { kind: f.kind.value, name: f.name.value.trim() };
    for (const k of ["name_kana", "code", "corporate_number", "address", "phone"]) if (f[k].value.trim()) body[k] = f[k].value.trim();
    await busy(submit, async () => {
      try {
        await api.post("/organizations", body);
        form.reset();
        form.hidden = true;
        toast(t("common.saved"), "ok");
        await refresh();
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });

  async function refresh() {
    let orgs;
    try {
      orgs = await loadOrgs();
    } catch (err) {
      clear(list).append(errorBox(err));
      return;
    }
    clear(list);
    if (!orgs.length) {
      list.append(h("div", { class: "card" }, empty(t("orgs.empty"))));
      return;
    }
    list.append(
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data", "data-testid": "orgs-table" },
          h("thead", {}, h("tr", {}, ["kind", "name", "code", "corporate_number", "address"].map((c) => h("th", { scope: "col" }, t(`orgs.${c}`))), h("th", { scope: "col" }, t("common.actions")))),
          h(
            "tbody",
            {},
            orgs.map((o) =>
              h(
                "tr",
                { "data-testid": "org-row", "data-id": o.id },
                h("td", { class: "nowrap" }, t(`orgkind.${o.kind}`)),
                h("td", {}, o.name, o.name_kana ? h("div", { class: "small muted" }, o.name_kana) : null),
                h("td", { class: "mono" }, o.code || "—"),
                h("td", { class: "mono" }, o.corporate_number || "—"),
                h("td", {}, o.address || "—"),
                h(
                  "td",
                  { class: "nowrap" },
                  h("a", { class: "btn small link", href: `#/admin/orgs?org=${encodeURIComponent(o.id)}` }, t("orgs.offices")),
                  h("a", { class: "btn small link", href: `#/admin/users?org=${encodeURIComponent(o.id)}` }, t("admin.users")),
                ),
              ),
            ),
          ),
        ),
      ),
    );
    if (q.org) await showOffices(orgs.find((o) => o.id === q.org));
  }

  async function showOffices(org) {
    clear(offices);
    if (!org) return;
    const submitOffice = h("button", { type: "submit", class: "btn primary", "data-testid": "office-create-submit" }, t("orgs.office_new"));
    const oform = h(
      "form",
      { novalidate: true, "data-testid": "office-create-form" },
      formError(),
      h("div", { class: "form-grid" }, field({ name: "name", label: t("orgs.name"), required: true, testid: "office-name" }), field({ name: "code", label: t("orgs.code"), testid: "office-code" }), field({ name: "address", label: t("orgs.address") }), field({ name: "phone", label: t("orgs.phone"), type: "tel" })),
      h("div", { class: "form-actions" }, submitOffice),
    );
    const rows = h("div", {});
    offices.append(h("section", { class: "card", "aria-labelledby": "offices-title" }, h("h2", { id: "offices-title", tabindex: "-1" }, `${org.name} — ${t("orgs.offices")}`), rows, oform));
    async function load() {
      const page = await api.get(`/organizations/${encodeURIComponent(org.id)}/offices`, { limit: 200 });
      clear(rows);
      rows.append(
        page.items.length
          ? h("ul", { "data-testid": "offices" }, page.items.map((x) => h("li", {}, x.name, x.code ? h("span", { class: "mono small muted" }, ` ${x.code}`) : null, x.address ? h("span", { class: "small muted" }, `　${x.address}`) : null)))
          : empty(t("common.none")),
      );
    }
    oform.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = oform.elements;
      const body = { name: f.name.value.trim() };
      for (const k of ["code", "address", "phone"]) if (f[k].value.trim()) body[k] = f[k].value.trim();
      await busy(submitOffice, async () => {
        try {
          await api.post(`/organizations/${encodeURIComponent(org.id)}/offices`, body);
          oform.reset();
          toast(t("common.saved"), "ok");
          await load();
        } catch (err) {
          showFormErrors(oform, err);
        }
      });
    });
    await load();
  }
  await refresh();
}
