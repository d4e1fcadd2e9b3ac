// Notifications (#/notifications?all=1): the bell's list. Unread first by default; each item
// opens what it is about and is marked read on the way; "すべて既読にする" clears the bell.
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { refreshBell } from "../app.js";
import { badge, busy, clear, empty, errorBox, h, loading, pageHeader, toast } from "../ui.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const all = (params.query || {}).all === "1";
  const markAll = h("button", { type: "button", class: "btn", "data-testid": "notifications-read-all" }, t("notifications.read_all"));
  const toggle = h("a", { class: "btn link", href: all ? "#/notifications" : "#/notifications?all=1", "data-testid": "notifications-toggle" }, t(all ? "notifications.show_unread" : "notifications.show_all"));
  const settings = h("a", { class: "btn link", href: "#/settings/notifications", "data-testid": "notifications-settings" }, t("notifications.settings"));
  root.append(pageHeader(t("notifications.title"), toggle, settings, markAll));
  const list = h("div", {}, loading());
  root.append(list);
  const more = h("button", { type: "button", class: "btn", hidden: true, "data-testid": "notifications-more" }, t("common.more"));
  const ul = h("ul", { class: "notification-list", "data-testid": "notification-list" });

  /** @param {Kura.Notification} n */
  function item(n) {
    const open = async (/** @type {MouseEvent} */ e) => {
      e.preventDefault();
      if (n.unread) {
        try {
          await api.post(`/notifications/${encodeURIComponent(n.id)}/read`);
        } catch {
          /* opening matters more than the mark */
        }
        refreshBell();
      }
      ctx.navigate(`#${n.url}`);
    };
    const markRead = h("button", { type: "button", class: "btn small", "data-testid": "notification-mark-read" }, t("notifications.mark_read"));
    markRead.addEventListener("click", () =>
      busy(markRead, async () => {
        await api.post(`/notifications/${encodeURIComponent(n.id)}/read`);
        li.classList.remove("unread");
        markRead.remove();
        refreshBell();
      }),
    );
    const li = h(
      "li",
      { class: n.unread ? "notification unread" : "notification", "data-testid": "notification-item" },
      h("div", { class: "notification-head" }, n.importance === "important" ? badge(t("notifications.important"), "err") : null, h("span", { class: "small muted" }, n.kind_label), h("time", { class: "small muted", datetime: n.created_at }, fmtDateTime(n.created_at))),
      h("a", { href: `#${n.url}`, class: "notification-title", onclick: open }, n.title),
      n.unread ? markRead : null,
    );
    return li;
  }

  /**
   * @param {string | null | undefined} cursor
   * @returns {Promise<Kura.Page<Kura.Notification>>}
   */
  async function load(cursor) {
    /** @type {Kura.Page<Kura.Notification>} */
    const page = await api.get("/notifications", { unread: all ? undefined : "true", limit: 50, cursor });
    ul.append(...page.items.map(item));
    more.hidden = !page.next_cursor;
    return page;
  }

  try {
    let page = await load(undefined);
    clear(list);
    if (!page.items.length) {
      list.append(h("div", { class: "card", "data-testid": "notifications-empty" }, empty(t(all ? "notifications.empty_all" : "notifications.empty"))));
      markAll.disabled = true;
      return;
    }
    list.append(ul, h("div", { class: "table-foot" }, h("span", {}), more));
    more.addEventListener("click", () =>
      busy(more, async () => {
        page = await load(page.next_cursor);
      }),
    );
    markAll.addEventListener("click", () =>
      busy(markAll, async () => {
        const res = await api.post("/notifications/read-all");
        toast(t("notifications.marked", { n: res.marked }), "ok");
        refreshBell();
        ctx.navigate(all ? "#/notifications?all=1" : "#/notifications", { replace: true });
        if (!all) {
          clear(list);
          list.append(h("div", { class: "card", "data-testid": "notifications-empty" }, empty(t("notifications.empty"))));
        } else {
          for (const li of ul.querySelectorAll(".unread")) li.classList.remove("unread");
          for (const b of ul.querySelectorAll("[data-testid=notification-mark-read]")) b.remove();
        }
      }),
    );
  } catch (err) {
    clear(list);
    list.append(errorBox(err));
  }
}
