// Notification settings (#/settings/notifications): per kind, whether mail is sent and from
// which importance (seed 001 別表1-1 4(20)). In-app notifications always appear under the bell.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { busy, clear, errorBox, formError, h, loading, pageHeader, showFormErrors, toast, uid } from "../ui.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} _params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, _params, ctx) {
  root.append(pageHeader(t("notifications.settings_title")), h("p", { class: "muted" }, t("notifications.settings_lead")));
  const box = h("div", {}, loading());
  root.append(box);
  try {
    /** @type {Kura.NotificationPref[]} */
    const prefs = await api.get("/notifications/preferences");
    const me = ctx.session?.user;
    const form = h("form", { novalidate: true, "data-testid": "notification-settings" });
    const rows = prefs.map((p) => {
      const mailId = uid("mail");
      const impId = uid("imp");
      /** @type {HTMLInputElement} */
      const mail = h("input", { type: "checkbox", id: mailId, name: `mail:${p.kind}`, checked: p.mail, "data-testid": `pref-mail-${p.kind}` });
      /** @type {HTMLSelectElement} */
      const importance = h(
        "select",
        { id: impId, name: `importance:${p.kind}`, "data-testid": `pref-importance-${p.kind}`, disabled: !p.mail, "aria-label": t("notifications.importance_for", { kind: p.label }) },
        h("option", { value: "normal", selected: p.min_importance === "normal" }, t("notifications.importance_normal")),
        h("option", { value: "important", selected: p.min_importance === "important" }, t("notifications.importance_important")),
      );
      mail.addEventListener("change", () => {
        importance.disabled = !mail.checked;
      });
      return { p, mail, importance, row: h("tr", {}, h("th", { scope: "row" }, h("label", { for: mailId }, p.label)), h("td", {}, mail), h("td", {}, importance)) };
    });
    const save = h("button", { type: "submit", class: "btn primary", "data-testid": "notification-settings-save" }, t("common.save"));
    if (me && !me.email) form.append(h("p", { class: "notice warn", "data-testid": "no-email-notice" }, t("notifications.no_email")));
    form.append(
      h("div", { class: "table-wrap" }, h("table", { class: "data" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("notifications.kind")), h("th", { scope: "col" }, t("notifications.by_mail")), h("th", { scope: "col" }, t("notifications.importance")))), h("tbody", {}, rows.map((r) => r.row)))),
      formError(),
      h("div", { class: "form-actions" }, save),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(save, async () => {
        /** @type {Record<string, { mail: boolean, min_importance: string }>} */
        const kinds = {};
        for (const r of rows) kinds[r.p.kind] = { mail: r.mail.checked, min_importance: r.importance.value };
        try {
          await api.put("/notifications/preferences", { kinds });
          toast(t("common.saved"), "ok");
        } catch (err) {
          showFormErrors(form, err);
        }
      });
    });
    clear(box);
    box.append(form);
  } catch (err) {
    clear(box);
    box.append(errorBox(err));
  }
}
