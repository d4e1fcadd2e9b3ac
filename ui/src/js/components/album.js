// album.js: the photos of a 電子納品 photo-tree level as an album (issue 8 §3 item 3): a grid
// of thumbnails under a heading per 工種 / 種別 / 細別, each with its 写真タイトル and 撮影年月日;
// photos are chosen with their checkbox and printed as a 写真帳 (POST /works/{id}/photo-book).
//
//   const album = photoAlbum({ workId, onOpen(photo) });  container.append(album.el);
//   album.show(level)   // a Kura.PhotoLevel of GET /deliverables/{id}/photo-tree

import { t, fmtNumber } from "../i18n.js";
import { h, clear, notice, errorText, download } from "./dom.js";

// The levels an album groups by (PHOTO.XML 撮影工種区分, deliverables-and-bonds.md §1.6).
const GROUP_LEVELS = ["工種", "種別", "細別"];
const MAX_BOOK = 300; // api/deliverables/photobook.py MAX_PHOTOS

/** @typedef {NonNullable<Kura.PhotoLevel["photos"]>[number]} Photo */

/**
 * A date as PHOTO.XML gives it, marked when it is not a real date (2026-02-30).
 * @param {string | null | undefined} value
 * @returns {{ text: string, valid: boolean }}
 */
export function givenDate(value) {
  if (!value) return { text: "", valid: true };
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return { text: value, valid: false };
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  const valid = d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
  return { text: value, valid };
}

/**
 * The groups of an album: the photos under each 工種 / 種別 / 細別 path, in tree order.
 * @param {Kura.PhotoLevel} level
 * @returns {{ heading: string, photos: Photo[] }[]}
 */
export function albumGroups(level) {
  /** @type {Map<string, Photo[]>} */
  const groups = new Map();
  /**
   * @param {Kura.PhotoLevel} l
   * @param {string[]} path
   */
  const walk = (l, path) => {
    const here = l.level && GROUP_LEVELS.includes(l.level) && l.label ? [...path, l.label] : path;
    const photos = (l.photos || []).filter((p) => p.node_id);
    if (photos.length) {
      const key = here.join(" / ") || t("album.ungrouped");
      groups.set(key, [...(groups.get(key) || []), ...photos]);
    }
    for (const c of l.children || []) walk(c, here);
  };
  walk(level, []);
  return [...groups].map(([heading, photos]) => ({ heading, photos }));
}

/**
 * A photo album (see the top of this file).
 * @param {{ workId: string, onOpen: (photo: Photo) => void }} options
 */
export function photoAlbum({ workId, onOpen }) {
  /** @type {Set<string>} */
  const chosen = new Set();
  /** @type {Photo[]} */
  let shown = [];
  const count = h("span", { class: "muted", "data-testid": "album-selected", "aria-live": "polite" });
  const message = h("div", { class: "album-message" });
  const printBtn = h("button", { type: "button", class: "btn primary small", "data-testid": "album-print", disabled: true }, t("album.print"));
  const allBtn = h("button", { type: "button", class: "btn small", "data-testid": "album-all" }, t("album.selectAll"));
  const noneBtn = h("button", { type: "button", class: "btn small", "data-testid": "album-none" }, t("album.selectNone"));
  const body = h("div", { class: "album-body", tabindex: "-1" });
  const el = h(
    "section",
    { class: "album", "aria-label": t("album.title"), "data-testid": "album" },
    h("div", { class: "album-tools", role: "toolbar", "aria-label": t("album.tools") }, allBtn, noneBtn, printBtn, count),
    message,
    body,
  );

  function update() {
    count.textContent = chosen.size ? t("album.selected", { n: fmtNumber(chosen.size) }) : "";
    printBtn.disabled = !chosen.size;
    for (const cb of body.querySelectorAll("input[type=checkbox]")) {
      if (cb instanceof HTMLInputElement) cb.checked = chosen.has(cb.value);
    }
  }

  allBtn.addEventListener("click", () => {
    for (const p of shown) if (p.node_id && chosen.size < MAX_BOOK) chosen.add(p.node_id);
    update();
  });
  noneBtn.addEventListener("click", () => {
    chosen.clear();
    update();
  });
  printBtn.addEventListener("click", async () => {
    printBtn.disabled = true;
    printBtn.setAttribute("aria-busy", "true");
    notice(message, t("album.printing"), "info");
    try {
      // the album's order, not the order of clicking
      const ids = shown.map((p) => p.node_id).filter(/** @returns {x is string} */ (x) => Boolean(x && chosen.has(x)));
      await download(`/works/${encodeURIComponent(workId)}/photo-book`, { method: "POST", body: { node_ids: ids }, fallback: "photo-book.pdf" });
      notice(message, t("album.printed"), "ok");
    } catch (err) {
      notice(message, errorText(err));
    } finally {
      printBtn.removeAttribute("aria-busy");
      update();
    }
  });

  /**
   * @param {Photo} p
   * @returns {HTMLElement}
   */
  function card(p) {
    const id = String(p.node_id);
    const title = p.title || String(p.file || "").split("/").pop() || "";
    const date = givenDate(p.date || (p.meta && typeof p.meta.photo_date === "string" ? p.meta.photo_date : ""));
    const cb = h("input", { type: "checkbox", value: id, "aria-label": t("album.choose", { title }), "data-testid": "album-choose" });
    cb.checked = chosen.has(id);
    cb.addEventListener("change", () => {
      if (cb.checked && chosen.size >= MAX_BOOK) {
        cb.checked = false;
        notice(message, t("album.tooMany", { n: MAX_BOOK }));
        return;
      }
      if (cb.checked) chosen.add(id);
      else chosen.delete(id);
      update();
    });
    const open = h(
      "button",
      { type: "button", class: "album-open", "data-testid": "album-open", "aria-label": t("album.open", { title }), onclick: () => onOpen(p) },
      h("img", { src: `/api/v1/files/${encodeURIComponent(id)}/thumbnail`, alt: "", loading: "lazy", decoding: "async", width: "160", height: "120" }),
    );
    return h(
      "li",
      { class: "album-card", "data-testid": "album-card", "data-id": id },
      open,
      h(
        "div",
        { class: "album-caption" },
        h("label", { class: "album-check" }, cb, h("span", { class: "album-title" }, title)),
        h("span", { class: `album-date${date.valid ? "" : " invalid"}` }, date.text ? (date.valid ? date.text : t("album.invalidDate", { date: date.text })) : ""),
      ),
    );
  }

  return {
    el,
    /** @param {Kura.PhotoLevel} level */
    show(level) {
      clear(body);
      notice(message, "");
      const groups = albumGroups(level);
      shown = groups.flatMap((g) => g.photos);
      if (!shown.length) body.append(h("p", { class: "empty" }, t("album.empty")));
      for (const g of groups) {
        body.append(h("h3", { class: "album-heading" }, g.heading, h("span", { class: "muted small" }, ` ${t("common.count", { n: g.photos.length })}`)), h("ul", { class: "album-grid" }, g.photos.map(card)));
      }
      update();
    },
  };
}
