// panes.js: documents side by side. `open(id, { beside })` shows a file in the focused pane, or
// in a new pane beside the others (up to MAX_PANES; the oldest then makes room).
//
//   const panes = viewerPanes({ onChange(ids) });  container.append(panes.el);
//   panes.open(fileId, { beside: true });  panes.ids();  panes.popOut()  // #/view?ids=… window

import { t } from "../i18n.js";
import { h, clear } from "./dom.js";
import { openViewer } from "./viewers.js";

export const MAX_PANES = 4;

/** @typedef {{ id: string, box: HTMLElement, handle: { destroy(): void } }} Pane */

/**
 * Documents side by side (see the top of this file).
 * @param {{ onChange?: (ids: string[]) => void, emptyText?: string | null }} [options]
 *   emptyText: shown without documents (null: nothing; default: viewer.empty)
 */
export function viewerPanes({ onChange, emptyText } = {}) {
  const el = h("section", { class: "viewer", "aria-label": t("viewer.title"), "data-testid": "viewer" });
  /** @type {Pane[]} */
  let panes = [];
  /** @type {Pane | null} */
  let current = null;

  function changed() {
    el.dataset.count = String(panes.length);
    el.style.setProperty("--panes", String(Math.max(1, panes.length)));
    if (!panes.length) {
      clear(el);
      if (emptyText !== null) el.append(h("p", { class: "viewer-empty" }, emptyText || t("viewer.empty")));
    }
    if (onChange) onChange(panes.map((p) => p.id));
  }

  /** @param {Pane} p */
  function close(p) {
    p.handle.destroy();
    p.box.remove();
    panes = panes.filter((x) => x !== p);
    if (current === p) current = panes[panes.length - 1] || null;
    changed();
  }

  /**
   * Show file `id` in the focused pane, or in a new one `beside` the others; a PDF at `page`
   * with `highlight` marked (a search hit's page and phrase).
   * @param {string} id
   * @param {{ beside?: boolean, page?: number, highlight?: string }} [options]
   */
  function open(id, { beside = false, page, highlight } = {}) {
    const existing = panes.find((p) => p.id === id);
    if (existing) {
      existing.box.scrollIntoView({ block: "nearest" });
      return;
    }
    if (!panes.length) clear(el);
    let p = !beside && current ? current : null;
    if (!p) {
      if (panes.length >= MAX_PANES) close(panes[0]);
      const box = h("article", { class: "pane", "data-testid": "viewer-pane", tabindex: "-1" });
      p = { id, box, handle: { destroy() {} } };
      box.addEventListener("focusin", () => {
        current = p;
        for (const x of panes) x.box.classList.toggle("current", x === p);
      });
      panes.push(p);
      el.append(box);
    } else p.handle.destroy();
    p.id = id;
    p.handle = openViewer(p.box, id, { onClose: () => close(p), page, highlight });
    current = p;
    for (const x of panes) x.box.classList.toggle("current", x === p);
    changed();
  }

  changed();
  return {
    el,
    open,
    ids: () => panes.map((p) => p.id),
    closeAll() {
      for (const p of [...panes]) close(p);
    },
    /**
     * The open documents in their own window (#/view?ids=…).
     * @param {string[]} [ids]
     */
    popOut(ids = panes.map((p) => p.id)) {
      if (!ids.length) return;
      window.open(`${window.location.pathname}#/view?ids=${ids.map(encodeURIComponent).join(",")}`, "_blank", "noopener");
    },
  };
}
