// proposal-bundle.js: the documents bound with a proposal, in the order they print after the
// form (seed 001 別表1-1 3(7)-(10)): upload (drop files or choose them; tus uploads to the
// shared attachments, api/attachments), order by drag and drop (or the ↑ ↓ buttons, for the
// keyboard), pages chosen per file ("1-3,5"; empty: all), remove.
//
//   const b = bundleEditor({ workId, files, onChange });  form.append(b.el);
//   b.items()      → [{ id, pages }] in order (throws RangeError naming a file whose pages are
//                    wrong; the item shows the message)
//   b.uploading()  → true while a file is still on its way
//
// Test ids: bundle-drop, bundle-file-input, bundle-list, bundle-item (data-name, data-id),
// bundle-pages, bundle-up, bundle-down, bundle-remove.

import { t, fmtBytes } from "../i18n.js";
import { h, uid } from "../ui.js";
import { uploadQueue } from "./upload-queue.js";
import { formatPages, parsePages } from "./proposal-kit.js";

/**
 * @typedef {object} BundleEntry
 * @property {string} id
 * @property {string} name
 * @property {number | null | undefined} size
 * @property {number[] | null} pages
 * @property {number | null | undefined} pageCount
 * @property {boolean} staged uploaded in this visit, not saved with the proposal yet
 * @property {HTMLLIElement} li
 * @property {HTMLInputElement} pagesInput
 * @property {HTMLParagraphElement} error
 */

/**
 * @param {string} name
 * @returns {string | null} a note on how the file prints
 */
function kindNote(name) {
  const n = name.toLowerCase();
  if (n.endsWith(".xlsx") || n.endsWith(".xlsm")) return t("prop.bundle.excel");
  if (n.endsWith(".docx")) return t("prop.bundle.word");
  if (n.endsWith(".xls") || n.endsWith(".doc")) return t("prop.bundle.old_office");
  if (/\.(jpe?g|png|gif|webp|tiff?)$/.test(n)) return t("prop.bundle.image");
  return null;
}

/**
 * @param {{ workId: string, files: Kura.BundleFile[], onChange?: () => void, pages?: boolean }} options
 *   `pages: false` for a plain list of files (a pre-meeting's shared folder)
 */
export function bundleEditor({ workId, files, onChange, pages: withPages = true }) {
  /** @type {BundleEntry[]} */
  let entries = [];
  const live = h("p", { class: "sr-only", "aria-live": "polite" });
  const list = h("ol", { class: "bundle-list", "data-testid": "bundle-list", "aria-label": t("prop.bundle.order") });
  const emptyNote = h("p", { class: "muted small", "data-testid": "bundle-empty" }, t("prop.bundle.empty"));
  /** @type {HTMLLIElement | null} */
  let dragging = null;

  const changed = () => {
    emptyNote.hidden = entries.length > 0;
    entries.forEach((e, i) => {
      const no = e.li.querySelector(".bundle-no");
      if (no) no.textContent = String(i + 1);
    });
    if (onChange) onChange();
  };

  /**
   * @param {{ id: string, name: string, size?: number | null, pages?: number[] | null, page_count?: number | null }} file
   * @param {boolean} staged
   */
  function add(file, staged) {
    const id = uid("bundle-pages");
    const pagesInput = h("input", {
      id,
      type: "text",
      class: "bundle-pages",
      inputmode: "numeric",
      value: formatPages(file.pages),
      placeholder: t("prop.bundle.all_pages"),
      "data-testid": "bundle-pages",
      "aria-describedby": `${id}-hint`,
    });
    const error = h("p", { class: "field-error", role: "alert", hidden: true });
    const up = h("button", { type: "button", class: "btn small", "data-testid": "bundle-up", "aria-label": t("prop.bundle.up", { name: file.name }) }, "↑");
    const down = h("button", { type: "button", class: "btn small", "data-testid": "bundle-down", "aria-label": t("prop.bundle.down", { name: file.name }) }, "↓");
    const remove = h("button", { type: "button", class: "btn small", "data-testid": "bundle-remove", "aria-label": t("prop.bundle.remove", { name: file.name }) }, t("common.delete"));
    const note = kindNote(file.name);
    const li = h(
      "li",
      { class: "bundle-item", draggable: "true", "data-testid": "bundle-item", "data-id": file.id, "data-name": file.name },
      h("span", { class: "bundle-handle", "aria-hidden": "true", title: t("prop.bundle.drag") }, "⋮⋮"),
      h("span", { class: "bundle-no", "aria-hidden": "true" }),
      h(
        "span",
        { class: "bundle-name" },
        h("strong", {}, file.name),
        h("span", { class: "small muted" }, [file.size ? fmtBytes(file.size) : null, file.page_count ? t("prop.bundle.page_count", { n: file.page_count }) : null, note].filter(Boolean).join(" ・ ")),
      ),
      withPages ? h("span", { class: "bundle-pages-wrap" }, h("label", { for: id, class: "small" }, t("prop.bundle.pages")), pagesInput, h("span", { class: "sr-only", id: `${id}-hint` }, t("prop.bundle.pages_hint"))) : null,
      h("span", { class: "bundle-buttons" }, up, down, remove),
      error,
    );
    /** @type {BundleEntry} */
    const entry = { id: file.id, name: file.name, size: file.size, pages: file.pages || null, pageCount: file.page_count, staged, li, pagesInput, error };
    pagesInput.addEventListener("change", () => {
      check(entry);
      changed();
    });
    up.addEventListener("click", () => move(entry, -1, up));
    down.addEventListener("click", () => move(entry, 1, down));
    remove.addEventListener("click", () => {
      entries = entries.filter((e) => e !== entry);
      li.remove();
      live.textContent = t("prop.bundle.removed", { name: entry.name });
      changed();
    });
    li.addEventListener("dragstart", (e) => {
      dragging = li;
      li.classList.add("dragging");
      if (e.dataTransfer) {
        e.dataTransfer.effectAllowed = "move";
        e.dataTransfer.setData("text/plain", entry.id);
      }
    });
    li.addEventListener("dragend", () => {
      li.classList.remove("dragging");
      dragging = null;
      syncOrder();
    });
    entries.push(entry);
    list.append(li);
    changed();
  }

  /** @param {BundleEntry} entry */
  function check(entry) {
    try {
      entry.pages = parsePages(entry.pagesInput.value);
      if (entry.pages && entry.pageCount && entry.pages.some((n) => n > (entry.pageCount || 0))) throw new RangeError("past the end");
      entry.error.hidden = true;
      entry.pagesInput.removeAttribute("aria-invalid");
      return true;
    } catch {
      entry.error.textContent = entry.pageCount ? t("prop.bundle.pages_bad_count", { n: entry.pageCount }) : t("prop.bundle.pages_bad");
      entry.error.hidden = false;
      entry.pagesInput.setAttribute("aria-invalid", "true");
      return false;
    }
  }

  /**
   * @param {BundleEntry} entry
   * @param {number} by
   * @param {HTMLButtonElement} button focused again after the move
   */
  function move(entry, by, button) {
    const i = entries.indexOf(entry);
    const j = i + by;
    if (j < 0 || j >= entries.length) return;
    entries.splice(i, 1);
    entries.splice(j, 0, entry);
    for (const e of entries) list.append(e.li);
    button.focus();
    live.textContent = t("prop.bundle.moved", { name: entry.name, n: j + 1 });
    changed();
  }

  /** The order of the list items after a drag. */
  function syncOrder() {
    const order = [...list.children];
    const before = entries.map((e) => e.id).join();
    entries.sort((a, b) => order.indexOf(a.li) - order.indexOf(b.li));
    if (entries.map((e) => e.id).join() !== before) changed();
  }

  list.addEventListener("dragover", (e) => {
    if (!dragging) return; // files dragged from the desktop go to the drop zone
    e.preventDefault();
    const over = e.target instanceof Element ? e.target.closest("li.bundle-item") : null;
    if (!over || over === dragging || !(over instanceof HTMLLIElement)) return;
    const box = over.getBoundingClientRect();
    const after = e.clientY > box.top + box.height / 2;
    over.parentElement?.insertBefore(dragging, after ? over.nextSibling : over);
  });
  list.addEventListener("drop", (e) => {
    if (!dragging) return;
    e.preventDefault();
    syncOrder();
  });

  // Uploads: the shared attachments (tus); a finished file joins the end of the order.
  const queue = uploadQueue({
    endpoint: "/api/v1/attachments/uploads",
    metadata: { work_id: workId },
    onFileDone: (entry) => {
      if (entry.attachmentId) add({ id: entry.attachmentId, name: entry.file.name, size: entry.file.size }, true);
      entry.li.remove();
      if (!queue.entries.some((x) => x.state !== "done")) queue.el.hidden = true;
    },
  });
  queue.el.hidden = true;
  const input = h("input", { type: "file", multiple: true, id: uid("bundle-file"), class: "sr-only", "data-testid": "bundle-file-input" });
  /** @param {FileList | File[]} chosen */
  const upload = (chosen) => {
    const items = [...chosen].map((file) => ({ file }));
    if (!items.length) return;
    queue.el.hidden = false;
    void queue.add(items);
  };
  input.addEventListener("change", () => {
    if (input.files) upload(input.files);
    input.value = "";
  });
  const drop = h(
    "div",
    { class: "bundle-drop", "data-testid": "bundle-drop" },
    h("p", {}, t("prop.bundle.drop")),
    h("label", { for: input.id, class: "btn" }, t("prop.bundle.choose")),
    input,
    h("p", { class: "small muted" }, t("prop.bundle.kinds")),
  );
  drop.addEventListener("dragover", (e) => {
    if (dragging) return;
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    if (dragging) return;
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) upload(e.dataTransfer.files);
  });

  for (const f of files) add(f, false);
  changed();

  const el = h("div", { class: "bundle" }, list, emptyNote, drop, queue.el, live);
  return {
    el,
    /** @returns {Kura.BundleItem[]} */
    items() {
      const bad = entries.filter((e) => !check(e));
      if (bad.length) throw new RangeError(bad[0].name);
      return entries.map((e) => ({ id: e.id, pages: e.pages }));
    },
    uploading() {
      return queue.entries.some((x) => x.state !== "done" && x.state !== "failed");
    },
  };
}
