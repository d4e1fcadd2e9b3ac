// viewers.js: one document shown in a pane: PDF pages (pdfjs-dist to canvas), images with zoom
// and pan, plain text, XML indented and coloured. `openViewer(pane, fileId)` fills `pane` and
// returns { destroy() }; `openViewer(pane, id, { source: "attachments" })` shows an attachment
// (a post's or proposal's file: GET /attachments/{id}, its /content) the same way. Text is decoded as UTF-8, falling back to Shift_JIS (CP932) and EUC-JP,
// because 電子納品 XML and old text files are usually CP932.
// A PDF opens at `page` with `highlight` marked on the page (a search hit: issue 8 §3 item 2);
// a photo of a 電子納品 package shows its 写真情報 from PHOTO.XML beside it (§3 item 3).

import { api, apiUrl } from "../api.js";
import { t, fmtBytes, fmtDateTime } from "../i18n.js";
import { h, clear, errorText } from "./dom.js";
import { givenDate } from "./album.js";

// PHOTO.XML 撮影工種区分, in the order photo_path stores them (deliverables-and-bonds.md §1.6):
// 写真-大分類, 写真区分, 工種, 種別, 細別 (their labels: photo.level.0 … 4).
const PHOTO_LEVELS = 5;

const PDFJS = "/vendor/pdfjs/pdf.min.mjs";
const TEXT_LIMIT = 2 * 1024 * 1024; // bytes shown in the text / XML viewers

/** @typedef {typeof import("pdfjs-dist")} PdfJs pdfjs-dist (its types: from its package) */

/**
 * What a viewer shares with its pane: whether the pane is gone, and what to undo then.
 * @typedef {{ destroyed: boolean, cleanup: (() => void)[] }} ViewerState
 */

/** @type {Promise<PdfJs> | null} */
let pdfjsPromise = null;
/**
 * pdfjs-dist's browser build (/vendor/pdfjs, copied from the package by build.mjs), loaded once.
 * @returns {Promise<PdfJs>}
 */
function pdfjs() {
  if (!pdfjsPromise) {
    pdfjsPromise = import(PDFJS).then((/** @type {PdfJs} */ lib) => {
      lib.GlobalWorkerOptions.workerSrc = "/vendor/pdfjs/pdf.worker.min.mjs";
      return lib;
    });
    pdfjsPromise.catch(() => {
      pdfjsPromise = null;
    });
  }
  return pdfjsPromise;
}

/** @type {WeakMap<object, string>} the API collection each shown record came from */
const SOURCES = new WeakMap();

/**
 * The URL of a file's bytes (inline: shown, not downloaded); `source` "attachments" for an
 * attachment, else an archive file.
 * @param {string} id
 * @param {boolean} [inline]
 * @param {string} [source]
 * @returns {string}
 */
export function contentUrl(id, inline = true, source = "files") {
  return apiUrl(`/${source}/${encodeURIComponent(id)}/content`, inline ? { disposition: "inline" } : {});
}

/**
 * @param {Kura.FileRecord} file
 * @param {boolean} [inline]
 * @returns {string}
 */
function bytesOf(file, inline = true) {
  return contentUrl(file.id, inline, SOURCES.get(file) || "files");
}

/**
 * Which viewer fits a file record (GET /files/{id} or a node).
 * @param {{ file_type?: string | null, content_type?: string | null, declared_type?: string | null, name?: string | null }} file
 * @returns {"pdf" | "image" | "xml" | "text" | "other"}
 */
export function viewerKind(file) {
  const type = String(file.file_type || "").toLowerCase();
  const ct = String(file.content_type || file.declared_type || "").toLowerCase();
  const name = String(file.name || "").toLowerCase();
  if (type === "pdf" || ct === "application/pdf" || name.endsWith(".pdf")) return "pdf";
  if (/^(jpeg|jpg|png|gif|webp|bmp|svg)$/.test(type) || /^image\/(jpeg|png|gif|webp|bmp)/.test(ct))
    return "image";
  if (/\.(jpe?g|png|gif|webp|bmp)$/.test(name)) return "image";
  // a DTD is declarations, not an XML document: shown as text
  if (type === "dtd" || ct.includes("xml-dtd") || name.endsWith(".dtd")) return "text";
  if (type === "xml" || ct.includes("xml") || /\.(xml|xsl)$/.test(name)) return "xml";
  if (type === "text" || ct.startsWith("text/") || /\.(txt|csv|tsv|log|md|p21|sfc|json)$/.test(name))
    return "text";
  return "other";
}

/**
 * Show file `fileId` in `pane` (emptied first); `onClose` adds a close button; a PDF opens at
 * `page` with `highlight` marked.
 * @param {HTMLElement} pane
 * @param {string} fileId
 * @param {{ onClose?: () => void, source?: "files" | "attachments", page?: number, highlight?: string }} [options]
 * @returns {{ destroy(): void }}
 */
export function openViewer(pane, fileId, { onClose, source = "files", page, highlight } = {}) {
  /** @type {ViewerState} */
  const state = { destroyed: false, cleanup: [] };
  clear(pane);
  pane.classList.add("viewer-pane");
  const title = h("h2", { class: "viewer-title" }, t("viewer.loading"));
  const tools = h("div", { class: "viewer-tools", role: "toolbar", "aria-label": t("viewer.tools") });
  const body = h("div", { class: "viewer-body", tabindex: "0" });
  const head = h(
    "header",
    { class: "viewer-head" },
    title,
    tools,
    onClose
      ? h(
          "button",
          { type: "button", class: "btn small icon", "aria-label": t("viewer.close"), title: t("viewer.close"), onclick: onClose },
          "×",
        )
      : null,
  );
  pane.append(head, body);

  (async () => {
    /** @type {Kura.FileRecord} */
    let file;
    try {
      file = await api.get(`/${source}/${encodeURIComponent(fileId)}`);
      SOURCES.set(file, source);
    } catch (err) {
      title.textContent = t("viewer.error");
      body.append(h("div", { class: "notice notice-error", role: "alert" }, errorText(err)));
      return;
    }
    if (state.destroyed) return;
    title.textContent = file.name;
    title.title = file.path || file.name;
    pane.dataset.fileId = file.id;
    const kind = viewerKind(file);
    const meta = h(
      "p",
      { class: "viewer-meta" },
      // an attachment has no updated_at, only created_at: no dangling separator
      [file.path || file.name, fmtBytes(file.size), fmtDateTime(file.updated_at || file.created_at)]
        .filter(Boolean)
        .join(" ・ "),
    );
    body.before(meta);
    tools.append(
      h(
        "a",
        { class: "btn small", href: bytesOf(file, false), download: file.name },
        t("viewer.download"),
      ),
    );
    try {
      if (kind === "pdf") await pdfView(file, body, tools, state, { page, highlight });
      else if (kind === "image") {
        imageView(file, body, tools, state);
        const info = photoInfo(file);
        if (info) pane.append(info);
      }
      else if (kind === "xml" || kind === "text") await textView(file, body, kind, state);
      else body.append(h("p", { class: "viewer-empty" }, t("viewer.unsupported")));
    } catch (err) {
      if (!state.destroyed)
        body.append(h("div", { class: "notice notice-error", role: "alert" }, viewerError(err)));
    }
  })();

  return {
    destroy() {
      state.destroyed = true;
      for (const fn of state.cleanup) fn();
    },
  };
}

/**
 * @param {unknown} err
 * @returns {string}
 */
function viewerError(err) {
  if (err instanceof Error && (err.name === "PasswordException" || /password/i.test(String(err.message))))
    return t("viewer.pdfEncrypted");
  if (err instanceof Error && /Invalid PDF|InvalidPDF|FormatError/i.test(`${err.name} ${err.message}`))
    return t("viewer.pdfBroken");
  return errorText(err);
}

// ---- PDF -----------------------------------------------------------------------------------

/**
 * @param {Kura.FileRecord} file
 * @param {HTMLElement} body
 * @param {HTMLElement} tools
 * @param {ViewerState} state
 * @param {{ page?: number, highlight?: string }} [start] the page to open at, the phrase to mark
 */
async function pdfView(file, body, tools, state, start = {}) {
  const lib = await pdfjs();
  const task = lib.getDocument({
    url: bytesOf(file),
    cMapUrl: "/vendor/pdfjs/cmaps/",
    cMapPacked: true,
    standardFontDataUrl: "/vendor/pdfjs/standard_fonts/",
    isEvalSupported: false,
    withCredentials: true,
  });
  state.cleanup.push(() => task.destroy());
  const doc = await task.promise;
  if (state.destroyed) return;
  let pageNo = Math.min(doc.numPages, Math.max(1, Math.floor(start.page || 1)));
  let scale = 0; // 0: fit width
  const canvas = h("canvas", { class: "pdf-canvas", role: "img", "aria-label": file.name });
  const marks = h("div", { class: "pdf-marks", "aria-hidden": "true" });
  const sheet = h("div", { class: "pdf-sheet" }, canvas, marks);
  const pageBox = h("div", { class: "pdf-page" }, sheet);
  body.append(pageBox);
  const input = h("input", {
    type: "number",
    min: "1",
    max: String(doc.numPages),
    value: String(pageNo),
    class: "page-input",
    "aria-label": t("viewer.pageNumber"),
    "data-testid": "viewer-page",
  });
  const count = h("span", { class: "page-count" }, `/ ${doc.numPages}`);
  const prev = h("button", { type: "button", class: "btn small", "aria-label": t("viewer.prevPage") }, "‹");
  const next = h("button", { type: "button", class: "btn small", "aria-label": t("viewer.nextPage") }, "›");
  const zoomOut = h("button", { type: "button", class: "btn small", "aria-label": t("viewer.zoomOut") }, "−");
  const zoomIn = h("button", { type: "button", class: "btn small", "aria-label": t("viewer.zoomIn") }, "+");
  const fit = h("button", { type: "button", class: "btn small" }, t("viewer.fit"));
  tools.prepend(prev, input, count, next, zoomOut, zoomIn, fit);

  // One render at a time on the canvas: requests arriving meanwhile fold into one redraw.
  /** @type {Promise<void> | null} */
  let busy = null;
  let again = false;
  async function draw() {
    if (busy) {
      again = true;
      return busy;
    }
    busy = (async () => {
      do {
        again = false;
        await drawOnce();
      } while (again && !state.destroyed);
    })();
    try {
      await busy;
    } finally {
      busy = null;
    }
  }
  async function drawOnce() {
    const page = await doc.getPage(pageNo);
    if (state.destroyed) return;
    const base = page.getViewport({ scale: 1 });
    const width = Math.max(200, body.clientWidth - 24);
    const s = scale || width / base.width;
    const ratio = window.devicePixelRatio || 1;
    const vp = page.getViewport({ scale: s * ratio });
    canvas.width = Math.floor(vp.width);
    canvas.height = Math.floor(vp.height);
    canvas.style.width = `${Math.floor(vp.width / ratio)}px`;
    canvas.style.height = `${Math.floor(vp.height / ratio)}px`;
    input.value = String(pageNo);
    prev.disabled = pageNo <= 1;
    next.disabled = pageNo >= doc.numPages;
    const canvasContext = canvas.getContext("2d");
    if (!canvasContext) throw new Error("no 2d canvas context");
    await page.render({ canvasContext, viewport: vp }).promise;
    paneOf(body).dataset.page = String(pageNo);
    if (start.highlight) {
      const found = await markPhrase(lib, page, vp, ratio, start.highlight, marks);
      paneOf(body).dataset.highlights = String(found);
    }
  }
  /** @param {number} n */
  const go = (n) => {
    const v = Math.min(doc.numPages, Math.max(1, n));
    if (v !== pageNo) {
      pageNo = v;
      draw();
    } else input.value = String(pageNo);
  };
  prev.addEventListener("click", () => go(pageNo - 1));
  next.addEventListener("click", () => go(pageNo + 1));
  input.addEventListener("change", () => go(Number(input.value) || 1));
  const currentScale = () => scale || (body.clientWidth - 24) / 600;
  zoomIn.addEventListener("click", () => {
    scale = Math.min(5, currentScale() * 1.25);
    draw();
  });
  zoomOut.addEventListener("click", () => {
    scale = Math.max(0.25, currentScale() / 1.25);
    draw();
  });
  fit.addEventListener("click", () => {
    scale = 0;
    draw();
  });
  body.addEventListener("keydown", (e) => {
    if (e.key === "PageDown" || e.key === "ArrowRight") {
      go(pageNo + 1);
      e.preventDefault();
    } else if (e.key === "PageUp" || e.key === "ArrowLeft") {
      go(pageNo - 1);
      e.preventDefault();
    }
  });
  const ro = new ResizeObserver(() => {
    if (!scale) draw();
  });
  ro.observe(body);
  state.cleanup.push(() => ro.disconnect());
  await draw();
}

/**
 * Mark every place `phrase` occurs on a rendered PDF page (white space and width ignored, as
 * the search matches); returns how many were found.
 * @param {PdfJs} lib
 * @param {import("pdfjs-dist").PDFPageProxy} page
 * @param {import("pdfjs-dist").PageViewport} vp the viewport the canvas was drawn with
 * @param {number} ratio device pixels per CSS pixel
 * @param {string} phrase
 * @param {HTMLElement} marks the overlay over the canvas (emptied first)
 * @returns {Promise<number>}
 */
async function markPhrase(lib, page, vp, ratio, phrase, marks) {
  clear(marks);
  const norm = (/** @type {string} */ x) => x.normalize("NFKC").replace(/\s+/g, "").toLowerCase();
  const words = phrase.split(/\s+/).map(norm).filter(Boolean);
  if (!words.length) return 0;
  const content = await page.getTextContent();
  /** @type {{ start: number, len: number, item: { str: string, transform: number[], width: number } }[]} */
  const spans = [];
  let all = "";
  for (const raw of content.items) {
    if (!("str" in raw)) continue;
    const text = norm(raw.str);
    if (!text) continue;
    spans.push({ start: all.length, len: text.length, item: raw });
    all += text;
  }
  let found = 0;
  for (const word of words) {
    for (let at = all.indexOf(word); at >= 0; at = all.indexOf(word, at + word.length)) {
      found += 1;
      const end = at + word.length;
      for (const span of spans) {
        if (span.start + span.len <= at || span.start >= end) continue;
        const from = Math.max(0, at - span.start) / span.len;
        const to = Math.min(span.len, end - span.start) / span.len;
        const tx = lib.Util.transform(vp.transform, span.item.transform);
        const height = Math.hypot(tx[2], tx[3]);
        const width = span.item.width * vp.scale;
        const mark = h("span", { class: "pdf-mark" });
        Object.assign(mark.style, {
          left: `${(tx[4] + width * from) / ratio}px`,
          top: `${(tx[5] - height) / ratio}px`,
          width: `${Math.max(2, (width * (to - from)) / ratio)}px`,
          height: `${(height * 1.15) / ratio}px`,
        });
        marks.append(mark);
      }
    }
  }
  return found;
}

/**
 * The 写真情報 of a photo of a 電子納品 package (what PHOTO.XML says, stored on the file's
 * meta by the package check), or null for other images.
 * @param {Kura.FileRecord} file
 * @returns {HTMLElement | null}
 */
export function photoInfo(file) {
  const meta = file.meta || {};
  const path = Array.isArray(meta.photo_path) ? meta.photo_path.map(String) : [];
  if (!meta.title && !path.length && meta.role !== "photo") return null;
  const str = (/** @type {unknown} */ v) => (typeof v === "string" && v ? v : "—");
  const date = givenDate(typeof meta.photo_date === "string" ? meta.photo_date : "");
  /** @type {[string, Kura.Child][]} */
  const rows = [
    [t("photo.title"), str(meta.title)],
    ...Array.from({ length: PHOTO_LEVELS }, (_, i) => /** @type {[string, Kura.Child]} */ ([t(`photo.level.${i}`), path[i] || "—"])),
    [t("photo.spot"), str(meta.shooting_spot)],
    [
      t("photo.date"),
      date.text
        ? date.valid
          ? date.text
          : h("span", { class: "invalid-date", "data-testid": "photo-date-invalid" }, t("album.invalidDate", { date: date.text }))
        : "—",
    ],
  ];
  if (typeof meta.representative === "boolean") rows.push([t("photo.representative"), meta.representative ? t("common.yes") : t("common.no")]);
  if (typeof meta.frequency === "boolean") rows.push([t("photo.frequency"), meta.frequency ? t("common.yes") : t("common.no")]);
  const exif = file.extract && (file.extract.taken_at || file.extract.photo_date);
  if (typeof exif === "string" && exif) rows.push([t("photo.exif"), exif.replace("T", " ")]);
  return h(
    "details",
    { class: "photo-info", open: true, "data-testid": "photo-info" },
    h("summary", {}, t("photo.info")),
    h("dl", { class: "props" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
  );
}

/**
 * @param {HTMLElement} body
 * @returns {HTMLElement} the viewer's pane (body itself outside one)
 */
function paneOf(body) {
  const pane = body.closest(".viewer-pane");
  return pane instanceof HTMLElement ? pane : body;
}

// ---- images --------------------------------------------------------------------------------

/**
 * @param {Kura.FileRecord} file
 * @param {HTMLElement} body
 * @param {HTMLElement} tools
 * @param {ViewerState} state
 */
function imageView(file, body, tools, state) {
  const img = h("img", { src: bytesOf(file), alt: file.name, class: "zoom-img", draggable: "false" });
  const stage = h("div", { class: "zoom-stage" }, img);
  body.append(stage);
  let zoom = 1;
  let x = 0;
  let y = 0;
  const label = h("span", { class: "zoom-label", "aria-live": "polite" }, "100%");
  const apply = () => {
    img.style.transform = `translate(${x}px, ${y}px) scale(${zoom})`;
    label.textContent = `${Math.round(zoom * 100)}%`;
    stage.classList.toggle("pannable", zoom > 1);
  };
  /** @param {number} z */
  const setZoom = (z) => {
    zoom = Math.min(8, Math.max(0.25, z));
    if (zoom <= 1) {
      x = 0;
      y = 0;
    }
    apply();
  };
  tools.prepend(
    h("button", { type: "button", class: "btn small", "aria-label": t("viewer.zoomOut"), onclick: () => setZoom(zoom / 1.25) }, "−"),
    label,
    h("button", { type: "button", class: "btn small", "aria-label": t("viewer.zoomIn"), onclick: () => setZoom(zoom * 1.25) }, "+"),
    h("button", { type: "button", class: "btn small", onclick: () => setZoom(1) }, t("viewer.fit")),
  );
  stage.addEventListener(
    "wheel",
    (e) => {
      if (!e.ctrlKey && !e.metaKey && zoom === 1 && e.deltaY > 0) return;
      e.preventDefault();
      setZoom(zoom * (e.deltaY < 0 ? 1.15 : 1 / 1.15));
    },
    { passive: false },
  );
  /** @type {{ px: number, py: number, x: number, y: number } | null} */
  let drag = null;
  stage.addEventListener("pointerdown", (e) => {
    if (zoom <= 1) return;
    drag = { px: e.clientX, py: e.clientY, x, y };
    stage.setPointerCapture(e.pointerId);
  });
  stage.addEventListener("pointermove", (e) => {
    if (!drag) return;
    x = drag.x + e.clientX - drag.px;
    y = drag.y + e.clientY - drag.py;
    apply();
  });
  const end = () => {
    drag = null;
  };
  stage.addEventListener("pointerup", end);
  stage.addEventListener("pointercancel", end);
  body.addEventListener("keydown", (e) => {
    const step = 40;
    if (e.key === "+" || e.key === "=") setZoom(zoom * 1.25);
    else if (e.key === "-") setZoom(zoom / 1.25);
    else if (e.key === "0") setZoom(1);
    else if (zoom > 1 && e.key.startsWith("Arrow")) {
      if (e.key === "ArrowLeft") x += step;
      if (e.key === "ArrowRight") x -= step;
      if (e.key === "ArrowUp") y += step;
      if (e.key === "ArrowDown") y -= step;
      apply();
    } else return;
    e.preventDefault();
  });
  img.addEventListener("error", () => {
    if (!state.destroyed)
      body.append(h("div", { class: "notice notice-error", role: "alert" }, t("viewer.imageError")));
  });
}

// ---- text and XML --------------------------------------------------------------------------

/**
 * Text bytes as a string: the XML declaration's encoding, else UTF-8, Shift_JIS, EUC-JP.
 * @param {ArrayBuffer} buffer
 * @returns {string}
 */
export function decodeText(buffer) {
  const bytes = new Uint8Array(buffer);
  const head = new TextDecoder("ascii").decode(bytes.slice(0, 200));
  const declared = head.match(/encoding=["']([\w-]+)["']/i);
  const tries = [];
  if (declared) tries.push(declared[1].toLowerCase().replace(/^(shift_jis|sjis|x-sjis|cp932|windows-31j)$/, "shift_jis"));
  tries.push("utf-8", "shift_jis", "euc-jp");
  for (const enc of tries) {
    try {
      return new TextDecoder(enc, { fatal: true }).decode(bytes);
    } catch {
      /* next */
    }
  }
  return new TextDecoder("utf-8").decode(bytes);
}

/**
 * @param {Kura.FileRecord} file
 * @param {HTMLElement} body
 * @param {"xml" | "text"} kind
 * @param {ViewerState} state
 */
async function textView(file, body, kind, state) {
  const res = await fetch(bytesOf(file), {
    credentials: "same-origin",
    headers: { Range: `bytes=0-${TEXT_LIMIT - 1}` },
  });
  if (!res.ok && res.status !== 206) throw new Error(`HTTP ${res.status}`);
  const text = decodeText(await res.arrayBuffer());
  if (state.destroyed) return;
  const truncated = file.size > TEXT_LIMIT;
  if (kind === "xml") {
    const tree = xmlTree(text);
    body.append(tree || h("pre", { class: "text-view" }, text));
  } else {
    body.append(h("pre", { class: "text-view" }, text));
  }
  if (truncated) body.append(h("p", { class: "viewer-meta" }, t("viewer.truncated")));
}

/**
 * Whether XML has one root element and its tags nest: checked before DOMParser, whose error
 * document carries inline styles the interface's Content-Security-Policy refuses (a console
 * error on every malformed XML opened). DOMParser still decides what it does not catch.
 * @param {string} text
 * @returns {boolean}
 */
export function balanced(text) {
  const bare = text.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>/g, "");
  /** @type {string[]} */
  const open = [];
  let roots = 0;
  let last = 0;
  const tag = /<(\/?)([^\s/>!?]+)(?:"[^"]*"|'[^']*'|[^'">])*?(\/?)>/g;
  for (let m = tag.exec(bare); m; m = tag.exec(bare)) {
    if (bare.slice(last, m.index).includes("<")) return false; // a "<" that starts no tag
    last = tag.lastIndex;
    const [, close, name, empty] = m;
    if (close) {
      if (open.pop() !== name) return false;
    } else {
      if (!open.length) roots += 1;
      if (!empty) open.push(name);
    }
  }
  return roots === 1 && !open.length && !bare.slice(last).includes("<");
}

/**
 * XML as an indented outline: tags, attributes and text in their own colours; null when the
 * text is not well-formed XML.
 * @param {string} text
 * @returns {HTMLDivElement | null}
 */
function xmlTree(text) {
  const body = text.replace(/<!DOCTYPE[^>[]*(\[[^\]]*\])?>/i, "");
  if (!balanced(body)) return null;
  const doc = new DOMParser().parseFromString(body, "application/xml");
  if (doc.getElementsByTagName("parsererror").length) return null;
  const root = h("div", { class: "xml-view", "aria-label": t("viewer.xml") });
  /**
   * @param {Node} node
   * @param {number} depth
   * @param {HTMLElement} into
   */
  const walk = (node, depth, into) => {
    if (node.nodeType === Node.ELEMENT_NODE) {
      const element = /** @type {Element} */ (node); // nodeType says so
      const kids = [...node.childNodes].filter(
        (c) => c.nodeType === Node.ELEMENT_NODE || (c.nodeType === Node.TEXT_NODE && (c.nodeValue ?? "").trim()),
      );
      const onlyText = kids.length === 1 && kids[0].nodeType === Node.TEXT_NODE;
      const attrs = [...element.attributes].map((a) =>
        h("span", { class: "xml-attr" }, ` ${a.name}=`, h("span", { class: "xml-val" }, `"${a.value}"`)),
      );
      const line = h(
        "div",
        { class: "xml-line", style: { paddingLeft: `${depth * 1.2}em` } },
        h("span", { class: "xml-tag" }, `<${node.nodeName}`),
        attrs,
        h("span", { class: "xml-tag" }, kids.length ? ">" : " />"),
      );
      into.append(line);
      if (onlyText) {
        line.append(
          h("span", { class: "xml-text" }, (kids[0].nodeValue ?? "").trim()),
          h("span", { class: "xml-tag" }, `</${node.nodeName}>`),
        );
      } else if (kids.length) {
        for (const k of kids) walk(k, depth + 1, into);
        into.append(
          h("div", { class: "xml-line", style: { paddingLeft: `${depth * 1.2}em` } }, h("span", { class: "xml-tag" }, `</${node.nodeName}>`)),
        );
      }
    } else if (node.nodeType === Node.TEXT_NODE) {
      into.append(
        h("div", { class: "xml-line xml-text", style: { paddingLeft: `${depth * 1.2}em` } }, (node.nodeValue ?? "").trim()),
      );
    }
  };
  walk(doc.documentElement, 0, root);
  return root;
}
