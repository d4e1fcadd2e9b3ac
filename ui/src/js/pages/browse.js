// Tree browser for inspectors (seed 001 §5(4); issue 4 item 4): folder tree on the left, the
// folder's listing on the right, documents side by side below it; the photo tree of a 電子納品
// package as a second tab, its photos as a list or an album (印刷: 写真帳). Route:
// #/browse/<workId>[/<nodeId>][?page=n&q=phrase] (a file id opens that file, at the page with
// the phrase marked: a search hit's link). The split between the listing and the documents is
// dragged or moved with the arrow keys (kept for the next visit); links lead back to the work
// and to the last search (issue 8 §3 item 4).

import { api } from "../api.js";
import { t } from "../i18n.js";
import { href } from "../router.js";
import { h, clear, errorText, download, notice } from "../components/dom.js";
import { ensureArchiveStyles } from "../components/styles.js";
import { folderTree } from "../components/tree.js";
import { folderListing } from "../components/listing.js";
import { viewerPanes } from "../components/panes.js";
import { photoAlbum } from "../components/album.js";

const SPLIT_KEY = "kura.browse.split";
const SPLIT_MIN = 20;
const SPLIT_MAX = 80;
export const SEARCH_KEY = "kura.search.hash"; // the last search (search.js keeps it)

/** @returns {number} the listing's share of the height beside open documents, in % */
function savedSplit() {
  try {
    const v = Number(localStorage.getItem(SPLIT_KEY));
    if (v >= SPLIT_MIN && v <= SPLIT_MAX) return v;
  } catch {
    /* private mode */
  }
  return 45;
}

/** @returns {string} the last search's hash, or the search page */
function lastSearch() {
  try {
    return sessionStorage.getItem(SEARCH_KEY) || "#/search";
  } catch {
    return "#/search";
  }
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { workId: string, nodeId?: string }} params
 * @param {Partial<Kura.PageContext>} [ctx]
 */
export async function render(root, params, ctx = {}) {
  ensureArchiveStyles();
  const workId = params.workId;
  const setTitle = ctx.setTitle || ((/** @type {string} */ s) => (document.title = s));
  clear(root);
  root.append(h("p", { class: "loading", role: "status" }, t("app.loading")));

  /** @type {Kura.Work} */
  let work;
  /** @type {Kura.NodeDetail | null} */
  let start = null;
  try {
    work = await api.get(`/works/${encodeURIComponent(workId)}`);
    if (params.nodeId) start = await api.get(`/nodes/${encodeURIComponent(params.nodeId)}`);
  } catch (err) {
    clear(root);
    root.append(h("div", { class: "notice notice-error", role: "alert" }, errorText(err)));
    return undefined;
  }
  setTitle(`${work.title} - ${t("browse.title")}`);
  // Files are added while the work runs (the API decides who may; seed 000 手続きフロー).
  const writable = work.status === "registered" || work.status === "in_progress";

  /** @type {{ id: string, name?: string, crumbs: Kura.Crumb[] }} */
  let folder = { id: workId, name: work.title, crumbs: [] }; // the folder shown in the listing
  const crumbsNav = h("nav", { class: "crumbs", "aria-label": t("browse.breadcrumbs"), "data-testid": "breadcrumbs" });
  const message = h("div", { class: "browse-message" });
  const folderCount = h("span", { class: "muted" });

  const popOut = h(
    "button",
    { type: "button", class: "btn", "data-testid": "open-window", disabled: true, onclick: () => panes.popOut() },
    t("browse.openWindow"),
  );
  // The split between the listing and the open documents: drag, or arrow keys on the handle.
  let split = savedSplit();
  const splitter = h("div", {
    class: "split-handle",
    role: "separator",
    tabindex: "0",
    hidden: true,
    "aria-orientation": "horizontal",
    "aria-valuemin": String(SPLIT_MIN),
    "aria-valuemax": String(SPLIT_MAX),
    "aria-valuenow": String(split),
    "aria-label": t("browse.split"),
    title: t("browse.splitHint"),
    "data-testid": "browse-split",
  });
  /** @param {number} value */
  function setSplit(value) {
    split = Math.round(Math.min(SPLIT_MAX, Math.max(SPLIT_MIN, value)));
    const main = root.querySelector(".browse-main");
    if (main instanceof HTMLElement) main.style.setProperty("--list-size", `${split}%`);
    splitter.setAttribute("aria-valuenow", String(split));
    try {
      localStorage.setItem(SPLIT_KEY, String(split));
    } catch {
      /* private mode: this visit only */
    }
  }
  splitter.addEventListener("keydown", (e) => {
    const steps = { ArrowUp: -5, ArrowDown: 5, PageUp: -15, PageDown: 15 };
    if (e.key in steps) setSplit(split + steps[/** @type {keyof typeof steps} */ (e.key)]);
    else if (e.key === "Home") setSplit(SPLIT_MIN);
    else if (e.key === "End") setSplit(SPLIT_MAX);
    else return;
    e.preventDefault();
  });
  splitter.addEventListener("pointerdown", (e) => {
    const main = root.querySelector(".browse-main");
    if (!(main instanceof HTMLElement)) return;
    splitter.setPointerCapture(e.pointerId);
    const box = main.getBoundingClientRect();
    /** @param {PointerEvent} m */
    const move = (m) => setSplit(((m.clientY - box.top) / box.height) * 100);
    const up = () => {
      splitter.removeEventListener("pointermove", move);
      splitter.removeEventListener("pointerup", up);
    };
    splitter.addEventListener("pointermove", move);
    splitter.addEventListener("pointerup", up);
  });

  const panes = viewerPanes({
    onChange: (ids) => {
      popOut.disabled = !ids.length;
      root.querySelector(".browse")?.classList.toggle("has-docs", ids.length > 0);
      splitter.hidden = !ids.length;
    },
  });

  // 並べて開く: the chosen file beside the open ones (also Shift+Enter, Ctrl+click).
  const besideBtn = h(
    "button",
    { type: "button", class: "btn", "data-testid": "open-beside-selected", disabled: true, title: t("browse.besideHint") },
    h("span", { class: "ico-beside", "aria-hidden": "true" }),
    ` ${t("browse.besideButton")}`,
  );
  besideBtn.addEventListener("click", () => {
    const node = list.activeNode();
    if (node && node.kind === "file") panes.open(node.id, { beside: true });
  });

  const list = folderListing({
    onOpen: (node, { beside }) => {
      if (node.kind === "folder") go(node.id);
      else panes.open(node.id, { beside });
    },
    onActive: (node) => {
      besideBtn.disabled = !node || node.kind !== "file";
    },
    onUp: () => {
      const up = folder.crumbs.length > 1 ? folder.crumbs[folder.crumbs.length - 2].id : workId;
      if (folder.id !== workId) go(up, { focusId: folder.id });
    },
  });

  const tree = folderTree({ workId, workTitle: work.title, onSelect: (node) => go(node.id) });

  const exportBtn = h(
    "button",
    { type: "button", class: "btn", "data-testid": "export-zip" },
    t("browse.exportFolder"),
  );
  exportBtn.addEventListener("click", async () => {
    exportBtn.disabled = true;
    exportBtn.setAttribute("aria-busy", "true");
    notice(message, t("browse.exporting"), "info");
    try {
      const body = folder.id === workId ? {} : { folder_id: folder.id };
      await download(`/works/${encodeURIComponent(workId)}/export`, { method: "POST", body, fallback: "export.zip" });
      notice(message, t("browse.exported"), "ok");
    } catch (err) {
      notice(message, errorText(err));
    } finally {
      exportBtn.disabled = false;
      exportBtn.removeAttribute("aria-busy");
    }
  });

  function renderCrumbs() {
    clear(crumbsNav);
    const ol = h("ol", {});
    const all = [{ id: workId, name: work.title }, ...folder.crumbs];
    all.forEach((c, i) => {
      const last = i === all.length - 1;
      ol.append(
        h(
          "li",
          {},
          last
            ? h("span", { "aria-current": "page" }, c.name)
            : h("a", { href: href("/browse", workId, c.id === workId ? undefined : c.id), onclick: (e) => { e.preventDefault(); go(c.id); } }, c.name),
        ),
      );
    });
    crumbsNav.append(ol);
  }

  /**
   * Show folder `id` (the work's root: workId) in the listing, the tree and the breadcrumbs.
   * @param {string} id
   * @param {{ focusId?: string, push?: boolean }} [options] focusId: the row to select;
   *   push: a new history entry
   */
  async function go(id, { focusId, push = true } = {}) {
    /** @type {Kura.Crumb[]} */
    let crumbs = [];
    if (id !== workId) {
      try {
        /** @type {Kura.NodeDetail} */
        const node = await api.get(`/nodes/${encodeURIComponent(id)}`);
        crumbs = node.breadcrumbs;
      } catch (err) {
        notice(message, errorText(err));
        return;
      }
    }
    folder = { id, crumbs };
    renderCrumbs();
    notice(message, "");
    if (push) history.pushState(null, "", href("/browse", workId, id === workId ? undefined : id));
    tree.reveal(crumbs);
    const url = id === workId ? `/works/${encodeURIComponent(workId)}/tree` : `/nodes/${encodeURIComponent(id)}/children`;
    await list.load(url);
    if (focusId) list.select(focusId);
  }

  // Photo tree (電子納品 写真管理): a tab shown when the work holds a checked package.
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": t("browse.treeTabs") });
  const treePanel = h("div", { class: "tree-panel", role: "tabpanel", id: "panel-folders" }, tree.el);
  const photoPanel = h("div", { class: "tree-panel", role: "tabpanel", id: "panel-photos", hidden: true });
  const tabFolders = h("button", { type: "button", role: "tab", "aria-selected": "true", "aria-controls": "panel-folders", class: "tab" }, t("browse.tabFolders"));
  tabs.append(tabFolders);
  /** @param {HTMLButtonElement} tab */
  function selectTab(tab) {
    for (const b of tabs.querySelectorAll('[role="tab"]')) {
      const on = b === tab;
      b.setAttribute("aria-selected", on ? "true" : "false");
      const panel = document.getElementById(b.getAttribute("aria-controls") ?? "");
      if (panel) panel.hidden = !on;
    }
  }
  tabFolders.addEventListener("click", () => {
    selectTab(tabFolders);
    photoViews.hidden = true;
    list.el.hidden = false;
    for (const a of root.querySelectorAll(".album")) if (a instanceof HTMLElement) a.hidden = true;
    go(folder.id, { push: false });
  });
  const photoViews = h("div", { class: "photo-views", role: "group", "aria-label": t("album.view"), hidden: true });
  loadPhotoTab();

  async function loadPhotoTab() {
    /** @type {{ id: string }[]} */
    let packages;
    try {
      packages = await api.get(`/works/${encodeURIComponent(workId)}/deliverables`);
    } catch {
      return;
    }
    if (!packages.length) return;
    /** @type {{ total: number, tree: Kura.PhotoLevel[] }} */
    let data;
    try {
      data = await api.get(`/deliverables/${encodeURIComponent(packages[0].id)}/photo-tree`);
    } catch {
      return;
    }
    if (!data.total) return;
    const tabPhotos = h("button", { type: "button", role: "tab", "aria-selected": "false", "aria-controls": "panel-photos", class: "tab", "data-testid": "tab-photos" }, t("browse.tabPhotos", { n: data.total }));
    tabs.append(tabPhotos);
    /**
     * A photo-tree level as a folder of the tree.
     * @param {Kura.PhotoLevel} level
     * @param {string} path its id: the parent's id and its index
     * @returns {Kura.ListNode}
     */
    const synth = (level, path) => ({
      id: path,
      kind: "folder",
      name: `${level.label || t("browse.unclassified")}（${level.count}）`,
      icon: "ico-tag",
      level,
    });
    /** @type {Kura.PhotoLevel} */
    const rootLevel = { label: t("browse.photoRoot"), count: data.total, children: data.tree, photos: [] };
    /** @type {Kura.PhotoLevel} */
    let currentLevel = rootLevel;
    const album = photoAlbum({ workId, onOpen: (p) => p.node_id && panes.open(p.node_id) });
    album.el.hidden = true;
    list.el.after(album.el);
    const asList = h("button", { type: "button", class: "btn small", "aria-pressed": "true", "data-testid": "photo-view-list" }, t("album.asList"));
    const asAlbum = h("button", { type: "button", class: "btn small", "aria-pressed": "false", "data-testid": "photo-view-album" }, t("album.asAlbum"));
    /** @param {boolean} on */
    const showAlbum = (on) => {
      albumMode = on;
      asList.setAttribute("aria-pressed", on ? "false" : "true");
      asAlbum.setAttribute("aria-pressed", on ? "true" : "false");
      album.el.hidden = !on;
      list.el.hidden = on;
      if (on) album.show(currentLevel);
      else list.show(photosOf(currentLevel));
    };
    let albumMode = false;
    asList.addEventListener("click", () => showAlbum(false));
    asAlbum.addEventListener("click", () => showAlbum(true));
    photoViews.append(h("span", { class: "muted small" }, t("album.view")), asList, asAlbum);
    const photoTree = folderTree({
      workId: "photos",
      workTitle: `${t("browse.photoRoot")}（${data.total}）`,
      rootIcon: "ico-camera",
      label: t("browse.tabPhotosLabel"),
      loadChildren: async (node) => {
        const level = node.id === "photos" ? rootLevel : node.level;
        return { items: (level?.children || []).map((c, i) => synth(c, `${node.id}/${i}`)), next_cursor: null };
      },
      onSelect: (node) => {
        const level = node.id === "photos" ? rootLevel : node.level;
        if (level) {
          currentLevel = level;
          if (albumMode) album.show(level);
          else list.show(photosOf(level));
        }
        clear(crumbsNav).append(h("ol", {}, h("li", {}, h("span", { "aria-current": "page" }, node.name))));
      },
    });
    photoPanel.append(photoTree.el);
    tabPhotos.addEventListener("click", async () => {
      selectTab(tabPhotos);
      photoViews.hidden = false;
      await photoTree.reveal([]);
      currentLevel = rootLevel;
      showAlbum(albumMode);
    });
  }

  clear(root);
  root.append(
    h(
      "div",
      { class: "browse" },
      h(
        "div",
        { class: "page-header browse-header" },
        h(
          "div",
          {},
          h(
            "nav",
            { class: "browse-links", "aria-label": t("browse.links") },
            h("a", { href: href("/works", workId), "data-testid": "browse-to-work" }, t("browse.toWork")),
            h("a", { href: lastSearch(), "data-testid": "browse-to-search" }, t("browse.toSearch")),
          ),
          h("h1", { tabindex: "-1" }, work.title),
          crumbsNav,
        ),
        h(
          "div",
          { class: "page-actions" },
          folderCount,
          writable ? h("a", { class: "btn", href: href("/upload", workId), "data-testid": "browse-upload" }, t("browse.upload")) : null,
          besideBtn,
          exportBtn,
          popOut,
        ),
      ),
      message,
      photoViews,
      h(
        "div",
        { class: "browse-body" },
        h("aside", { class: "browse-tree", "aria-label": t("browse.tree") }, tabs, treePanel, photoPanel),
        h("div", { class: "browse-main" }, list.el, splitter, panes.el),
      ),
      h("p", { class: "keys-help muted" }, t("browse.keysHelp")),
    ),
  );

  setSplit(split);
  const onPop = () => {};
  if (start && start.kind === "file") {
    const crumbs = start.breadcrumbs;
    const parent = crumbs.length > 1 ? crumbs[crumbs.length - 2].id : workId;
    await go(parent, { push: false, focusId: start.id });
    const q = params.query || {};
    panes.open(start.id, { page: Number(q.page) || undefined, highlight: q.q || undefined });
  } else {
    await go(start ? start.id : workId, { push: false });
  }
  const open = (params.query && params.query.open) || "";
  for (const id of open.split(",").filter(Boolean)) panes.open(id, { beside: true });
  return () => {
    panes.closeAll();
    window.removeEventListener("popstate", onPop);
  };
}

/**
 * The photos of a photo-tree level and the levels below it, as listing rows.
 * @param {Kura.PhotoLevel} level
 * @returns {Kura.ListNode[]}
 */
function photosOf(level) {
  /** @type {Kura.ListNode[]} */
  const out = [];
  /** @param {Kura.PhotoLevel} l */
  const walk = (l) => {
    for (const p of l.photos || []) {
      if (!p.node_id) continue;
      const base = String(p.file || "").split("/").pop() ?? "";
      out.push({
        id: p.node_id,
        kind: "file",
        name: p.title ? `${p.title}（${base}）` : base,
        updated_at: p.updated_at || null,
        size: p.size ?? null,
        content_type: p.content_type || undefined,
        file_type: p.file_type || undefined,
        path: p.file,
      });
    }
    for (const c of l.children || []) walk(c);
  };
  walk(level);
  return out;
}
