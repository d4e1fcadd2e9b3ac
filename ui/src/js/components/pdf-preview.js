// pdf-preview.js: a printed proposal (its whole bundle: the form, then the documents in order,
// numbered n / N) shown page by page in a dialog, drawn by pdfjs-dist (/vendor/pdfjs) on a
// canvas, so it looks the same in every browser and needs no plug-in.
//
//   openPdfPreview(path, { title, download })   → the dialog (path: an API path such as
//   `/proposals/<id>/pdf`); closes on Esc or 閉じる. An API error (a file that cannot be
//   printed) shows its Japanese message in the dialog.
// Test ids: pdf-preview (the dialog), pdf-preview-page (data-page), pdf-preview-count,
// pdf-preview-prev, pdf-preview-next, pdf-preview-close, pdf-preview-download.

import { api, ApiError } from "../api.js";
import { t } from "../i18n.js";
import { errorMessage, h } from "../ui.js";

const PDFJS = "/vendor/pdfjs/pdf.min.mjs";

/** @typedef {typeof import("pdfjs-dist")} PdfJs */

/** @type {Promise<PdfJs> | null} */
let lib = null;
/** @returns {Promise<PdfJs>} */
function pdfjs() {
  if (!lib) {
    lib = import(PDFJS).then((/** @type {PdfJs} */ m) => {
      m.GlobalWorkerOptions.workerSrc = "/vendor/pdfjs/pdf.worker.min.mjs";
      return m;
    });
    lib.catch(() => {
      lib = null;
    });
  }
  return lib;
}

/**
 * Show the PDF the API answers at `path` in a modal dialog.
 * @param {string} path
 * @param {{ title: string, download?: string }} options
 * @returns {HTMLDialogElement}
 */
export function openPdfPreview(path, { title, download }) {
  const canvas = h("canvas", { class: "pdf-preview-canvas", role: "img", "aria-label": title });
  const status = h("p", { class: "small muted", role: "status", "data-testid": "pdf-preview-count" }, t("prop.preview.loading"));
  const prev = h("button", { type: "button", class: "btn small", "data-testid": "pdf-preview-prev", disabled: true }, t("prop.preview.prev"));
  const next = h("button", { type: "button", class: "btn small", "data-testid": "pdf-preview-next", disabled: true }, t("prop.preview.next"));
  const close = h("button", { type: "button", class: "btn", "data-testid": "pdf-preview-close" }, t("common.close"));
  // Focusable: a page wider or taller than the dialog scrolls with the keyboard too.
  const page = h("div", { class: "pdf-preview-page", tabindex: "0", role: "region", "aria-label": t("prop.preview.region"), "data-testid": "pdf-preview-page" }, canvas);
  const titleId = `pdf-preview-${Date.now()}`;
  const dlg = h(
    "dialog",
    { class: "dialog pdf-preview", "aria-labelledby": titleId, "data-testid": "pdf-preview" },
    h("h2", { id: titleId }, title),
    h(
      "div",
      { class: "pdf-preview-tools" },
      prev,
      status,
      next,
      download ? h("a", { class: "btn small", href: download, download: "", "data-testid": "pdf-preview-download" }, t("prop.preview.download")) : null,
    ),
    page,
    h("div", { class: "dialog-actions" }, close),
  );
  /** @type {{ destroy(): unknown } | null} */
  let task = null;
  let destroyed = false;
  const shut = () => {
    destroyed = true;
    if (task) void task.destroy();
    if (dlg.open) dlg.close();
    dlg.remove();
  };
  close.addEventListener("click", shut);
  dlg.addEventListener("cancel", (e) => {
    e.preventDefault();
    shut();
  });
  document.body.append(dlg);
  dlg.showModal();

  (async () => {
    /** @type {Response} */
    const res = await api.request("GET", path, { raw: true });
    const data = new Uint8Array(await res.arrayBuffer());
    const m = await pdfjs();
    if (destroyed) return;
    const loading = m.getDocument({ data, cMapUrl: "/vendor/pdfjs/cmaps/", cMapPacked: true, standardFontDataUrl: "/vendor/pdfjs/standard_fonts/", isEvalSupported: false });
    task = loading;
    const doc = await loading.promise;
    if (destroyed) return;
    let n = 1;
    const draw = async () => {
      const p = await doc.getPage(n);
      if (destroyed) return;
      const base = p.getViewport({ scale: 1 });
      const width = Math.min(760, Math.max(280, page.clientWidth - 8));
      const ratio = window.devicePixelRatio || 1;
      const vp = p.getViewport({ scale: (width / base.width) * ratio });
      canvas.width = Math.floor(vp.width);
      canvas.height = Math.floor(vp.height);
      canvas.style.width = `${Math.floor(vp.width / ratio)}px`;
      canvas.style.height = `${Math.floor(vp.height / ratio)}px`;
      const ctx = canvas.getContext("2d");
      if (!ctx) return;
      await p.render({ canvasContext: ctx, viewport: vp }).promise;
      page.dataset.page = String(n);
      status.textContent = t("prop.preview.page", { n, total: doc.numPages });
      status.dataset.total = String(doc.numPages);
      prev.disabled = n <= 1;
      next.disabled = n >= doc.numPages;
    };
    prev.addEventListener("click", () => {
      if (n > 1) {
        n -= 1;
        void draw();
      }
    });
    next.addEventListener("click", () => {
      if (n < doc.numPages) {
        n += 1;
        void draw();
      }
    });
    await draw();
  })().catch((err) => {
    if (destroyed) return;
    if (!(err instanceof ApiError)) console.warn(err);
    status.textContent = err instanceof ApiError ? errorMessage(err) : t("prop.preview.failed");
    status.setAttribute("role", "alert");
  });
  return dlg;
}
