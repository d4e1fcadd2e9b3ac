// The user's home page (#/home), the landing page after sign-in: the titles of the unread posts
// of all their works (seed 001 別表1-1 2(6), 別表1-2 2(10): ログイン時に、担当する工事に関する
// 未読の記事等のタイトル一覧を表示できる) with "mark all read", their unread notifications,
// today's and this week's schedule, and links to each of their works and boards.
//
// The schedule comes from the schedules module (w-schedules): GET /schedules/entries?from=&to=
// → [{ id, title, start, end, all_day, work_id, busy_only }]. Until that endpoint answers, the
// slot says the schedule is not available; nothing else depends on it.
import { api, ApiError } from "../api.js";
import { fmtDate, fmtDateTime, t } from "../i18n.js";
import { refreshBell } from "../app.js";
import { badge, busy, clear, empty, errorBox, h, loading, pageHeader, toast } from "../ui.js";
import { boardHref, ensureBoardStyles, importanceBadge, postHref, unreadBadge } from "../components/board-ui.js";

const TZ_OFFSET = "+09:00"; // the works are in Japan: "today" is Japan's day

/**
 * Today's date in Japan, and the Monday-started week around it (YYYY-MM-DD).
 * @returns {{ today: string, weekStart: string, weekEnd: string }}
 */
export function days() {
  const now = new Date(Date.now() + 9 * 3600 * 1000); // Japan has no summer time
  const iso = (/** @type {Date} */ d) => d.toISOString().slice(0, 10);
  const dow = (now.getUTCDay() + 6) % 7; // Monday 0
  const start = new Date(now.getTime() - dow * 86400 * 1000);
  const end = new Date(start.getTime() + 6 * 86400 * 1000);
  return { today: iso(now), weekStart: iso(start), weekEnd: iso(end) };
}

/**
 * @param {string} title
 * @param {string} id
 * @param {string} testid
 * @param {...Kura.Child} children
 * @returns {HTMLElement}
 */
function section(title, id, testid, ...children) {
  return h("section", { class: "card home-card", "aria-labelledby": id, "data-testid": testid }, h("h2", { id }, title), ...children);
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} _params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, _params, ctx) {
  ensureBoardStyles();
  const me = ctx.session && ctx.session.user;
  root.append(pageHeader(t("home.title"), h("a", { class: "btn", href: "#/board", "data-testid": "home-all-boards" }, t("home.all_boards")), h("a", { class: "btn", href: "#/groups" }, t("home.groups"))));
  if (me) root.append(h("p", { class: "muted" }, t("home.greeting", { name: me.name || me.login_id })));

  const unreadBody = h("div", {}, loading());
  const readAll = h("button", { type: "button", class: "btn small", "data-testid": "home-read-all", hidden: true }, t("home.read_all"));
  const unreadCount = h("span", { class: "home-count", "data-testid": "home-unread-count" });
  const notesBody = h("div", {}, loading());
  const scheduleBody = h("div", { "data-source": "/schedules/entries" }, loading());
  const worksBody = h("div", {}, loading());
  root.append(
    h(
      "div",
      { class: "home-grid" },
      section(t("home.unread"), "home-unread-h", "home-unread", h("div", { class: "home-card-tools" }, unreadCount, readAll), unreadBody),
      h(
        "div",
        { class: "home-side" },
        section(t("home.notifications"), "home-notes-h", "home-notifications", notesBody),
        // Schedule slot: entries of the schedules module (see the top of this file).
        section(t("home.schedule"), "home-schedule-h", "home-schedule", scheduleBody),
      ),
    ),
    section(t("home.works"), "home-works-h", "home-works", worksBody),
  );

  /** @type {string | null | undefined} */
  let cursor = null;
  const list = h("ul", { class: "unread-list", "data-testid": "home-unread-list" });
  const more = h("button", { type: "button", class: "btn", hidden: true, "data-testid": "home-unread-more" }, t("common.more"));

  /** @param {Kura.UnreadItem} item */
  const row = (item) =>
    h(
      "li",
      { class: "unread-item", "data-testid": "home-unread-item", "data-post": item.post_id },
      h("div", { class: "unread-head" }, unreadBadge({ ...item, unread: true }), importanceBadge(item.importance), h("a", { href: postHref(item.work_id, item.post_id), class: "unread-title" }, item.title)),
      h("div", { class: "small muted" }, h("a", { href: boardHref(item.work_id), class: "muted" }, item.work_title), "・", item.author_org_name ? `${item.author_name}（${item.author_org_name}）` : item.author_name, "・", h("time", { datetime: item.activity_at }, fmtDateTime(item.activity_at))),
    );

  /** @param {boolean} first */
  async function loadUnread(first) {
    /** @type {Kura.UnreadPage} */
    const page = await api.get("/bulletins/unread", { limit: 20, cursor: first ? undefined : cursor });
    if (first) {
      clear(unreadBody);
      clear(list);
      unreadCount.textContent = t("home.unread_count", { n: page.total });
      readAll.hidden = page.total === 0;
      if (!page.items.length) {
        unreadBody.append(empty(t("home.unread_none")));
        return;
      }
      unreadBody.append(list, h("div", { class: "table-foot" }, h("span", {}), more));
    }
    list.append(...page.items.map(row));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => busy(more, () => loadUnread(false)));
  readAll.addEventListener("click", () =>
    busy(readAll, async () => {
      const res = await api.post("/bulletins/read-all");
      toast(t("home.marked", { n: res.marked }), "ok");
      await loadUnread(true);
    }),
  );

  async function loadNotes() {
    /** @type {Kura.Page<Kura.Notification>} */
    const page = await api.get("/notifications", { unread: "true", limit: 5 });
    clear(notesBody);
    if (!page.items.length) notesBody.append(empty(t("home.notifications_none")));
    else
      notesBody.append(
        h(
          "ul",
          { class: "home-notes" },
          page.items.map((n) =>
            h(
              "li",
              {},
              n.importance === "important" ? badge(t("notifications.important"), "err") : null,
              h(
                "a",
                {
                  href: `#${n.url}`,
                  onclick: async (/** @type {MouseEvent} */ e) => {
                    e.preventDefault();
                    try {
                      await api.post(`/notifications/${encodeURIComponent(n.id)}/read`);
                    } catch {
                      /* opening matters more */
                    }
                    void refreshBell();
                    ctx.navigate(`#${n.url}`);
                  },
                },
                n.title,
              ),
              h("span", { class: "small muted" }, ` ${n.kind_label}・${fmtDateTime(n.created_at)}`),
            ),
          ),
        ),
      );
    notesBody.append(h("p", { class: "small" }, h("a", { href: "#/notifications" }, t("home.notifications_all"))));
  }

  async function loadSchedule() {
    const { today, weekStart, weekEnd } = days();
    /** @type {Kura.ScheduleEntry[]} */
    let entries;
    try {
      const res = await api.get("/schedules/entries", { from: `${weekStart}T00:00:00${TZ_OFFSET}`, to: `${weekEnd}T23:59:59${TZ_OFFSET}` });
      entries = Array.isArray(res) ? res : res.items || [];
    } catch (err) {
      clear(scheduleBody);
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
        scheduleBody.append(empty(t("home.schedule_unavailable")));
        scheduleBody.dataset.state = "unavailable";
        return;
      }
      throw err;
    }
    clear(scheduleBody);
    scheduleBody.dataset.state = "ready";
    /** @param {Kura.ScheduleEntry} e */
    const day = (e) => (e.all_day ? e.start.slice(0, 10) : new Date(new Date(e.start).getTime() + 9 * 3600 * 1000).toISOString().slice(0, 10));
    /** @param {Kura.ScheduleEntry} e */
    const when = (e) => (e.all_day ? t("home.all_day") : `${fmtDateTime(e.start).slice(-5)}〜${fmtDateTime(e.end).slice(-5)}`);
    /** @param {Kura.ScheduleEntry} e */
    const label = (e) => (e.busy_only ? t("home.busy") : e.title);
    const todays = entries.filter((e) => day(e) === today);
    scheduleBody.append(
      h("h3", {}, t("home.today", { date: fmtDate(today) })),
      todays.length ? h("ul", { class: "home-schedule", "data-testid": "home-schedule-today" }, todays.map((e) => h("li", {}, h("span", { class: "mono small" }, when(e)), " ", label(e)))) : empty(t("home.schedule_none")),
      h("h3", {}, t("home.week", { from: fmtDate(weekStart), to: fmtDate(weekEnd) })),
      entries.length
        ? h("ul", { class: "home-schedule", "data-testid": "home-schedule-week" }, entries.map((e) => h("li", {}, h("span", { class: "mono small" }, `${fmtDate(day(e))} ${when(e)}`), " ", label(e))))
        : empty(t("home.schedule_none")),
    );
  }

  async function loadWorks() {
    /** @type {Kura.Page<Kura.TreeWork>} */
    const page = await api.get("/bulletins/tree", { limit: 50 });
    clear(worksBody);
    if (!page.items.length) {
      // why it is empty, in the words of the works page (issue 8 §3 item 9)
      const why = ctx.session && ctx.session.org_kind === "contractor" ? t("works.none_contractor") : t("home.works_none");
      worksBody.append(h("p", { class: "empty", "data-testid": "home-works-empty" }, why), h("p", {}, h("a", { href: "#/works" }, t("home.works_all"))));
      return;
    }
    worksBody.append(
      h(
        "ul",
        { class: "home-works", "data-testid": "home-work-list" },
        page.items.map((w) =>
          h(
            "li",
            { "data-testid": "home-work", "data-id": w.work.id },
            h("a", { href: `#/works/${encodeURIComponent(w.work.id)}` }, w.work.title),
            h("span", { class: "mono small muted" }, ` ${w.work.number}`),
            " ",
            h("a", { class: "btn small", href: boardHref(w.work.id) }, t("home.board"), w.unread ? h("span", { class: "count" }, ` ${w.unread}`) : null),
          ),
        ),
      ),
    );
    if (page.next_cursor) worksBody.append(h("p", {}, h("a", { href: "#/board" }, t("home.works_more"))));
  }

  /**
   * @param {HTMLElement} where
   * @param {() => Promise<void>} fn
   */
  const guarded = async (where, fn) => {
    try {
      await fn();
    } catch (err) {
      clear(where).append(errorBox(err));
    }
  };
  await Promise.all([guarded(unreadBody, () => loadUnread(true)), guarded(notesBody, loadNotes), guarded(scheduleBody, loadSchedule), guarded(worksBody, loadWorks)]);
}
