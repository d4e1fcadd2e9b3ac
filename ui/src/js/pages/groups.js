// My groups (#/groups, #/groups/<id>): make a group of people I deal with (seed 001 別表1-1
// 2(9): 利用者のグループ設定が任意にできる), change or delete it, and read its feed: the posts and
// replies of every work that involves a group member, as far as I may read them (グループの
// メンバーが関係する工事に登録された掲示板の記事・コメントを一元的に表示できる).
import { api } from "../api.js";
import { t } from "../i18n.js";
import { busy, clear, confirmDialog, empty, errorBox, h, loading, pageHeader, toast, uid } from "../ui.js";
import { ensureBoardStyles } from "../components/board-ui.js";
import { hitItem } from "./boards.js";

/**
 * A member picker: chosen people as removable chips, and a search among the candidates.
 * @param {Kura.Person[]} initial
 * @returns {{ el: HTMLElement, chosen: () => string[] }}
 */
function picker(initial) {
  /** @type {Map<string, Kura.Person>} */
  const chosen = new Map(initial.map((p) => [p.id, p]));
  const chips = h("ul", { class: "chips", "data-testid": "group-members" });
  const draw = () => {
    clear(chips);
    if (!chosen.size) chips.append(h("li", { class: "muted small" }, t("groups.no_members")));
    for (const p of chosen.values())
      chips.append(
        h("li", { class: "chip", "data-testid": "group-member" }, `${p.name}（${p.org_name}）`, h("button", { type: "button", class: "btn small", "aria-label": t("board.f.remove_named", { name: p.name }), onclick: () => { chosen.delete(p.id); draw(); } }, "×")),
      );
  };
  draw();
  const qid = uid("gq");
  const q = h("input", { type: "search", id: qid, "data-testid": "group-candidate-q", maxlength: "100" });
  const found = h("ul", { class: "candidates", "data-testid": "group-candidates" });
  const search = h("button", { type: "button", class: "btn", "data-testid": "group-candidate-search" }, t("common.search"));
  const run = async () => {
    /** @type {Kura.Person[]} */
    const people = await api.get("/groups/candidates", { q: q.value.trim() || undefined });
    clear(found);
    if (!people.length) found.append(h("li", { class: "muted small" }, t("groups.no_candidates")));
    for (const p of people)
      found.append(
        h("li", {}, `${p.name}（${p.org_name}）`, " ", h("button", { type: "button", class: "btn small", "data-testid": "group-candidate-add", "data-name": p.name, disabled: chosen.has(p.id), onclick: (/** @type {MouseEvent} */ e) => { chosen.set(p.id, p); draw(); if (e.currentTarget instanceof HTMLButtonElement) e.currentTarget.disabled = true; } }, t("groups.add"))),
      );
  };
  search.addEventListener("click", () => busy(search, run));
  q.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      void busy(search, run);
    }
  });
  const el = h("div", { class: "field", "data-field": "member_ids" }, h("span", { class: "label" }, t("groups.members")), chips, h("div", { class: "toolbar" }, h("label", { for: qid }, t("groups.find")), q, search), found, h("p", { class: "field-error", role: "alert", hidden: true }));
  return { el, chosen: () => [...chosen.keys()] };
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { id?: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureBoardStyles();
  /** @type {Kura.Group[]} */
  const groups = await api.get("/groups");
  const selected = params.id ? groups.find((g) => g.id === params.id) : null;
  const newBtn = h("button", { type: "button", class: "btn primary", "data-testid": "group-new" }, t("groups.new"));
  root.append(pageHeader(t("groups.title"), newBtn));
  const side = h(
    "nav",
    { class: "card groups-nav", "aria-label": t("groups.mine") },
    h("h2", {}, t("groups.mine")),
    groups.length
      ? h("ul", { "data-testid": "group-list" }, groups.map((g) => h("li", {}, h("a", { href: `#/groups/${encodeURIComponent(g.id)}`, "aria-current": selected && selected.id === g.id ? "page" : null, "data-testid": "group-link" }, g.name, h("span", { class: "small muted" }, ` (${g.members.length})`)))))
      : empty(t("groups.none")),
  );
  const main = h("div", { class: "groups-main" });
  root.append(h("div", { class: "groups-layout" }, side, main));

  /** @param {Kura.Group | null} group */
  function edit(group) {
    clear(main);
    const nameId = uid("gn");
    const name = h("input", { id: nameId, name: "name", required: true, maxlength: "100", value: group ? group.name : "", "data-testid": "group-name" });
    const members = picker(group ? group.members : []);
    const save = h("button", { type: "submit", class: "btn primary", "data-testid": "group-save" }, group ? t("common.save") : t("common.create"));
    const err = h("div", {});
    const form = h("form", { class: "form card", "data-testid": "group-form" }, h("h2", {}, group ? t("groups.edit") : t("groups.new")), h("div", { class: "field", "data-field": "name" }, h("label", { for: nameId }, t("groups.name")), name), members.el, err, h("div", { class: "form-actions" }, save));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(save, async () => {
        try {
          const body = { name: name.value, member_ids: members.chosen() };
          /** @type {Kura.Group} */
          const saved = group ? await api.patch(`/groups/${encodeURIComponent(group.id)}`, { ...body, version: group.version }) : await api.post("/groups", body);
          toast(t("common.saved"), "ok");
          ctx.navigate(`#/groups/${encodeURIComponent(saved.id)}`);
          if (group) window.dispatchEvent(new HashChangeEvent("hashchange"));
        } catch (e2) {
          clear(err).append(errorBox(e2));
        }
      });
    });
    main.append(form);
    if (group) {
      const del = h("button", { type: "button", class: "btn danger", "data-testid": "group-delete" }, t("groups.delete"));
      del.addEventListener("click", async () => {
        if (!(await confirmDialog(t("groups.delete_confirm", { name: group.name }), { danger: true, okLabel: t("common.delete") }))) return;
        await busy(del, async () => {
          await api.del(`/groups/${encodeURIComponent(group.id)}`, { version: group.version });
          toast(t("common.deleted"), "ok");
          ctx.navigate("#/groups");
        });
      });
      main.append(h("div", { class: "form-actions" }, del));
    }
  }

  newBtn.addEventListener("click", () => edit(null));
  if (!selected) {
    if (params.id) main.append(errorBox({ title: t("error.not_found_page") }));
    else main.append(h("div", { class: "card" }, empty(t("groups.intro"))));
    return;
  }
  const feed = h("div", {}, loading());
  const editBtn = h("button", { type: "button", class: "btn", "data-testid": "group-edit", onclick: () => edit(selected) }, t("common.edit"));
  main.append(
    h("section", { class: "card", "aria-labelledby": "group-h" }, h("div", { class: "page-header" }, h("h2", { id: "group-h" }, selected.name), editBtn), h("p", { class: "small" }, selected.members.map((m) => m.name).join("、") || t("groups.no_members"))),
    h("section", { class: "card", "aria-labelledby": "feed-h", "data-testid": "group-feed" }, h("h2", { id: "feed-h" }, t("groups.feed")), h("p", { class: "hint" }, t("groups.feed_hint")), feed),
  );
  /** @type {string | null | undefined} */
  let cursor = null;
  const list = h("ul", { class: "post-hits", "data-testid": "group-feed-list" });
  const more = h("button", { type: "button", class: "btn", hidden: true }, t("common.more"));
  const load = async () => {
    /** @type {{ items: Kura.PostHit[], next_cursor?: string | null }} */
    const page = await api.get(`/groups/${encodeURIComponent(selected.id)}/feed`, { limit: 30, cursor: cursor || undefined });
    list.append(...page.items.map(hitItem));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    return page;
  };
  more.addEventListener("click", () => busy(more, load));
  try {
    const page = await load();
    clear(feed).append(page.items.length ? list : empty(t("groups.feed_empty")), h("div", { class: "table-foot" }, h("span", {}), more));
  } catch (err) {
    clear(feed).append(errorBox(err));
  }
}
