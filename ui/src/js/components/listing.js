// listing.js: a folder's contents on the right of the browser. Virtualised: only the rows in
// view exist in the DOM, so a 10,000-entry folder scrolls as smoothly as a 10-entry one. The
// first page (1,000 entries) shows at once; the rest load in the background, page by page.
// Sort by name / date / size / type (server-side keyset order, folders first).
// Keyboard (listbox pattern): ↑/↓, PageUp/PageDown, Home/End, Enter opens, Shift+Enter opens
// beside the open documents, Backspace goes up a folder.
//
//   const list = folderListing({ onOpen(node, { beside }), onUp(), onState(info) });
//   await list.load(url)   // "/works/<id>/tree" or "/nodes/<id>/children"

import { api } from "../api.js";
import { t, fmtBytes, fmtDateTime, fmtNumber } from "../i18n.js";
import { h, clear, errorText, typeIcon } from "./dom.js";

const ROW = 36; // px, keep in step with .listing-row in archive.css
const PAGE = 1000;
const OVERSCAN = 8;

/**
 * @typedef {object} ListingOptions
 * @property {(node: Kura.ListNode, how: { beside: boolean }) => void} onOpen a row was opened
 *   (click, Enter; `beside`: Ctrl/⌘/Shift, Shift+Enter)
 * @property {() => void} [onUp] Backspace: the parent folder
 * @property {(info: { total: number, complete: boolean }) => void} [onState] rows loaded so far
 * @property {(node: Kura.ListNode | null) => void} [onActive] the chosen row changed
 */

/**
 * A folder listing (see the top of this file).
 * @param {ListingOptions} options
 */
export function folderListing({ onOpen, onUp, onState, onActive }) {
  /** @type {Kura.ListNode[]} */
  let rows = [];
  let active = -1;
  let sort = "name";
  let order = "asc";
  /** @type {string | null} */
  let url = null;
  let generation = 0;
  let complete = false;

  const status = h("p", { class: "listing-status", role: "status", "aria-live": "polite" });
  const head = h("div", { class: "listing-head", role: "presentation" });
  const spacer = h("div", { class: "listing-spacer" });
  const viewport = h(
    "div",
    {
      class: "listing-body",
      role: "listbox",
      tabindex: "0",
      "aria-label": t("browse.listing"),
      "data-testid": "listing",
    },
    spacer,
  );
  const el = h("div", { class: "listing" }, head, viewport, status);

  const columns = [
    ["name", t("browse.colName")],
    ["date", t("browse.colDate")],
    ["size", t("browse.colSize")],
    ["type", t("browse.colType")],
  ];
  function renderHead() {
    clear(head);
    for (const [key, label] of columns) {
      const on = sort === key;
      head.append(
        h(
          "button",
          {
            type: "button",
            class: `listing-col col-${key}${on ? " sorted" : ""}`,
            // The sort state is spoken through the hidden text below: aria-sort is only
            // allowed on column headers of a table or grid, and this head is a button row.
            "aria-pressed": on ? "true" : "false",
            "data-testid": `sort-${key}`,
            onclick: () => {
              if (sort === key) order = order === "asc" ? "desc" : "asc";
              else {
                sort = key;
                order = key === "name" || key === "type" ? "asc" : "desc";
              }
              renderHead();
              if (url) load(url);
              else show(sortLocal(rows));
            },
          },
          label,
          on ? h("span", { "aria-hidden": "true" }, order === "asc" ? " ▲" : " ▼") : null,
          on ? h("span", { class: "sr-only" }, t(order === "asc" ? "browse.sortedAsc" : "browse.sortedDesc")) : null,
        ),
      );
    }
  }
  renderHead();

  /**
   * @param {Kura.ListNode[]} list
   * @returns {Kura.ListNode[]}
   */
  function sortLocal(list) {
    /** @type {Record<string, (n: Kura.ListNode) => string | number>} */
    const keys = { name: (n) => n.name, date: (n) => n.updated_at || "", size: (n) => n.size || 0, type: typeLabel };
    const key = keys[sort];
    const dir = order === "asc" ? 1 : -1;
    return [...list].sort((a, b) => (key(a) < key(b) ? -dir : key(a) > key(b) ? dir : 0));
  }

  /**
   * @param {Kura.ListNode} node
   * @returns {string}
   */
  function typeLabel(node) {
    if (node.kind === "folder") return t("browse.folder");
    // the file's own name (a photo row's name is "写真タイトル（P0000001.JPG）")
    const n = String(node.path ? node.path.split("/").pop() : node.name);
    const dot = n.lastIndexOf(".");
    return dot > 0 ? n.slice(dot + 1).toUpperCase() : node.content_type || "";
  }

  /**
   * What the 電子納品 XML calls the file (写真タイトル, 打合せ簿名称 …), when it is not its name.
   * @param {Kura.ListNode} node
   * @returns {string}
   */
  function titleOf(node) {
    const title = node.meta && typeof node.meta.title === "string" ? node.meta.title : "";
    return title && title !== node.name ? title : "";
  }

  /**
   * @param {number} i
   * @returns {HTMLDivElement}
   */
  function rowEl(i) {
    const node = rows[i];
    const isFile = node.kind === "file";
    const row = h(
      "div",
      {
        class: `listing-row${i === active ? " active" : ""}`,
        role: "option",
        id: `row-${node.id}`,
        "aria-selected": i === active ? "true" : "false",
        "aria-setsize": String(rows.length),
        "aria-posinset": String(i + 1),
        "data-id": node.id,
        "data-kind": node.kind,
        "data-testid": "listing-row",
        style: { top: `${i * ROW}px` },
      },
      h(
        "span",
        { class: "col-name" },
        typeIcon(node),
        h("span", { class: "name", title: node.name }, node.name),
        titleOf(node) ? h("span", { class: "meta-title", title: titleOf(node) }, titleOf(node)) : null,
        node.ingest && node.ingest.state === "failed"
          ? h("span", { class: "badge warn", title: node.ingest.reason || "" }, t("browse.ingestFailed"))
          : null,
      ),
      h("span", { class: "col-date" }, fmtDateTime(node.updated_at)),
      h("span", { class: "col-size" }, isFile ? fmtBytes(node.size) : ""),
      h("span", { class: "col-type" }, typeLabel(node)),
      isFile
        ? h(
            // A mouse shortcut only: an option may not contain a control (axe
            // nested-interactive); keyboards use Shift+Enter, spoken in the hint below.
            "span",
            {
              class: "btn small beside",
              "aria-hidden": "true",
              title: t("browse.openBeside"),
              "data-testid": "open-beside",
              onclick: (e) => {
                e.stopPropagation();
                setActive(i);
                onOpen(node, { beside: true });
              },
            },
            h("span", { class: "ico-beside", "aria-hidden": "true" }),
            h("span", { class: "beside-label" }, t("browse.besideButton")),
          )
        : h("span", { class: "beside" }),
    );
    // One click opens (file → viewer, folder → into it); Ctrl/⌘/Shift+click opens beside.
    row.addEventListener("click", (e) => {
      setActive(i);
      viewport.focus({ preventScroll: true });
      onOpen(node, { beside: e.ctrlKey || e.metaKey || e.shiftKey });
    });
    return row;
  }

  /** @type {Map<number, HTMLDivElement>} */
  let drawn = new Map();
  function draw() {
    const top = viewport.scrollTop;
    const height = viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(rows.length - 1, Math.ceil((top + height) / ROW) + OVERSCAN);
    const keep = new Map();
    for (let i = first; i <= last; i += 1) {
      let row = drawn.get(i);
      if (!row || row.dataset.id !== rows[i].id) {
        if (row) row.remove();
        row = rowEl(i);
        viewport.append(row);
      }
      keep.set(i, row);
    }
    for (const [i, row] of drawn) if (!keep.has(i)) row.remove();
    drawn = keep;
  }
  viewport.addEventListener("scroll", () => requestAnimationFrame(draw), { passive: true });
  new ResizeObserver(() => draw()).observe(viewport);

  function redrawAll() {
    for (const row of drawn.values()) row.remove();
    drawn = new Map();
    spacer.style.height = `${rows.length * ROW}px`;
    draw();
  }

  /** @param {number} i */
  function setActive(i) {
    if (!rows.length) return;
    const prev = active;
    active = Math.max(0, Math.min(rows.length - 1, i));
    const top = active * ROW;
    if (top < viewport.scrollTop) viewport.scrollTop = top;
    else if (top + ROW > viewport.scrollTop + viewport.clientHeight)
      viewport.scrollTop = top + ROW - viewport.clientHeight;
    for (const idx of [prev, active]) {
      const row = drawn.get(idx);
      if (row) {
        row.classList.toggle("active", idx === active);
        row.setAttribute("aria-selected", idx === active ? "true" : "false");
      }
    }
    draw();
    viewport.setAttribute("aria-activedescendant", `row-${rows[active].id}`);
    if (onActive) onActive(rows[active]);
  }

  viewport.addEventListener("keydown", (e) => {
    const perPage = Math.max(1, Math.floor(viewport.clientHeight / ROW) - 1);
    switch (e.key) {
      case "ArrowDown":
        setActive(active + 1);
        break;
      case "ArrowUp":
        setActive(active - 1);
        break;
      case "PageDown":
        setActive(active + perPage);
        break;
      case "PageUp":
        setActive(active - perPage);
        break;
      case "Home":
        setActive(0);
        break;
      case "End":
        setActive(rows.length - 1);
        break;
      case "Enter":
        if (rows[active]) onOpen(rows[active], { beside: e.shiftKey });
        break;
      case "Backspace":
        if (onUp) onUp();
        break;
      default:
        return;
    }
    e.preventDefault();
  });
  viewport.addEventListener("focus", () => {
    if (active < 0 && rows.length) setActive(0);
  });

  function report() {
    const folders = rows.filter((r) => r.kind === "folder").length;
    status.textContent = complete
      ? t("browse.count", { n: fmtNumber(rows.length), folders: fmtNumber(folders), files: fmtNumber(rows.length - folders) })
      : t("browse.loadingMore", { n: fmtNumber(rows.length) });
    if (onState) onState({ total: rows.length, complete });
  }

  /**
   * Show the folder at `newUrl` ("/works/<id>/tree" or "/nodes/<id>/children"), all pages.
   * @param {string} newUrl
   */
  async function load(newUrl) {
    url = newUrl;
    generation += 1;
    const gen = generation;
    rows = [];
    active = -1;
    if (onActive) onActive(null);
    complete = false;
    viewport.scrollTop = 0;
    viewport.removeAttribute("aria-activedescendant");
    redrawAll();
    status.textContent = t("app.loading");
    status.className = "listing-status";
    let cursor;
    const started = performance.now();
    try {
      do {
        const page = await api.get(url, { sort, order, limit: PAGE, cursor });
        if (gen !== generation) return;
        rows = rows.concat(page.items);
        cursor = page.next_cursor || undefined;
        complete = !cursor;
        spacer.style.height = `${rows.length * ROW}px`;
        draw();
        report();
        if (rows.length === page.items.length) {
          el.dataset.firstPageMs = String(Math.round(performance.now() - started));
        }
      } while (cursor);
      el.dataset.loadedMs = String(Math.round(performance.now() - started));
      if (!rows.length) status.textContent = t("browse.emptyFolder");
    } catch (err) {
      if (gen === generation) {
        status.textContent = errorText(err);
        status.classList.add("error");
      }
    }
  }

  /**
   * Show a fixed list (e.g. the photos of a photo-tree level) instead of a folder.
   * @param {Kura.ListNode[]} items
   */
  function show(items) {
    url = null;
    generation += 1;
    rows = items;
    active = -1;
    if (onActive) onActive(null);
    complete = true;
    viewport.scrollTop = 0;
    redrawAll();
    report();
  }

  return {
    el,
    load,
    show,
    focus() {
      viewport.focus();
    },
    rows: () => rows,
    activeNode: () => rows[active] || null,
    /** @param {string} id */
    select(id) {
      const i = rows.findIndex((r) => r.id === id);
      if (i >= 0) setActive(i);
    },
  };
}
