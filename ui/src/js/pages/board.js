// A work's bulletin board (#/works/<id>/board): the posts the user reads, newest activity
// first, unread ones marked (seed 001 別表1-1 2(1)(2)(6)); search by title, author and
// registration date (2(7)); "mark all read"; a new post (compose.js: scope, mail, files by drag
// and drop). Posts open at #/works/<id>/board/<postId> (post.js).
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { busy, clear, empty, errorBox, h, loading, pageHeader, toast, uid } from "../ui.js";
import { byline, ensureBoardStyles, importanceBadge, postHref, scopeLabel, unreadBadge } from "../components/board-ui.js";
import { composeForm } from "../components/compose.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { id: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureBoardStyles();
  const workId = params.id;
  /** @type {Kura.Audience} */
  const audience = await api.get(`/works/${encodeURIComponent(workId)}/posts/audience`);
  const work = audience.work;
  ctx.setTitle(t("board.title_of", { work: work.title }));
  const me = ctx.session ? ctx.session.user.id : "";

  const composeSlot = h("div", {});
  const newBtn = audience.can_post ? h("button", { type: "button", class: "btn primary", "data-testid": "board-new", "aria-expanded": "false" }, t("board.new_post")) : null;
  const readAll = h("button", { type: "button", class: "btn", "data-testid": "board-read-all" }, t("board.read_all"));
  root.append(
    h("nav", { class: "breadcrumb", "aria-label": t("board.breadcrumb") }, h("a", { href: `#/works/${encodeURIComponent(workId)}` }, work.title), " › ", h("span", {}, t("board.title"))),
    pageHeader(t("board.title_of", { work: work.title }), newBtn, readAll),
    composeSlot,
  );
  if (newBtn) {
    newBtn.addEventListener("click", () => {
      if (composeSlot.firstChild) {
        clear(composeSlot);
        newBtn.setAttribute("aria-expanded", "false");
        return;
      }
      newBtn.setAttribute("aria-expanded", "true");
      const form = composeForm({
        mode: "post",
        workId,
        audience,
        me,
        onSaved: (/** @type {Kura.Post} */ post) => {
          toast(t("board.posted"), "ok");
          ctx.navigate(postHref(workId, post.id));
        },
        onCancel: () => {
          clear(composeSlot);
          newBtn.setAttribute("aria-expanded", "false");
          newBtn.focus();
        },
      });
      composeSlot.append(h("section", { class: "card", "aria-label": t("board.new_post") }, h("h2", {}, t("board.new_post")), form));
      const title = form.querySelector("input[name=title]");
      if (title instanceof HTMLInputElement) title.focus();
    });
  }

  // -- search (2(7)) ---------------------------------------------------------------------------
  const ids = { q: uid("bq"), author: uid("ba"), from: uid("bf"), to: uid("bt") };
  const q = h("input", { type: "search", id: ids.q, name: "q", maxlength: "200", "data-testid": "board-q" });
  const author = h("select", { id: ids.author, name: "author_id", "data-testid": "board-author" }, h("option", { value: "" }, t("common.all")), audience.authors.map((a) => h("option", { value: a.id }, a.org_name ? `${a.name}（${a.org_name}）` : a.name)));
  const from = h("input", { type: "date", id: ids.from, name: "date_from", "data-testid": "board-from" });
  const to = h("input", { type: "date", id: ids.to, name: "date_to", "data-testid": "board-to" });
  const searchForm = h(
    "form",
    { class: "board-search", role: "search", "aria-label": t("board.search"), "data-testid": "board-search" },
    h("div", { class: "field" }, h("label", { for: ids.q }, t("board.f.title")), q),
    h("div", { class: "field" }, h("label", { for: ids.author }, t("board.author")), author),
    h("div", { class: "field" }, h("label", { for: ids.from }, t("board.date_from")), from),
    h("div", { class: "field" }, h("label", { for: ids.to }, t("board.date_to")), to),
    h("div", { class: "board-search-actions" }, h("button", { type: "submit", class: "btn primary", "data-testid": "board-search-submit" }, t("common.search")), h("button", { type: "reset", class: "btn", "data-testid": "board-search-clear" }, t("common.clear"))),
  );
  const summary = h("p", { class: "small muted", "data-testid": "board-summary", "aria-live": "polite" });
  const listBox = h("div", {}, loading());
  const more = h("button", { type: "button", class: "btn", hidden: true, "data-testid": "board-more" }, t("common.more"));
  root.append(h("section", { class: "card" }, searchForm, summary, listBox, h("div", { class: "table-foot" }, h("span", {}), more)));

  /** @type {string | null | undefined} */
  let cursor = null;
  const tbody = h("tbody", {});
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data board-table", "data-testid": "board-list" },
      h("thead", {}, h("tr", {}, [t("board.col.title"), t("board.col.author"), t("board.col.activity"), t("board.col.replies"), t("board.col.files")].map((c) => h("th", { scope: "col" }, c)))),
      tbody,
    ),
  );

  /** @param {Kura.Post} p */
  const row = (p) =>
    h(
      "tr",
      { class: p.unread ? "unread" : "", "data-testid": "board-row", "data-id": p.id },
      h(
        "td",
        {},
        h("div", { class: "post-row-head" }, unreadBadge(p), importanceBadge(p.importance), h("a", { href: postHref(workId, p.id), class: "post-title" }, p.title)),
        h("div", { class: "small muted" }, scopeLabel(p.scope), p.edited_at ? `・${t("board.edited")}` : ""),
      ),
      h("td", {}, byline(p).split("・")[0]),
      h("td", { class: "nowrap" }, h("time", { datetime: p.activity_at }, fmtDateTime(p.activity_at))),
      h("td", { class: "num" }, String(p.reply_count)),
      h("td", { class: "num" }, p.attachment_count ? `📎 ${p.attachment_count}` : ""),
    );

  function query() {
    return { q: q.value.trim() || undefined, author_id: author.value || undefined, date_from: from.value || undefined, date_to: to.value || undefined };
  }

  /** @param {boolean} first */
  async function load(first) {
    /** @type {Kura.BoardPage} */
    const page = await api.get(`/works/${encodeURIComponent(workId)}/posts`, { ...query(), limit: 50, cursor: first ? undefined : cursor });
    if (first) {
      clear(listBox);
      clear(tbody);
      const filtered = Object.values(query()).some(Boolean);
      summary.textContent = filtered ? t("board.found", { n: page.total ?? page.items.length }) : t("board.unread_here", { n: page.unread });
      if (!page.items.length) {
        listBox.append(empty(filtered ? t("board.none_found") : t("board.empty")));
        more.hidden = true;
        return;
      }
      listBox.append(table);
    }
    tbody.append(...page.items.map(row));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  const reload = async () => {
    try {
      await load(true);
    } catch (err) {
      clear(listBox).append(errorBox(err));
    }
  };
  searchForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void reload();
  });
  searchForm.addEventListener("reset", () => setTimeout(() => void reload(), 0));
  more.addEventListener("click", () => busy(more, () => load(false)));
  readAll.addEventListener("click", () =>
    busy(readAll, async () => {
      const res = await api.post(`/works/${encodeURIComponent(workId)}/posts/read-all`);
      toast(t("home.marked", { n: res.marked }), "ok");
      await reload();
    }),
  );
  await reload();
}
