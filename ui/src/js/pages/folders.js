// 書類管理 (seed 001 別表1-1 5, 6; §3-4): a work's document folders. Route:
// #/folders/<workId>[/<folderId>]. Left: the folder tree with each folder's 書類種別 and
// document count, and (for those who may write) new / rename / move / type / delete. Right:
// the documents of the chosen folder and everything below it, searched and sorted by class
// and date, each with its approval record; upload into the folder (then the personal-data
// check, §3-2), move, delete, output as ZIP (structure and names kept, 6(1)), the list as CSV
// and Excel (5(7)); documents open beside each other below the list.

import { api } from "../api.js";
import { fmtBytes, fmtDate, t } from "../i18n.js";
import { href } from "../router.js";
import { badge, busy, clear, confirmDialog, control, dialog, empty, errorBox, errorMessage, field, h, selectField, toast } from "../ui.js";
import { download as downloadPost } from "../components/dom.js";
import { ensureArchiveStyles } from "../components/styles.js";
import { viewerPanes } from "../components/panes.js";
import { uploadQueue } from "../components/upload-queue.js";
import { ensureCollabStyles, stampList, warnIfPersonal } from "../components/collab.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { workId: string, folderId?: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureArchiveStyles();
  ensureCollabStyles();
  const workId = params.workId;
  const enc = encodeURIComponent(workId);
  /** @type {Kura.Work} */
  let work;
  /** @type {Kura.FolderListing} */
  let listing;
  try {
    work = await api.get(`/works/${enc}`);
    listing = await api.get(`/works/${enc}/folders`);
  } catch (err) {
    root.append(errorBox(err));
    return undefined;
  }
  ctx.setTitle(`${work.title} - ${t("folders.title")}`);
  /** @type {string | null} */
  let current = params.folderId || null;
  /** @type {Set<string>} */
  const selected = new Set();
  /** @type {string | null} */
  let cursor = null;

  const treeBox = h("nav", { class: "folder-tree", "aria-label": t("folders.tree"), "data-testid": "folder-tree" });
  const folderTools = h("div", { class: "toolbar folder-tools" });
  const summary = h("p", { class: "muted small", "data-testid": "folders-summary" });
  const rows = h("tbody", { "data-testid": "documents" });
  const more = h("button", { type: "button", class: "btn", hidden: true, "data-testid": "documents-more" }, t("folders.more"));
  const panes = viewerPanes({ emptyText: null });
  const queue = uploadQueue({ workId, onChange: (entries) => onUploads(entries) });
  const fileInput = h("input", { type: "file", multiple: true, class: "sr-only", id: "folder-upload", "data-testid": "folder-upload-input", tabindex: "-1" });

  const filters = h(
    "form",
    { class: "doc-filters", role: "search", "aria-label": t("folders.search"), "data-testid": "documents-filters" },
    field({ name: "q", label: t("folders.q"), type: "search", testid: "documents-q" }),
    selectField({ name: "doc_type", label: t("folders.doc_type"), blank: t("folders.all_types"), options: listing.doc_types.map((d) => ({ value: d, label: d })), testid: "documents-type" }),
    field({ name: "date_from", label: t("folders.date_from"), type: "date", testid: "documents-from" }),
    field({ name: "date_to", label: t("folders.date_to"), type: "date", testid: "documents-to" }),
    selectField({
      name: "sort",
      label: t("folders.sort"),
      value: "name",
      options: ["name", "date", "type", "size"].map((s) => ({ value: s, label: t(`folders.sort.${s}`) })),
      testid: "documents-sort",
    }),
    selectField({ name: "order", label: t("folders.order"), value: "asc", options: [{ value: "asc", label: t("folders.asc") }, { value: "desc", label: t("folders.desc") }], testid: "documents-order" }),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn primary", "data-testid": "documents-apply" }, t("folders.apply"))),
  );
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    loadDocs();
  });

  /** @returns {Record<string, string>} */
  function query() {
    /** @type {Record<string, string>} */
    const q = {};
    for (const name of ["q", "doc_type", "date_from", "date_to", "sort", "order"]) {
      const v = control(filters, name).value;
      if (v) q[name] = v;
    }
    if (current) q.folder_id = current;
    return q;
  }

  const folderById = () => new Map(listing.folders.map((f) => [f.id, f]));
  const currentFolder = () => (current ? folderById().get(current) || null : null);

  function drawTree() {
    clear(treeBox);
    /** @param {string} parentId @returns {HTMLUListElement} */
    const level = (parentId) =>
      h(
        "ul",
        {},
        listing.folders
          .filter((f) => f.parent_id === parentId)
          .map((f) =>
            h(
              "li",
              {},
              h(
                "button",
                { type: "button", class: "folder-item", "aria-current": f.id === current ? "true" : null, "data-testid": "folder-item", "data-path": f.path, onclick: () => choose(f.id) },
                h("span", { class: "folder-name" }, f.name),
                " ",
                h("span", { class: "muted small" }, t("folders.count", { n: f.total_files })),
                f.doc_type_set && !f.name.includes(f.doc_type) ? [" ", badge(f.doc_type, "info")] : null,
              ),
              listing.folders.some((c) => c.parent_id === f.id) ? level(f.id) : null,
            ),
          ),
      );
    treeBox.append(
      h(
        "button",
        { type: "button", class: "folder-item root", "aria-current": current ? null : "true", "data-testid": "folder-root", onclick: () => choose(null) },
        t("folders.all"),
        " ",
        h("span", { class: "muted small" }, t("folders.count", { n: listing.total_files })),
      ),
      level(workId),
    );
    const f = currentFolder();
    summary.textContent = f ? `${f.path}${f.doc_type ? `（${t("folders.doc_type")}: ${f.doc_type}）` : ""}` : t("folders.all_docs");
    drawFolderTools();
  }

  function drawFolderTools() {
    clear(folderTools);
    if (!listing.can_write) return;
    const f = currentFolder();
    const add = h("button", { type: "button", class: "btn small", "data-testid": "folder-new" }, t("folders.new"));
    add.addEventListener("click", () => newFolder());
    folderTools.append(add);
    if (!f) return;
    /** @type {[string, string, () => Promise<void>][]} */
    const acts = [
      ["folder-rename", "folders.rename", () => renameFolder(f)],
      ["folder-move", "folders.move", () => moveFolder(f)],
      ["folder-type", "folders.retype", () => retypeFolder(f)],
      ["folder-delete", "folders.delete", () => deleteFolder(f)],
    ];
    for (const [testid, key, fn] of acts) {
      const b = h("button", { type: "button", class: "btn small", "data-testid": testid }, t(key));
      b.addEventListener("click", () => busy(b, fn));
      folderTools.append(b);
    }
  }

  /** @param {string | null} id */
  function choose(id) {
    current = id;
    history.replaceState(null, "", href("/folders", workId, id || undefined));
    drawTree();
    loadDocs();
  }

  async function reloadFolders() {
    listing = await api.get(`/works/${enc}/folders`);
    if (current && !folderById().has(current)) current = null;
    drawTree();
  }

  /**
   * A small form in a dialog; resolves with its values, or null when cancelled.
   * @param {string} title
   * @param {HTMLElement[]} fields
   * @param {string} ok
   * @returns {Promise<HTMLFormElement | null>}
   */
  async function ask(title, fields, ok) {
    const form = h("form", { class: "form", "data-testid": "folder-form" }, fields);
    const v = await dialog({ title, body: form, testid: "folder-dialog", actions: [{ label: t("common.cancel"), value: false }, { label: ok, value: true, primary: true, testid: "folder-ok" }] });
    return v === true ? form : null;
  }

  /** @param {() => Promise<unknown>} fn @param {string} done */
  async function attempt(fn, done) {
    try {
      await fn();
      toast(done, "ok");
      await reloadFolders();
      await loadDocs();
    } catch (err) {
      toast(errorMessage(err), "error");
    }
  }

  async function newFolder() {
    const form = await ask(t("folders.new"), [field({ name: "name", label: t("folders.name"), required: true, testid: "folder-name" }), field({ name: "doc_type", label: t("folders.doc_type"), testid: "folder-doc-type", hint: t("folders.doc_type_hint") })], t("folders.create"));
    if (!form) return;
    await attempt(() => api.post(`/works/${enc}/folders`, { parent_id: current, name: control(form, "name").value, doc_type: control(form, "doc_type").value || null }), t("folders.created"));
  }

  /** @param {Kura.Folder} f */
  async function renameFolder(f) {
    const form = await ask(t("folders.rename"), [field({ name: "name", label: t("folders.name"), value: f.name, required: true, testid: "folder-name" })], t("common.save"));
    if (!form) return;
    await attempt(() => api.request("PATCH", `/folders/${encodeURIComponent(f.id)}`, { body: { version: f.version, name: control(form, "name").value } }), t("folders.renamed"));
  }

  /** @param {Kura.Folder} f */
  async function moveFolder(f) {
    const options = [{ value: "", label: t("folders.root") }, ...listing.folders.filter((o) => o.id !== f.id && !o.path.startsWith(`${f.path}/`)).map((o) => ({ value: o.id, label: o.path }))];
    const form = await ask(t("folders.move"), [selectField({ name: "target", label: t("folders.target"), options, testid: "folder-target" })], t("folders.move_ok"));
    if (!form) return;
    const target = control(form, "target").value || null;
    await attempt(() => api.request("PATCH", `/folders/${encodeURIComponent(f.id)}`, { body: { version: f.version, move: true, parent_id: target } }), t("folders.moved"));
  }

  /** @param {Kura.Folder} f */
  async function retypeFolder(f) {
    const form = await ask(t("folders.retype"), [field({ name: "doc_type", label: t("folders.doc_type"), value: f.doc_type_set ? f.doc_type : "", testid: "folder-doc-type", hint: t("folders.doc_type_hint") })], t("common.save"));
    if (!form) return;
    await attempt(() => api.request("PATCH", `/folders/${encodeURIComponent(f.id)}`, { body: { version: f.version, doc_type: control(form, "doc_type").value } }), t("folders.retyped"));
  }

  /** @param {Kura.Folder} f */
  async function deleteFolder(f) {
    const text = f.total_files ? t("folders.delete_confirm_files", { name: f.name, n: f.total_files }) : t("folders.delete_confirm", { name: f.name });
    if (!(await confirmDialog(text, { danger: true, okLabel: t("folders.delete") }))) return;
    const parent = f.parent_id === workId ? null : f.parent_id;
    await attempt(() => api.del(`/folders/${encodeURIComponent(f.id)}`, { version: f.version, recursive: "true" }), t("folders.deleted"));
    choose(parent);
  }

  // documents -----------------------------------------------------------------------------
  /** @type {Map<string, Kura.DocumentRow>} */
  const shown = new Map();

  /** @param {boolean} [append] */
  async function loadDocs(append = false) {
    if (!append) {
      cursor = null;
      shown.clear();
      selected.clear();
      clear(rows);
    }
    try {
      /** @type {{ items: Kura.DocumentRow[], next_cursor: string | null }} */
      const page = await api.get(`/works/${enc}/documents`, { ...query(), limit: 100, ...(cursor ? { cursor } : {}) });
      for (const d of page.items) {
        shown.set(d.id, d);
        rows.append(docRow(d));
      }
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (!shown.size) rows.append(h("tr", {}, h("td", { colspan: "9" }, empty(t("folders.no_docs")))));
    } catch (err) {
      clear(rows).append(h("tr", {}, h("td", { colspan: "9" }, errorBox(err))));
    }
    drawSelection();
  }
  more.addEventListener("click", () => loadDocs(true));

  /** @param {Kura.DocumentRow} d */
  function docRow(d) {
    const box = h("input", { type: "checkbox", "aria-label": t("folders.select", { name: d.name }), "data-testid": "document-select" });
    box.addEventListener("change", () => {
      if (box.checked) selected.add(d.id);
      else selected.delete(d.id);
      drawSelection();
    });
    const open = h("button", { type: "button", class: "linkish", "data-testid": "document-open" }, d.name);
    open.addEventListener("click", (e) => panes.open(d.id, { beside: e.shiftKey }));
    const warn = d.personal_data && d.personal_data.count ? badge(d.personal_data.decision === "kept" ? t("folders.personal_kept") : t("folders.personal"), "warn", { "data-testid": "document-personal" }) : "";
    return h(
      "tr",
      { "data-testid": "document-row", "data-id": d.id, "data-name": d.name },
      h("td", {}, box),
      h("td", {}, open, d.title && d.title !== d.name ? h("div", { class: "muted small" }, d.title) : null),
      h("td", {}, d.doc_type || "—"),
      h("td", { class: "small" }, d.folder),
      h("td", { class: "nowrap" }, fmtDate(d.registered_on)),
      h("td", {}, d.created_by_name || "—"),
      h("td", { class: "nowrap num" }, fmtBytes(d.size)),
      h("td", { "data-testid": "document-approvals" }, stampList(d.approvals)),
      h("td", {}, warn),
    );
  }

  const moveBtn = h("button", { type: "button", class: "btn", "data-testid": "documents-move", disabled: true }, t("folders.move_docs"));
  const deleteBtn = h("button", { type: "button", class: "btn", "data-testid": "documents-delete", disabled: true }, t("folders.delete_docs"));
  const zipBtn = h("button", { type: "button", class: "btn", "data-testid": "documents-zip" }, t("folders.zip"));
  function drawSelection() {
    moveBtn.disabled = !selected.size || !listing.can_write;
    deleteBtn.disabled = !selected.size || !listing.can_write;
    zipBtn.textContent = selected.size ? t("folders.zip_selected", { n: selected.size }) : current ? t("folders.zip_folder") : t("folders.zip_all");
  }

  moveBtn.addEventListener("click", () =>
    busy(moveBtn, async () => {
      const options = [{ value: "", label: t("folders.root") }, ...listing.folders.map((o) => ({ value: o.id, label: o.path }))];
      const form = await ask(t("folders.move_docs"), [selectField({ name: "target", label: t("folders.target"), options, testid: "folder-target" })], t("folders.move_ok"));
      if (!form) return;
      await attempt(() => api.post(`/works/${enc}/documents/move`, { node_ids: [...selected], target_id: control(form, "target").value || null }), t("folders.docs_moved"));
    }),
  );
  deleteBtn.addEventListener("click", () =>
    busy(deleteBtn, async () => {
      if (!(await confirmDialog(t("folders.delete_docs_confirm", { n: selected.size }), { danger: true }))) return;
      await attempt(async () => {
        for (const id of selected) {
          const d = shown.get(id);
          if (d) await api.del(`/documents/${encodeURIComponent(id)}`, { version: d.version });
        }
      }, t("folders.docs_deleted"));
    }),
  );
  zipBtn.addEventListener("click", () =>
    busy(zipBtn, async () => {
      const body = selected.size ? { node_ids: [...selected] } : current ? { folder_id: current } : {};
      try {
        await downloadPost(`/works/${enc}/export`, { method: "POST", body, fallback: "documents.zip" });
      } catch (err) {
        toast(errorMessage(err), "error");
      }
    }),
  );
  /** @param {string} ext */
  const listLink = (ext) => {
    const a = h("a", { class: "btn", "data-testid": `documents-${ext}` }, t(`folders.list_${ext}`));
    a.addEventListener("click", () => {
      const qs = new URLSearchParams(query()).toString();
      a.setAttribute("href", `/api/v1/works/${enc}/documents.${ext}${qs ? `?${qs}` : ""}`);
    });
    a.setAttribute("href", `/api/v1/works/${enc}/documents.${ext}`);
    return a;
  };

  // upload into the chosen folder, then the personal-data check (§3-2)
  const uploadBtn = h("label", { class: "btn primary", for: "folder-upload", "data-testid": "folder-upload" }, t("folders.upload"));
  let known = new Set();
  let pendingUploads = 0;
  fileInput.addEventListener("change", () => {
    const files = [...(fileInput.files || [])];
    fileInput.value = "";
    if (!files.length) return;
    known = new Set(shown.keys());
    pendingUploads += files.length;
    const f = currentFolder();
    queue.add(files.map((file) => ({ file })), { folder: f ? f.path : "" });
  });
  /** @param {{ state: string }[]} entries */
  async function onUploads(entries) {
    if (!pendingUploads || entries.some((e) => e.state === "uploading" || e.state === "queued")) return;
    pendingUploads = 0;
    await reloadFolders();
    await loadDocs();
    const fresh = [...shown.values()].filter((d) => !known.has(d.id));
    for (const d of fresh) {
      const answer = await warnIfPersonal({ kind: "file", id: d.id, name: d.name }).catch(() => "pending");
      if (answer === "removed") toast(t("folders.personal_removed", { name: d.name }), "ok");
    }
    await loadDocs();
  }

  const canUpload = listing.can_write;
  root.append(
    h("nav", { class: "breadcrumb", "aria-label": "breadcrumb" }, h("a", { href: href("/works", workId) }, work.title)),
    h("div", { class: "page-header" }, h("h1", { tabindex: "-1" }, t("folders.heading", { title: work.title })), h("div", { class: "page-actions" }, h("a", { class: "btn", href: href("/inspection", workId), "data-testid": "folders-inspection" }, t("collab.inspection")), h("a", { class: "btn", href: href("/handover", workId), "data-testid": "folders-handover" }, t("collab.handover")))),
    h("p", { class: "muted", hidden: Boolean(listing.seeded_at || listing.folders.length) }, t("folders.not_seeded")),
    h(
      "div",
      { class: "folders-layout" },
      h("aside", { class: "folders-side" }, h("h2", {}, t("folders.tree")), folderTools, treeBox),
      h(
        "section",
        { class: "folders-main", "aria-label": t("folders.documents") },
        summary,
        filters,
        h("div", { class: "toolbar" }, canUpload ? [fileInput, uploadBtn] : null, moveBtn, deleteBtn, zipBtn, listLink("csv"), listLink("xlsx")),
        queue.el,
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data", "data-testid": "documents-table" },
            h("caption", { class: "sr-only" }, t("folders.documents")),
            h("thead", {}, h("tr", {}, ["", "name", "doc_type", "folder", "registered", "by", "size", "approvals", "notes"].map((c) => h("th", { scope: "col" }, c ? t(`folders.col.${c}`) : h("span", { class: "sr-only" }, t("folders.col.select")))))),
            rows,
          ),
        ),
        more,
        panes.el,
      ),
    ),
  );
  drawTree();
  await loadDocs();
  return () => panes.closeAll();
}
