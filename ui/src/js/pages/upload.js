// Upload for contractors (issue 4 item 5): drop files, folders or ZIPs into a work folder;
// per-file and overall progress with speed and time left; pause / resume; unfinished uploads
// continue after a reload when the same files are chosen again (tus fingerprints). A ZIP sent
// with "unpack" becomes a 電子納品 package: its import (state, and the reason when the ZIP is
// refused) and then its check report show here when they are ready. A dropped or chosen folder
// holding INDEX_C.XML / INDEX_D.XML is a package too: once its files are in, its folder is
// checked like a ZIP's (issue 8 §2) and the report shows here.

import { api } from "../api.js";
import { t, fmtBytes, fmtDateTime } from "../i18n.js";
import { href } from "../router.js";
import { h, clear, errorText, notice } from "../components/dom.js";
import { ensureArchiveStyles } from "../components/styles.js";
import { uploadQueue, unfinishedUploads } from "../components/upload-queue.js";
import { deliverableReport } from "../components/report.js";
import { followImport } from "../components/imports.js";

/** @typedef {import("../components/upload-queue.js").Entry} Entry */
/** @typedef {{ file: File, relativePath: string }} Picked a chosen file and its path in the drop */

/**
 * Every file under a dropped directory entry, with its path relative to the drop.
 * @param {FileSystemEntry} entry
 * @param {Picked[]} out
 * @returns {Promise<Picked[]>} out
 */
async function filesOfEntry(entry, out) {
  if (entry.isFile) {
    const fileEntry = /** @type {FileSystemFileEntry} */ (entry); // isFile says so
    /** @type {File} */
    const file = await new Promise((resolve, reject) => {
      fileEntry.file(resolve, reject);
    });
    out.push({ file, relativePath: entry.fullPath.replace(/^\//, "") });
  } else if (entry.isDirectory) {
    const reader = /** @type {FileSystemDirectoryEntry} */ (entry).createReader(); // isDirectory says so
    for (;;) {
      /** @type {FileSystemEntry[]} */
      const batch = await new Promise((resolve, reject) => {
        reader.readEntries(resolve, reject);
      });
      if (!batch.length) break;
      for (const e of batch) await filesOfEntry(e, out);
    }
  }
  return out;
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { workId: string }} params
 * @param {Partial<Kura.PageContext>} [ctx]
 */
export async function render(root, params, ctx = {}) {
  ensureArchiveStyles();
  const workId = params.workId;
  (ctx.setTitle || ((/** @type {string} */ x) => (document.title = x)))(t("upload.title"));
  clear(root);
  /** @type {Kura.Work} */
  let work;
  try {
    work = await api.get(`/works/${encodeURIComponent(workId)}`);
  } catch (err) {
    root.append(h("div", { class: "notice notice-error", role: "alert" }, errorText(err)));
    return undefined;
  }

  const message = h("div", { class: "upload-message" });
  const reports = h("div", { class: "reports" });
  const folderInput = h("input", { type: "text", id: "upload-folder", name: "folder", value: "/", "data-testid": "upload-folder", autocomplete: "off" });
  folderInput.value = "/";
  const conflictSel = h(
    "select",
    { id: "upload-conflict", name: "on_conflict", "data-testid": "upload-conflict" },
    ["rename", "replace", "error"].map((v) => h("option", { value: v }, t(`upload.conflict.${v}`))),
  );
  const unpackBox = h("input", { type: "checkbox", id: "upload-unpack", checked: true, "data-testid": "upload-unpack" });
  unpackBox.checked = true;

  /** @type {Set<string>} */
  const watching = new Set();
  const queue = uploadQueue({
    workId,
    onFileDone: (e) => {
      if (e.unpack) watchReport(e);
    },
    onBatchDone: (batch) => checkFolderPackage(batch),
  });

  /**
   * A folder upload holding INDEX_C.XML / INDEX_D.XML: check the folder holding it as a
   * 電子納品 package (the same check a ZIP gets), once all its files are in.
   * @param {Entry[]} batch
   */
  async function checkFolderPackage(batch) {
    const index = batch
      .filter((e) => e.state === "done" && e.nodeId && /^INDEX_[CD]\.XML$/i.test(e.file.name))
      .sort((a, b) => String(a.relativePath || "").length - String(b.relativePath || "").length)[0];
    if (!index || !index.nodeId) return;
    const parts = String(index.relativePath || index.file.name).split("/");
    const name = parts.length > 1 ? parts[parts.length - 2] : work.title;
    const where = index.group ? index.group.extra : index.extra;
    const status = h("p", { class: "muted", role: "status", "data-testid": "upload-folder-check" }, t("upload.folderPackage", { name, index: index.file.name.toUpperCase() }));
    where.append(status);
    try {
      /** @type {Kura.NodeDetail} */
      const node = await api.get(`/nodes/${encodeURIComponent(index.nodeId)}`);
      const rootId = node.parent_id === workId ? undefined : node.parent_id;
      /** @type {{ id: string, root_node_id: string }} */
      const record = await api.post(`/works/${encodeURIComponent(workId)}/deliverables`, rootId ? { root_node_id: rootId } : {});
      status.textContent = t("upload.folderChecked", { name });
      reports.prepend(await deliverableReport(record.id));
      where.append(h("p", {}, h("a", { href: href("/browse", workId, rootId), "data-testid": "upload-open-package" }, t("upload.openPackage"))));
    } catch (err) {
      status.className = "field-error";
      status.setAttribute("role", "alert");
      status.textContent = t("upload.folderCheckFailed", { name, error: errorText(err) });
    }
  }

  const fileInput = h("input", { type: "file", multiple: true, id: "upload-files", class: "sr-only", "data-testid": "upload-input" });
  const dirInput = h("input", { type: "file", multiple: true, webkitdirectory: true, id: "upload-dir", class: "sr-only", "data-testid": "upload-input-dir" });
  /** @param {File} f */
  const isZip = (f) => /\.zip$/i.test(f.name) || f.type === "application/zip" || f.type === "application/x-zip-compressed";

  /** @param {Picked[]} items */
  function enqueue(items) {
    if (!items.length) return;
    const folder = folderInput.value.trim();
    if (/(^|\/)\.\.?(\/|$)/.test(folder) || folder.includes("\\")) {
      fieldErr(t("upload.badFolder"));
      return;
    }
    fieldErr("");
    const list = items.map((it) => ({ ...it, unpack: unpackBox.checked && isZip(it.file) && !it.relativePath?.includes("/") }));
    queue.add(list, { folder: folder === "/" ? "" : folder, onConflict: conflictSel.value }).catch(() => notice(message, t("upload.tusMissing")));
    stale.hidden = true;
  }

  /** @param {string} text the folder's error ("": none) */
  function fieldErr(text) {
    let box = document.getElementById("upload-folder-error");
    if (!box) {
      box = h("p", { id: "upload-folder-error", class: "field-error", role: "alert" });
      folderInput.after(box);
    }
    box.textContent = text;
    if (text) folderInput.setAttribute("aria-invalid", "true");
    else folderInput.removeAttribute("aria-invalid");
  }

  fileInput.addEventListener("change", () => {
    enqueue([...(fileInput.files || [])].map((file) => ({ file, relativePath: "" })));
    fileInput.value = "";
  });
  dirInput.addEventListener("change", () => {
    enqueue([...(dirInput.files || [])].map((file) => ({ file, relativePath: file.webkitRelativePath || file.name })));
    dirInput.value = "";
  });

  const drop = h(
    "div",
    { class: "drop-zone", "data-testid": "upload-drop", tabindex: "0", role: "group", "aria-label": t("upload.dropLabel") },
    h("p", { class: "drop-title" }, t("upload.dropHere")),
    h("p", { class: "muted" }, t("upload.dropHint")),
    h(
      "div",
      { class: "drop-buttons" },
      h("label", { for: "upload-files", class: "btn primary" }, t("upload.chooseFiles")),
      h("label", { for: "upload-dir", class: "btn" }, t("upload.chooseFolder")),
    ),
    fileInput,
    dirInput,
  );
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      fileInput.click();
    }
  });
  for (const ev of ["dragenter", "dragover"]) {
    drop.addEventListener(ev, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const items = [...(e.dataTransfer?.items || [])];
    const entries = items.map((it) => (it.webkitGetAsEntry ? it.webkitGetAsEntry() : null)).filter(/** @returns {x is FileSystemEntry} */ (x) => Boolean(x));
    if (entries.length) {
      /** @type {Picked[]} */
      const out = [];
      try {
        for (const entry of entries) await filesOfEntry(entry, out);
      } catch {
        notice(message, t("upload.readFailed"));
      }
      enqueue(out.map((x) => ({ ...x, relativePath: x.relativePath.includes("/") ? x.relativePath : "" })));
    } else {
      enqueue([...(e.dataTransfer?.files || [])].map((file) => ({ file, relativePath: "" })));
    }
  });

  // Uploads left unfinished in an earlier visit (reload, closed tab, dropped line).
  const stale = h("section", { class: "notice notice-info", hidden: true, "data-testid": "upload-unfinished" });
  unfinishedUploads(workId).then((list) => {
    if (!list.length) return;
    stale.hidden = false;
    stale.append(
      h("h2", {}, t("upload.unfinished")),
      h("p", {}, t("upload.unfinishedHint")),
      h(
        "ul",
        {},
        list.map((u) =>
          h("li", {}, `${(u.metadata && (u.metadata.relativePath || u.metadata.filename)) || "?"}（${fmtBytes(u.size)}、${fmtDateTime(u.creationTime)}）`),
        ),
      ),
    );
  });

  /**
   * Wait for the package an unpacked ZIP became, then show its check report.
   * @param {Entry} entry
   */
  async function watchReport(entry) {
    const key = entry.relativePath || entry.file.name;
    if (watching.has(key)) return;
    watching.add(key);
    // The upload's import is recorded (queued) when the upload completes: follow it by the
    // upload's id (the last part of its tus URL) until it is done, refused or failed.
    const uploadId = String((entry.upload && entry.upload.url) || "").split("/").pop();
    const status = h("div", { "data-testid": "upload-import" }, h("p", { class: "muted", role: "status" }, t("upload.checking")));
    entry.extra.append(status);
    const item = uploadId ? await followImport(workId, uploadId, status) : null;
    const pkg = item && item.package;
    if (!pkg || !pkg.deliverable_id) return;
    try {
      reports.prepend(await deliverableReport(pkg.deliverable_id));
      entry.extra.append(h("p", {}, h("a", { href: href("/browse", workId, pkg.root_node_id) }, t("upload.openPackage"))));
    } catch (err) {
      entry.extra.append(h("p", { class: "field-error" }, errorText(err)));
    }
  }

  root.append(
    h(
      "div",
      { class: "upload-page" },
      h(
        "div",
        { class: "page-header" },
        h("div", {}, h("h1", { tabindex: "-1" }, t("upload.title")), h("p", { class: "muted" }, work.title)),
        h("div", { class: "page-actions" }, h("a", { class: "btn", href: href("/browse", workId) }, t("upload.toBrowse"))),
      ),
      h(
        "div",
        { class: "upload-options" },
        h("div", { class: "field" }, h("label", { for: "upload-folder" }, t("upload.folder")), folderInput, h("p", { class: "hint" }, t("upload.folderHint"))),
        h("div", { class: "field" }, h("label", { for: "upload-conflict" }, t("upload.onConflict")), conflictSel),
        h("div", { class: "check-field" }, unpackBox, h("label", { for: "upload-unpack" }, t("upload.unpack"))),
      ),
      stale,
      drop,
      message,
      queue.el,
      reports,
    ),
  );
  /** @param {BeforeUnloadEvent} e */
  const beforeUnload = (e) => {
    if (queue.entries.some((x) => x.state === "uploading")) {
      e.preventDefault();
      e.returnValue = "";
    }
  };
  window.addEventListener("beforeunload", beforeUnload);
  return () => {
    window.removeEventListener("beforeunload", beforeUnload);
    queue.pauseAll();
  };
}
