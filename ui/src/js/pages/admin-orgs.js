// Organizations (#/admin/orgs[?org=<id>]): list by kind, create, edit (with version), and the
// offices of one org (add, edit, remove).
import { api, ApiError } from "../api.js";
import { t } from "../i18n.js";
import { adminLayout } from "./admin.js";
import { loadOrgs } from "./admin-users.js";
import { busy, clear, confirmDialog, control, empty, errorBox, errorMessage, field, formError, h, pageHeader, selectField, showFormErrors, toast } from "../ui.js";
import { showApiErrors } from "./work-form.js";

const KINDS = ["orderer", "contractor", "issuer", "operator"];


// The format of a field, said by it before anything is typed (issue 8 §3 item 8).
/** @type {Record<string, string>} */
const HINTS = { code: "orgs.code_hint", corporate_number: "orgs.corporate_number_hint", phone: "orgs.phone_hint" };
/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const content = adminLayout(root, ctx, "/admin/orgs");
  const q = params.query || {};
  const newBtn = h("button", { type: "button", class: "btn primary", "data-testid": "org-new" }, t("orgs.new"));
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "org-create-submit" }, t("common.create"));
  /** @type {HTMLFormElement} */
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
      field({ name: "code", label: t("orgs.code"), testid: "org-code", hint: t("orgs.code_hint"), attrs: { inputmode: "numeric", maxlength: "8" } }),
      field({ name: "corporate_number", label: t("orgs.corporate_number"), testid: "org-corporate-number", hint: t("orgs.corporate_number_hint"), attrs: { inputmode: "numeric", maxlength: "13" } }),
      field({ name: "address", label: t("orgs.address"), testid: "org-address" }),
      field({ name: "phone", label: t("orgs.phone"), type: "tel", testid: "org-phone", hint: t("orgs.phone_hint") }),
    ),
    h("div", { class: "form-actions" }, submit, h("button", { type: "button", class: "btn", onclick: () => (form.hidden = true) }, t("common.cancel"))),
  );
  newBtn.addEventListener("click", () => {
    form.hidden = !form.hidden;
    if (!form.hidden) control(form, "kind").focus();
  });
  const list = h("div", {});
  const offices = h("div", {});
  const editSlot = h("div", {});
  content.append(pageHeader(t("orgs.title"), newBtn), form, editSlot, list, offices);

  /**
   * Edit one organization: only the changed fields go with the version read.
   * @param {Kura.Org} o
   */
  function editOrg(o) {
    clear(editSlot);
    const save = h("button", { type: "submit", class: "btn primary", "data-testid": "org-edit-submit" }, t("common.save"));
    const keys = /** @type {const} */ (["name", "name_kana", "code", "corporate_number", "address", "phone"]);
    // An orderer decides whether a work whose latest 電子納品 check has errors may still be
    // moved to the archive (issue 8 §2; api/works/archive_gate.py).
    const blockBox =
      o.kind === "orderer"
        ? h("input", { type: "checkbox", name: "block_archive_on_errors", checked: !!o.block_archive_on_errors, "aria-describedby": "org-edit-block-hint", "data-testid": "org-edit-block-archive" })
        : null;
    const eform = h(
      "form",
      { class: "card", novalidate: true, "data-testid": "org-edit-form", "aria-label": t("orgs.edit") },
      h("h2", {}, `${t("orgs.edit")}：${o.name}`),
      formError(),
      h(
        "div",
        { class: "form-grid" },
        keys.map((k) => field({ name: k, label: t(`orgs.${k}`), value: o[k] || "", required: k === "name", testid: `org-edit-${k.replace("_", "-")}`, hint: HINTS[k] ? t(HINTS[k]) : undefined })),
      ),
      blockBox
        ? h(
            "div",
            { class: "field" },
            h("label", { class: "check" }, blockBox, " ", t("orgs.block_archive")),
            h("p", { class: "hint", id: "org-edit-block-hint" }, t("orgs.block_archive_hint")),
          )
        : null,
      h(
        "div",
        { class: "form-actions" },
        save,
        h("button", { type: "button", class: "btn", onclick: () => clear(editSlot) }, t("common.cancel")),
      ),
    );
    eform.addEventListener("submit", async (e) => {
      e.preventDefault();
      /** @type {Record<string, unknown>} */
      const body = { version: o.version };
      for (const k of keys) {
        const v = control(eform, k).value.trim();
        if (v !== (o[k] || "")) body[k] = v === "" && (k === "code" || k === "corporate_number") ? null : v;
      }
      if (blockBox && blockBox.checked !== !!o.block_archive_on_errors) body.block_archive_on_errors = blockBox.checked;
      await busy(save, async () => {
        try {
          await api.patch(`/organizations/${encodeURIComponent(o.id)}`, body);
          clear(editSlot);
          toast(t("common.saved"), "ok");
          await refresh();
        } catch (err) {
          showApiErrors(eform, ApiError.from(err), { onReload: () => refresh().then(() => clear(editSlot)) });
        }
      });
    });
    editSlot.append(eform);
    control(eform, "name").focus();
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    /** @param {string} name */
    const f = (name) => control(form, name);
    /** @type {Record<string, string>} */
    const body = { kind: f("kind").value, name: f("name").value.trim() };
    for (const k of ["name_kana", "code", "corporate_number", "address", "phone"]) if (f(k).value.trim()) body[k] = f(k).value.trim();
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
                h(
                  "td",
                  { class: "nowrap" },
                  o.name,
                  o.name_kana ? h("div", { class: "small muted" }, o.name_kana) : null,
                  o.block_archive_on_errors ? h("div", { class: "small", "data-testid": "org-block-archive" }, t("orgs.block_archive_on")) : null,
                ),
                h("td", { class: "mono" }, o.code || "—"),
                h("td", { class: "mono" }, o.corporate_number || "—"),
                h("td", {}, o.address || "—"),
                h(
                  "td",
                  { class: "nowrap" },
                  h("button", { type: "button", class: "btn small", "data-testid": "org-edit", "data-id": o.id, onclick: () => editOrg(o) }, t("common.edit")),
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

  /** @param {Kura.Org | undefined} found */
  async function showOffices(found) {
    clear(offices);
    if (!found) return;
    const org = found;
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
      /** @type {Kura.Page<Kura.Office>} */
      const page = await api.get(`/organizations/${encodeURIComponent(org.id)}/offices`, { limit: 200 });
      clear(rows);
      rows.append(
        page.items.length
          ? h(
              "ul",
              { "data-testid": "offices" },
              page.items.map((x) => {
                const editBtn = h("button", { type: "button", class: "btn small", "data-testid": "office-edit" }, t("common.edit"));
                const removeBtn = h("button", { type: "button", class: "btn small danger", "data-testid": "office-remove" }, t("common.delete"));
                const li = h(
                  "li",
                  { "data-testid": "office-row", "data-id": x.id },
                  x.name,
                  x.code ? h("span", { class: "mono small muted" }, ` ${x.code}`) : null,
                  x.address ? h("span", { class: "small muted" }, `　${x.address}`) : null,
                  " ",
                  editBtn,
                  removeBtn,
                );
                editBtn.addEventListener("click", () => editOffice(x, li));
                removeBtn.addEventListener("click", () => removeOffice(x, removeBtn));
                return li;
              }),
            )
          : empty(t("common.none")),
      );
    }
    /**
     * @param {Kura.Office} x
     * @param {HTMLLIElement} li its row (the form replaces it)
     */
    function editOffice(x, li) {
      const keys = /** @type {const} */ (["name", "code", "address", "phone"]);
      const save = h("button", { type: "submit", class: "btn primary small", "data-testid": "office-edit-submit" }, t("common.save"));
      const f = h(
        "form",
        { novalidate: true, "data-testid": "office-edit-form", "aria-label": `${t("orgs.office_edit")}：${x.name}` },
        formError(),
        h("div", { class: "form-grid" }, keys.map((k) => field({ name: k, label: t(`orgs.${k}`), value: x[k] || "", required: k === "name", testid: `office-edit-${k}` }))),
        h("div", { class: "form-actions" }, save, h("button", { type: "button", class: "btn small", onclick: () => load() }, t("common.cancel"))),
      );
      f.addEventListener("submit", async (e) => {
        e.preventDefault();
        /** @type {Record<string, unknown>} */
        const body = { version: x.version };
        for (const k of keys) {
          const v = control(f, k).value.trim();
          if (v !== (x[k] || "")) body[k] = v === "" && k === "code" ? null : v;
        }
        await busy(save, async () => {
          try {
            await api.patch(`/organizations/${encodeURIComponent(org.id)}/offices/${encodeURIComponent(x.id)}`, body);
            toast(t("common.saved"), "ok");
            await load();
          } catch (err) {
            showApiErrors(f, ApiError.from(err), { onReload: () => load() });
          }
        });
      });
      clear(li).append(f);
      control(f, "name").focus();
    }
    /**
     * @param {Kura.Office} x
     * @param {HTMLButtonElement} btn
     */
    async function removeOffice(x, btn) {
      if (!(await confirmDialog(t("orgs.office_remove_confirm", { name: x.name }), { danger: true, okLabel: t("common.delete") }))) return;
      await busy(btn, async () => {
        try {
          await api.del(`/organizations/${encodeURIComponent(org.id)}/offices/${encodeURIComponent(x.id)}`, { version: x.version });
          toast(t("common.deleted"), "ok");
          await load();
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      });
    }
    oform.addEventListener("submit", async (e) => {
      e.preventDefault();
      /** @param {string} name */
      const f = (name) => control(oform, name);
      /** @type {Record<string, string>} */
      const body = { name: f("name").value.trim() };
      for (const k of ["code", "address", "phone"]) if (f(k).value.trim()) body[k] = f(k).value.trim();
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
