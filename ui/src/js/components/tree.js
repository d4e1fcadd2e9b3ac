// tree.js: the folder tree on the left of the browser (WAI-ARIA tree pattern).
// Children load lazily on expand, a page of folders at a time (`/works/{id}/tree`,
// `/nodes/{id}/children`: folders come first, so paging stops at the first file). Keyboard:
// ↑/↓ move, → opens / enters, ← closes / goes to the parent, Enter selects, Home/End.
//
//   const tree = folderTree({ workId, workTitle, onSelect(node) });
//   container.append(tree.el);  await tree.reveal(breadcrumbs)   // open the path to a node

import { api } from "../api.js";
import { t } from "../i18n.js";
import { h, clear, errorText } from "./dom.js";

const PAGE = 200;

export function folderTree({ workId, workTitle, onSelect, loadChildren, rootIcon = "ico-cabinet", label }) {
  const el = h("ul", { class: "tree", role: "tree", "aria-label": label || t("browse.tree"), "data-testid": loadChildren ? "photo-tree" : "tree" });
  const items = new Map(); // id → { li, row, group, node, loaded, cursor, expanded }
  let selectedId = null;

  function childrenUrl(id) {
    return id === workId ? `/works/${encodeURIComponent(workId)}/tree` : `/nodes/${encodeURIComponent(id)}/children`;
  }

  function makeItem(node, level) {
    const toggle = h("span", { class: "tree-toggle", "aria-hidden": "true" }, "▸");
    const row = h(
      "div",
      { class: "tree-row", style: { paddingLeft: `${(level - 1) * 1}rem` } },
      toggle,
      h("span", { class: `ico ${level === 1 ? rootIcon : node.icon || "ico-folder"}`, "aria-hidden": "true" }),
      h("span", { class: "tree-label" }, node.name),
    );
    const li = h("li", {
      role: "treeitem",
      "aria-level": String(level),
      "aria-expanded": "false",
      "aria-selected": "false",
      tabindex: "-1",
      "data-id": node.id,
      "data-testid": "tree-item",
    });
    const group = h("ul", { role: "group", hidden: true });
    li.append(row, group);
    const item = { li, row, group, node, level, loaded: false, cursor: null, expanded: false };
    items.set(node.id, item);
    row.addEventListener("click", (e) => {
      if (e.target === toggle) toggleItem(item);
      else select(item, true);
      focusItem(item);
    });
    return item;
  }

  async function loadMore(item) {
    const query = { sort: "name", order: "asc", limit: PAGE, cursor: item.cursor || undefined };
    let page;
    try {
      page = loadChildren ? await loadChildren(item.node) : await api.get(childrenUrl(item.node.id), query);
    } catch (err) {
      item.group.append(h("li", { role: "none", class: "tree-error" }, errorText(err)));
      return;
    }
    const more = item.group.querySelector(":scope > .tree-more");
    if (more) more.remove();
    let sawFile = false;
    for (const child of page.items) {
      if (child.kind !== "folder") {
        sawFile = true;
        break;
      }
      item.group.append(makeItem(child, item.level + 1).li);
    }
    item.loaded = true;
    item.cursor = sawFile ? null : page.next_cursor;
    if (item.cursor) {
      const btn = h(
        "li",
        { role: "none", class: "tree-more" },
        h("button", { type: "button", class: "btn small link", onclick: () => loadMore(item) }, t("browse.moreFolders")),
      );
      item.group.append(btn);
    }
    if (!item.group.querySelector('[role="treeitem"]')) {
      item.li.removeAttribute("aria-expanded");
      item.row.querySelector(".tree-toggle").textContent = "";
    }
  }

  async function expand(item) {
    if (!item.loaded) {
      item.row.classList.add("loading");
      await loadMore(item);
      item.row.classList.remove("loading");
    }
    if (!item.li.hasAttribute("aria-expanded")) return;
    item.expanded = true;
    item.group.hidden = false;
    item.li.setAttribute("aria-expanded", "true");
    item.row.querySelector(".tree-toggle").textContent = "▾";
  }

  function collapse(item) {
    if (!item.li.hasAttribute("aria-expanded")) return;
    item.expanded = false;
    item.group.hidden = true;
    item.li.setAttribute("aria-expanded", "false");
    item.row.querySelector(".tree-toggle").textContent = "▸";
  }

  function toggleItem(item) {
    return item.expanded ? collapse(item) : expand(item);
  }

  function select(item, notify) {
    if (selectedId && items.has(selectedId)) {
      const old = items.get(selectedId);
      old.li.setAttribute("aria-selected", "false");
      old.row.classList.remove("selected");
    }
    selectedId = item.node.id;
    item.li.setAttribute("aria-selected", "true");
    item.row.classList.add("selected");
    if (notify && onSelect) onSelect(item.node);
  }

  function focusItem(item) {
    for (const it of el.querySelectorAll('[role="treeitem"][tabindex="0"]')) it.setAttribute("tabindex", "-1");
    item.li.setAttribute("tabindex", "0");
    item.li.focus({ preventScroll: false });
  }

  function visibleItems() {
    return [...el.querySelectorAll('[role="treeitem"]')].filter((li) => !li.closest("ul[hidden]"));
  }

  el.addEventListener("keydown", (e) => {
    const li = e.target.closest('[role="treeitem"]');
    if (!li) return;
    const item = items.get(li.dataset.id);
    const list = visibleItems();
    const i = list.indexOf(li);
    const to = (j) => {
      const target = list[Math.max(0, Math.min(list.length - 1, j))];
      if (target) focusItem(items.get(target.dataset.id));
    };
    switch (e.key) {
      case "ArrowDown":
        to(i + 1);
        break;
      case "ArrowUp":
        to(i - 1);
        break;
      case "Home":
        to(0);
        break;
      case "End":
        to(list.length - 1);
        break;
      case "ArrowRight":
        if (!item.expanded && item.li.hasAttribute("aria-expanded")) expand(item);
        else to(i + 1);
        break;
      case "ArrowLeft":
        if (item.expanded) collapse(item);
        else {
          const parent = li.parentElement.closest('[role="treeitem"]');
          if (parent) focusItem(items.get(parent.dataset.id));
        }
        break;
      case "Enter":
      case " ":
        select(item, true);
        break;
      default:
        return;
    }
    e.preventDefault();
  });

  const rootItem = makeItem({ id: workId, name: workTitle || t("browse.root"), kind: "folder" }, 1);
  rootItem.li.setAttribute("tabindex", "0");
  el.append(rootItem.li);

  return {
    el,
    /** Open the folders down to `crumbs` (root first, API breadcrumbs) and select the last. */
    async reveal(crumbs = []) {
      await expand(rootItem);
      let item = rootItem;
      for (const c of crumbs) {
        let next = items.get(c.id);
        while (!next && item.cursor) {
          await loadMore(item);
          next = items.get(c.id);
        }
        if (!next) break;
        item = next;
        await expand(item);
      }
      select(item, false);
      item.li.scrollIntoView({ block: "nearest" });
    },
    select(id) {
      if (items.has(id)) select(items.get(id), false);
    },
    reset() {
      clear(el);
    },
  };
}
