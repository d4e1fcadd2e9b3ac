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

/**
 * One folder of the tree: its elements, its node and how far its children are loaded.
 * @typedef {object} Item
 * @property {HTMLLIElement} li
 * @property {HTMLDivElement} row
 * @property {HTMLSpanElement} toggle the ▸ / ▾ mark
 * @property {HTMLUListElement} group the children
 * @property {Kura.ListNode} node
 * @property {number} level 1 for the root
 * @property {boolean} loaded
 * @property {string | null} cursor the next page of children, if any
 * @property {boolean} expanded
 */

/**
 * @typedef {object} TreeOptions
 * @property {string} workId the root (its children: GET /works/{id}/tree)
 * @property {string} [workTitle] the root's label
 * @property {(node: Kura.ListNode) => void} [onSelect] a folder was chosen (click, Enter, Space)
 * @property {(node: Kura.ListNode) => Promise<Kura.Page<Kura.ListNode>>} [loadChildren] children
 *   from elsewhere than the API (the photo tree)
 * @property {string} [rootIcon] the root's icon class
 * @property {string} [label] the tree's accessible name
 */

/**
 * A folder tree (see the top of this file).
 * @param {TreeOptions} options
 */
export function folderTree({ workId, workTitle, onSelect, loadChildren, rootIcon = "ico-cabinet", label }) {
  const el = h("ul", { class: "tree", role: "tree", "aria-label": label || t("browse.tree"), "data-testid": loadChildren ? "photo-tree" : "tree" });
  /** @type {Map<string, Item>} */
  const items = new Map();
  /** @type {string | null} */
  let selectedId = null;

  /**
   * @param {string} id
   * @returns {string}
   */
  function childrenUrl(id) {
    return id === workId ? `/works/${encodeURIComponent(workId)}/tree` : `/nodes/${encodeURIComponent(id)}/children`;
  }

  /**
   * @param {Kura.ListNode} node
   * @param {number} level
   * @returns {Item}
   */
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
    /** @type {Item} */
    const item = { li, row, toggle, group, node, level, loaded: false, cursor: null, expanded: false };
    items.set(node.id, item);
    row.addEventListener("click", (e) => {
      if (e.target === toggle) toggleItem(item);
      else select(item, true);
      focusItem(item);
    });
    return item;
  }

  /** @param {Item} item */
  async function loadMore(item) {
    const query = { sort: "name", order: "asc", limit: PAGE, cursor: item.cursor || undefined };
    /** @type {Kura.Page<Kura.ListNode>} */
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
    item.cursor = sawFile ? null : page.next_cursor ?? null;
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
      item.toggle.textContent = "";
    }
  }

  /** @param {Item} item */
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
    item.toggle.textContent = "▾";
  }

  /** @param {Item} item */
  function collapse(item) {
    if (!item.li.hasAttribute("aria-expanded")) return;
    item.expanded = false;
    item.group.hidden = true;
    item.li.setAttribute("aria-expanded", "false");
    item.toggle.textContent = "▸";
  }

  /** @param {Item} item */
  function toggleItem(item) {
    return item.expanded ? collapse(item) : expand(item);
  }

  /**
   * @param {Item} item
   * @param {boolean} notify tell onSelect
   */
  function select(item, notify) {
    const old = selectedId ? items.get(selectedId) : undefined;
    if (old) {
      old.li.setAttribute("aria-selected", "false");
      old.row.classList.remove("selected");
    }
    selectedId = item.node.id;
    item.li.setAttribute("aria-selected", "true");
    item.row.classList.add("selected");
    if (notify && onSelect) onSelect(item.node);
  }

  /** @param {Item | undefined} item */
  function focusItem(item) {
    if (!item) return;
    for (const it of el.querySelectorAll('[role="treeitem"][tabindex="0"]')) it.setAttribute("tabindex", "-1");
    item.li.setAttribute("tabindex", "0");
    item.li.focus({ preventScroll: false });
  }

  function visibleItems() {
    return [...el.querySelectorAll('[role="treeitem"]')].filter((li) => li instanceof HTMLElement).filter((li) => !li.closest("ul[hidden]"));
  }

  el.addEventListener("keydown", (e) => {
    const li = e.target instanceof Element ? e.target.closest('[role="treeitem"]') : null;
    if (!(li instanceof HTMLElement)) return;
    const item = items.get(li.dataset.id ?? "");
    if (!item) return;
    const list = visibleItems();
    const i = list.indexOf(li);
    /** @param {number} j */
    const to = (j) => {
      const target = list[Math.max(0, Math.min(list.length - 1, j))];
      if (target) focusItem(items.get(target.dataset.id ?? ""));
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
          const parent = li.parentElement?.closest('[role="treeitem"]');
          if (parent instanceof HTMLElement) focusItem(items.get(parent.dataset.id ?? ""));
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
    /**
     * Open the folders down to `crumbs` (root first, API breadcrumbs) and select the last.
     * @param {Kura.Crumb[]} [crumbs]
     */
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
    /** @param {string} id */
    select(id) {
      const item = items.get(id);
      if (item) select(item, false);
    },
    reset() {
      clear(el);
    },
  };
}
