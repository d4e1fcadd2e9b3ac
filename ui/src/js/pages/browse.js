// Tree browser for inspectors (seed 001 §5(4); issue 4 item 4): folder tree on the left, the
// folder's listing on the right, documents side by side below it; the photo tree of a 電子納品
// package as a second tab. Route: #/browse/<workId>[/<nodeId>] (a file id opens that file).

import { api } from "../api.js";
import { t } from "../i18n.js";
import { href } from "../router.js";
import { h, clear, errorText, download, notice } from "../components/dom.js";
import { ensureArchiveStyles } from "../components/styles.js";
import { folderTree } from "../components/tree.js";
import { folderListing } from "../components/listing.js";
import { viewerPanes } from "../components/panes.js";

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
  const panes = viewerPanes({
    onChange: (ids) => {
      popOut.disabled = !ids.length;
      root.querySelector(".browse")?.classList.toggle("has-docs", ids.length > 0);
    },
  });

  const list = folderListing({
    onOpen: (node, { beside }) => {
      if (node.kind === "folder") go(node.id);
      else panes.open(node.id, { beside });
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
    go(folder.id, { push: false });
  });
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
        if (level) list.show(photosOf(level));
        clear(crumbsNav).append(h("ol", {}, h("li", {}, h("span", { "aria-current": "page" }, node.name))));
      },
    });
    photoPanel.append(photoTree.el);
    tabPhotos.addEventListener("click", async () => {
      selectTab(tabPhotos);
      await photoTree.reveal([]);
      list.show(photosOf(rootLevel));
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
        h("div", {}, h("h1", { tabindex: "-1" }, work.title), crumbsNav),
        h(
          "div",
          { class: "page-actions" },
          folderCount,
          exportBtn,
          popOut,
          ctx.session && ctx.session.org_kind === "contractor"
            ? h("a", { class: "btn", href: href("/upload", workId) }, t("upload.title"))
            : null,
        ),
      ),
      message,
      h(
        "div",
        { class: "browse-body" },
        h("aside", { class: "browse-tree", "aria-label": t("browse.tree") }, tabs, treePanel, photoPanel),
        h("div", { class: "browse-main" }, list.el, panes.el),
      ),
      h("p", { class: "keys-help muted" }, t("browse.keysHelp")),
    ),
  );

  const onPop = () => {};
  if (start && start.kind === "file") {
    const crumbs = start.breadcrumbs;
    const parent = crumbs.length > 1 ? crumbs[crumbs.length - 2].id : workId;
    await go(parent, { push: false, focusId: start.id });
    panes.open(start.id);
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
        updated_at: p.date ? `${p.date}T00:00:00+09:00` : null,
        size: null,
        path: p.file,
      });
    }
    for (const c of l.children || []) walk(c);
  };
  walk(level);
  return out;
}
