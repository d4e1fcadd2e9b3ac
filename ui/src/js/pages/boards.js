// The boards of all my works (#/board): a tree work → post with unread counts (seed 001 別表1-2
// 2(7): 担当する複数又は全ての業務で登録された記事等をツリー構造等で一覧表示できる), a search of
// posts across my works by title, author and date (2(7)/(11)), and for supervisors one post in
// several works at once, edited or deleted together (別表1-2 2(8)); #/board?bulk=<id> manages
// one such bulk post.
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { badge, busy, clear, confirmDialog, empty, errorBox, h, loading, pageHeader, toast, uid } from "../ui.js";
import { boardHref, ensureBoardStyles, importanceBadge, postHref, unreadBadge } from "../components/board-ui.js";
import { composeForm } from "../components/compose.js";

const RUNNING = ["registered", "in_progress"];

/**
 * @param {Kura.PostHit} hit
 * @returns {HTMLLIElement}
 */
export function hitItem(hit) {
  return h(
    "li",
    { class: "post-hit", "data-testid": "post-hit", "data-id": hit.id },
    h("div", {}, hit.type === "reply" ? badge(t("board.reply"), "neutral") : null, " ", h("a", { href: postHref(hit.work_id, hit.post_id) }, hit.title)),
    hit.excerpt ? h("p", { class: "small" }, hit.excerpt) : null,
    h("p", { class: "small muted" }, h("a", { class: "muted", href: boardHref(hit.work_id) }, hit.work_title), "・", hit.author_name, "・", fmtDateTime(hit.created_at)),
  );
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureBoardStyles();
  const bulkId = (params.query || {}).bulk;
  /** @type {Kura.TreeWork[]} */
  const works = [];
  /** @type {string | null | undefined} */
  let cursor = null;
  const first = await api.get("/bulletins/tree", { limit: 50 });
  works.push(...first.items);
  cursor = first.next_cursor;
  const supervised = () => works.filter((w) => w.role === "supervisor" && RUNNING.includes(w.work.status));

  const bulkBtn = h("button", { type: "button", class: "btn primary", "data-testid": "bulk-new", "aria-expanded": "false", hidden: !supervised().length }, t("board.bulk_new"));
  root.append(pageHeader(t("boards.title"), bulkBtn, h("a", { class: "btn", href: "#/groups" }, t("home.groups"))));
  const bulkSlot = h("div", {});
  root.append(bulkSlot);

  // -- bulk (別表1-2 2(8)) -----------------------------------------------------------------------
  /** @param {Kura.Bulk} bulk */
  function manage(bulk) {
    clear(bulkSlot);
    const list = h(
      "ul",
      { class: "check-list", "data-testid": "bulk-copies" },
      bulk.copies.map((c, i) => {
        const id = uid("bc");
        return h("li", {}, h("input", { type: "checkbox", id, value: c.work_id, checked: true }), " ", h("label", { for: id }, (bulk.works[i] || { title: "" }).title), " ", h("a", { href: postHref(c.work_id, c.id) }, c.title));
      }),
    );
    const chosen = () => [...list.querySelectorAll("input:checked")].map((el) => (el instanceof HTMLInputElement ? el.value : ""));
    const titleId = uid("bt");
    const title = h("input", { id: titleId, value: bulk.title, maxlength: "200", "data-testid": "bulk-title" });
    const save = h("button", { type: "button", class: "btn primary", "data-testid": "bulk-save" }, t("board.bulk_save"));
    const del = h("button", { type: "button", class: "btn danger", "data-testid": "bulk-delete" }, t("board.bulk_delete"));
    const error = h("div", {});
    save.addEventListener("click", () =>
      busy(save, async () => {
        try {
          manage(await api.patch(`/bulletins/bulk/${encodeURIComponent(bulk.id)}`, { version: bulk.version, title: title.value, work_ids: chosen() }));
          toast(t("common.saved"), "ok");
        } catch (err) {
          clear(error).append(errorBox(err));
        }
      }),
    );
    del.addEventListener("click", async () => {
      if (!(await confirmDialog(t("board.bulk_delete_confirm", { n: chosen().length }), { danger: true, okLabel: t("common.delete") }))) return;
      await busy(del, async () => {
        try {
          manage(await api.del(`/bulletins/bulk/${encodeURIComponent(bulk.id)}`, { version: bulk.version, work_id: chosen() }));
          toast(t("common.deleted"), "ok");
        } catch (err) {
          clear(error).append(errorBox(err));
        }
      });
    });
    bulkSlot.append(
      h(
        "section",
        { class: "card", "aria-labelledby": "bulk-h", "data-testid": "bulk-manage" },
        h("h2", { id: "bulk-h" }, t("board.bulk_manage")),
        bulk.copies.length ? list : empty(t("board.bulk_gone")),
        bulk.copies.length ? h("div", { class: "field" }, h("label", { for: titleId }, t("board.f.title")), title) : null,
        bulk.copies.length ? h("div", { class: "form-actions" }, save, del) : null,
        error,
      ),
    );
  }
  bulkBtn.addEventListener("click", () => {
    if (bulkSlot.firstChild) {
      clear(bulkSlot);
      bulkBtn.setAttribute("aria-expanded", "false");
      return;
    }
    bulkBtn.setAttribute("aria-expanded", "true");
    const form = composeForm({
      mode: "bulk",
      works: supervised(),
      onSaved: (/** @type {Kura.Bulk} */ bulk) => {
        toast(t("board.bulk_posted", { n: bulk.copies.length }), "ok");
        manage(bulk);
      },
      onCancel: () => {
        clear(bulkSlot);
        bulkBtn.setAttribute("aria-expanded", "false");
      },
    });
    bulkSlot.append(h("section", { class: "card" }, h("h2", {}, t("board.bulk_new")), h("p", { class: "hint" }, t("board.bulk_hint")), form));
  });
  if (bulkId) {
    try {
      manage(await api.get(`/bulletins/bulk/${encodeURIComponent(bulkId)}`));
    } catch (err) {
      bulkSlot.append(errorBox(err));
    }
  }

  // -- search across my works ------------------------------------------------------------------
  const ids = { q: uid("sq"), from: uid("sf"), to: uid("st"), rep: uid("sr") };
  const q = h("input", { type: "search", id: ids.q, maxlength: "200", "data-testid": "boards-q" });
  const from = h("input", { type: "date", id: ids.from, "data-testid": "boards-from" });
  const to = h("input", { type: "date", id: ids.to, "data-testid": "boards-to" });
  const rep = h("input", { type: "checkbox", id: ids.rep, "data-testid": "boards-replies" });
  const results = h("div", { "aria-live": "polite" });
  const searchForm = h(
    "form",
    { class: "board-search", role: "search", "aria-label": t("boards.search"), "data-testid": "boards-search" },
    h("div", { class: "field" }, h("label", { for: ids.q }, t("boards.search_text")), q),
    h("div", { class: "field" }, h("label", { for: ids.from }, t("board.date_from")), from),
    h("div", { class: "field" }, h("label", { for: ids.to }, t("board.date_to")), to),
    h("div", { class: "field check" }, rep, h("label", { for: ids.rep }, t("boards.with_replies"))),
    h("div", { class: "board-search-actions" }, h("button", { type: "submit", class: "btn primary", "data-testid": "boards-search-submit" }, t("common.search"))),
  );
  searchForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(results).append(loading());
    try {
      /** @type {{ items: Kura.PostHit[], total: number }} */
      const page = await api.get("/bulletins/search", { q: q.value.trim() || undefined, date_from: from.value || undefined, date_to: to.value || undefined, replies: rep.checked ? "true" : undefined, limit: 50 });
      clear(results).append(h("p", { class: "small muted", "data-testid": "boards-found" }, t("board.found", { n: page.total })), page.items.length ? h("ul", { class: "post-hits", "data-testid": "boards-hits" }, page.items.map(hitItem)) : empty(t("board.none_found")));
    } catch (err) {
      clear(results).append(errorBox(err));
    }
  });
  root.append(h("section", { class: "card", "aria-labelledby": "boards-search-h" }, h("h2", { id: "boards-search-h" }, t("boards.search")), searchForm, results));

  // -- the tree: work → post (別表1-2 2(7)) ------------------------------------------------------
  const tree = h("ul", { class: "board-tree", "aria-label": t("boards.tree"), "data-testid": "boards-tree" });
  /** @param {Kura.TreeWork} w */
  const node = (w) => {
    const kids = h("ul", { class: "board-tree-posts" });
    const more = h("button", { type: "button", class: "btn small", hidden: true }, t("common.more"));
    /** @type {string | null | undefined} */
    let next = null;
    let loaded = false;
    const load = async () => {
      /** @type {Kura.BoardPage} */
      const page = await api.get(`/works/${encodeURIComponent(w.work.id)}/posts`, { limit: 20, cursor: next || undefined });
      if (!loaded && !page.items.length) kids.append(h("li", { class: "muted small" }, t("board.empty")));
      loaded = true;
      kids.append(...page.items.map((p) => h("li", { "data-testid": "boards-post" }, unreadBadge(p), importanceBadge(p.importance), " ", h("a", { href: postHref(w.work.id, p.id) }, p.title), h("span", { class: "small muted" }, ` ${p.author_name}・${fmtDateTime(p.activity_at)}`))));
      next = page.next_cursor;
      more.hidden = !next;
    };
    more.addEventListener("click", () => busy(more, load));
    const details = h(
      "details",
      { "data-testid": "boards-work", "data-id": w.work.id },
      h("summary", {}, h("span", { class: "mono small" }, w.work.number), " ", h("strong", {}, w.work.title), " ", w.unread ? badge(t("board.unread_n", { n: w.unread }), "info") : null, w.latest_at ? h("span", { class: "small muted" }, ` ${t("boards.latest", { at: fmtDateTime(w.latest_at) })}`) : null),
      kids,
      more,
      h("p", { class: "small" }, h("a", { href: boardHref(w.work.id) }, t("boards.open_board"))),
    );
    details.addEventListener("toggle", () => {
      if (details.open && !loaded) void load().catch((err) => kids.append(errorBox(err)));
    });
    return h("li", {}, details);
  };
  tree.append(...works.map(node));
  const treeMore = h("button", { type: "button", class: "btn", hidden: !cursor, "data-testid": "boards-more" }, t("common.more"));
  treeMore.addEventListener("click", () =>
    busy(treeMore, async () => {
      const page = await api.get("/bulletins/tree", { limit: 50, cursor });
      works.push(...page.items);
      tree.append(...page.items.map(node));
      cursor = page.next_cursor;
      treeMore.hidden = !cursor;
      bulkBtn.hidden = !supervised().length;
    }),
  );
  root.append(h("section", { class: "card", "aria-labelledby": "boards-tree-h" }, h("h2", { id: "boards-tree-h" }, t("boards.tree")), works.length ? tree : empty(t("home.works_none")), h("div", { class: "table-foot" }, h("span", {}), treeMore)));
  void ctx;
}
