// 情報共有の設定 (an orderer's master data, seed 001 別表1-1 8(4)). Route: #/admin/collab.
// - 標準フォルダ: the folder set each new 工事 / 業務 starts with (§3-4), with each folder's
//   書類種別 and 電子納品 folder; rows added, removed, moved up and down, nested one level
//   at a time; saved, or reset to the built-in set;
// - 保管管理システムへの移管: whether the works move into the archive (seed 000: the
//   municipality's choice), the days until the collaboration copy is erased and the days of
//   notice before it (§3-6).
// Operators pick the orderer; others keep their own organization.

import { api } from "../api.js";
import { t } from "../i18n.js";
import { busy, clear, confirmDialog, control, errorBox, errorMessage, field, formValues, h, pageHeader, selectField, showFormErrors, clearFormErrors, toast } from "../ui.js";
import { ensureCollabStyles } from "../components/collab.js";
import { adminLayout } from "./admin.js";

/**
 * @typedef {{ name: string, doc_type: string, delivery: string, depth: number }} Row
 */

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} _params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, _params, ctx) {
  ensureCollabStyles();
  ctx.setTitle(t("admincollab.title"));
  const session = ctx.session;
  const operator = Boolean(session && session.org_kind === "operator");
  /** @type {string} */
  let orgId = (session && session.user && session.user.org_id) || "";
  const body = h("div", {});
  const content = adminLayout(root, ctx, "/admin/collab");
  content.append(pageHeader(t("admincollab.title")), h("p", { class: "muted" }, t("admincollab.lead")));
  if (operator) {
    /** @type {Kura.Page<Kura.Org>} */
    const orgs = await api.get("/organizations", { kind: "orderer", limit: 200 });
    if (!orgs.items.length) {
      content.append(errorBox(new Error(t("admincollab.no_orderers"))));
      return undefined;
    }
    orgId = orgs.items[0].id;
    const pick = selectField({ name: "org", label: t("admincollab.org"), options: orgs.items.map((o) => ({ value: o.id, label: o.name })), value: orgId, testid: "collab-org" });
    const sel = pick.querySelector("select");
    if (sel) {
      sel.addEventListener("change", () => {
        orgId = sel.value;
        load();
      });
    }
    content.append(pick);
  }
  content.append(body);

  async function load() {
    clear(body);
    try {
      body.append(await templatesCard(orgId), await settingsCard(orgId));
    } catch (err) {
      body.append(errorBox(err));
    }
  }
  await load();
  return undefined;
}

/**
 * @param {Kura.TemplateFolder[]} folders
 * @param {number} [depth]
 * @returns {Row[]}
 */
function flatten(folders, depth = 1) {
  return folders.flatMap((f) => [{ name: f.name, doc_type: f.doc_type, delivery: f.delivery, depth }, ...flatten(f.children || [], depth + 1)]);
}

/**
 * @param {Row[]} rows
 * @returns {Kura.TemplateFolder[]}
 */
function nest(rows) {
  /** @type {Kura.TemplateFolder[]} */
  const top = [];
  /** @type {Kura.TemplateFolder[]} */
  const stack = [];
  for (const r of rows) {
    const item = { name: r.name, doc_type: r.doc_type, delivery: r.delivery, children: [] };
    const depth = Math.min(r.depth, stack.length + 1);
    stack.length = depth - 1;
    if (depth === 1) top.push(item);
    else stack[depth - 2].children.push(item);
    stack.push(item);
  }
  return top;
}

/** @param {string} orgId */
async function templatesCard(orgId) {
  const card = h("section", { class: "card", "aria-labelledby": "tpl-head", "data-testid": "collab-templates" }, h("h2", { id: "tpl-head" }, t("admincollab.templates")));
  const kinds = h("div", { class: "tabs", role: "tablist", "aria-label": t("admincollab.kind") });
  const panel = h("div", { role: "tabpanel", id: "tpl-panel" });
  /** @param {string} kind */
  async function show(kind) {
    for (const b of kinds.querySelectorAll("button")) b.setAttribute("aria-selected", String(b.dataset.kind === kind));
    clear(panel);
    /** @type {Kura.FolderTemplate} */
    const tpl = await api.get(`/folder-templates/${kind}`, { org_id: orgId });
    let rows = flatten(tpl.folders);
    const tbody = h("tbody", {});
    const draw = () => {
      clear(tbody);
      rows.forEach((r, i) => {
        const name = h("input", { value: r.name, "aria-label": t("admincollab.folder_name"), "data-testid": "tpl-name", required: true });
        name.addEventListener("input", () => (r.name = name.value));
        const type = h("input", { value: r.doc_type, "aria-label": t("admincollab.doc_type"), "data-testid": "tpl-type" });
        type.addEventListener("input", () => (r.doc_type = type.value));
        const target = h("select", { "aria-label": t("admincollab.delivery"), "data-testid": "tpl-delivery" }, tpl.delivery_targets.map((o) => h("option", { value: o.value, selected: o.value === r.delivery }, o.label)));
        target.addEventListener("change", () => (r.delivery = target.value));
        /** @param {string} label @param {() => void} fn @param {boolean} [off] */
        const btn = (label, fn, off = false) =>
          h("button", { type: "button", class: "btn small", disabled: off, onclick: () => {
            fn();
            draw();
          } }, label);
        tbody.append(
          h(
            "tr",
            { "data-testid": "tpl-row" },
            h("td", { class: `indent-${Math.min(r.depth, 4)}` }, name),
            h("td", {}, type),
            h("td", {}, target),
            h(
              "td",
              { class: "nowrap" },
              btn(t("admincollab.up"), () => rows.splice(i - 1, 0, ...rows.splice(i, 1)), i === 0),
              btn(t("admincollab.down"), () => rows.splice(i + 1, 0, ...rows.splice(i, 1)), i === rows.length - 1),
              btn(t("admincollab.indent"), () => (r.depth += 1), i === 0 || r.depth > rows[i - 1].depth || r.depth >= 3),
              btn(t("admincollab.outdent"), () => (r.depth -= 1), r.depth === 1),
              btn(t("admincollab.remove"), () => (rows = rows.filter((x) => x !== r))),
            ),
          ),
        );
      });
    };
    draw();
    const add = h("button", { type: "button", class: "btn", "data-testid": "tpl-add" }, t("admincollab.add"));
    add.addEventListener("click", () => {
      rows.push({ name: t("admincollab.new_folder"), doc_type: "", delivery: "", depth: 1 });
      draw();
    });
    const save = h("button", { type: "button", class: "btn primary", "data-testid": "tpl-save" }, t("common.save"));
    save.addEventListener("click", () =>
      busy(save, async () => {
        try {
          await api.request("PUT", `/folder-templates/${kind}`, { body: { org_id: orgId, folders: nest(rows) } });
          toast(t("common.saved"), "ok");
          await show(kind);
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      }),
    );
    const reset = h("button", { type: "button", class: "btn", "data-testid": "tpl-reset" }, t("admincollab.reset"));
    reset.addEventListener("click", () =>
      busy(reset, async () => {
        if (!(await confirmDialog(t("admincollab.reset_confirm")))) return;
        try {
          await api.del(`/folder-templates/${kind}`, { org_id: orgId });
          await show(kind);
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      }),
    );
    panel.append(
      h("p", { class: "muted" }, tpl.own ? t("admincollab.own") : t("admincollab.builtin")),
      h("div", { class: "table-wrap" }, h("table", { class: "data", "data-testid": "tpl-table" }, h("thead", {}, h("tr", {}, ["folder_name", "doc_type", "delivery", "actions"].map((c) => h("th", { scope: "col" }, t(`admincollab.${c}`))))), tbody)),
      h("div", { class: "toolbar" }, add, save, reset),
    );
  }
  for (const kind of ["construction", "service"]) {
    const b = h("button", { type: "button", role: "tab", class: "tab", "aria-controls": "tpl-panel", "data-kind": kind, "data-testid": `tpl-kind-${kind}`, "aria-selected": "false" }, t(`kind.${kind}`));
    b.addEventListener("click", () => show(kind).catch((err) => toast(errorMessage(err), "error")));
    kinds.append(b);
  }
  card.append(kinds, panel);
  await show("construction");
  return card;
}

/** @param {string} orgId */
async function settingsCard(orgId) {
  /** @type {Kura.HandoverSettings} */
  const s = await api.get("/handover-settings", { org_id: orgId });
  const form = h(
    "form",
    { class: "form", "data-testid": "collab-settings" },
    h("div", { class: "check-field" }, h("input", { type: "checkbox", id: "uses-archive", name: "uses_archive", checked: s.uses_archive, "data-testid": "settings-archive" }), h("label", { for: "uses-archive" }, t("admincollab.uses_archive"))),
    field({ name: "erasure_days", label: t("admincollab.erasure_days"), type: "number", value: String(s.erasure_days), required: true, testid: "settings-erasure-days", attrs: { min: "1", max: "3650" } }),
    field({ name: "reminder_days", label: t("admincollab.reminder_days"), type: "number", value: String(s.reminder_days), required: true, testid: "settings-reminder-days", attrs: { min: "1", max: "365" } }),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn primary", "data-testid": "settings-save" }, t("common.save"))),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const v = formValues(form);
    try {
      await api.request("PUT", "/handover-settings", { body: { org_id: orgId, uses_archive: Boolean(v.uses_archive), erasure_days: Number(control(form, "erasure_days").value), reminder_days: Number(control(form, "reminder_days").value) } });
      toast(t("common.saved"), "ok");
    } catch (err) {
      showFormErrors(form, err);
    }
  });
  return h("section", { class: "card", "aria-labelledby": "set-head" }, h("h2", { id: "set-head" }, t("admincollab.settings")), h("p", { class: "muted" }, t("admincollab.settings_lead")), form);
}
