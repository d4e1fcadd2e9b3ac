// upload-queue.js: resumable uploads with tus-js-client (/vendor/tus.min.js, window.tus).
// Each file is one tus upload to POST /api/v1/works/{id}/uploads. A dropped line is retried
// by tus-js-client (HEAD for the settled offset, then PATCH from there); after a reload the
// fingerprint stored in localStorage (name, type, size, mtime, endpoint) finds the unfinished
// upload when the same file is chosen again, so it continues where it stopped.
//
//   const q = uploadQueue({ workId, onFileDone(entry) });  el.append(q.el);
//   q.add([{ file, relativePath, unpack }], { folder, onConflict });
// Attachments (posts, proposals, ...) go to POST /api/v1/attachments/uploads instead:
//   uploadQueue({ endpoint: "/api/v1/attachments/uploads", metadata: { work_id }, onFileDone })
// and each finished entry carries `attachmentId` (the server's Kura-Attachment-Id header).

import { csrfToken } from "../api.js";
import { t, has, fmtBytes, fmtNumber } from "../i18n.js";
import { h } from "./dom.js";

// One PATCH per 128 MiB. Measured with bench/bench_ui.py (200 MB file, headless Chromium,
// loopback): 32 MiB chunks ~210 MB/s to "done", 128 MiB ~275 MB/s, one PATCH for the whole
// file ~305 MB/s. Each request costs Chromium a fresh blob slice read and the server a lock,
// record update and fsync. A dropped line loses nothing either way (the server keeps the bytes
// of a cut PATCH, and tus-js-client continues from the HEAD offset), so the chunk only bounds
// the request a proxy in front of the API has to pass.
const CHUNK = 128 * 1024 * 1024;
const RETRY = [0, 1000, 2000, 4000, 8000, 15000, 30000, 30000, 60000, 60000];

/** @typedef {typeof import("tus-js-client")} Tus tus-js-client (its types: from its package) */
/** @typedef {import("tus-js-client").Upload} TusUpload */

/**
 * One file of the queue: what it is, how far it got and its row's elements.
 * @typedef {object} Entry
 * @property {File} file
 * @property {string} [relativePath] the path under the dropped folder
 * @property {boolean} [unpack] a ZIP to unpack as a 電子納品 package
 * @property {number} sent bytes the server has
 * @property {"queued" | "uploading" | "paused" | "failed" | "done"} state
 * @property {boolean} resumed continued from an earlier visit
 * @property {Rate} rate
 * @property {number} startedAt Date.now() when queued
 * @property {number} activeMs time spent uploading in this visit
 * @property {number | null} runStart performance.now() when the current run began
 * @property {number} moved bytes sent in this visit (bytes sent again after a cut count again)
 * @property {number | null} ref the offset the next progress event is counted from
 * @property {HTMLProgressElement} bar
 * @property {HTMLSpanElement} info
 * @property {HTMLSpanElement} stateEl
 * @property {HTMLParagraphElement} error
 * @property {HTMLButtonElement} pause
 * @property {HTMLButtonElement} resume
 * @property {HTMLDivElement} extra room for what follows the upload (the package report)
 * @property {HTMLLIElement} li
 * @property {TusUpload} upload
 * @property {string} [attachmentId] the staged attachment an attachments upload became
 */

/** @type {Promise<Tus> | null} */
let tusPromise = null;
/**
 * tus-js-client's browser build, loaded once with a <script> (it sets window.tus).
 * @returns {Promise<Tus>}
 */
export function loadTus() {
  if (window.tus) return Promise.resolve(window.tus);
  if (!tusPromise) {
    tusPromise = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/vendor/tus.min.js";
      const fail = () => {
        tusPromise = null;
        reject(new Error("tus"));
      };
      s.onload = () => (window.tus ? resolve(window.tus) : fail());
      s.onerror = fail;
      document.head.append(s);
    });
  }
  return tusPromise;
}

/** Bytes per second over the last few seconds (smooth, not the whole-run average). */
export class Rate {
  /** @param {number} [windowMs] */
  constructor(windowMs = 5000) {
    this.windowMs = windowMs;
    /** @type {[number, number][]} [time ms, bytes] */
    this.samples = [];
  }
  /**
   * @param {number} bytes the total so far
   * @param {number} [now] ms
   */
  add(bytes, now = performance.now()) {
    this.samples.push([now, bytes]);
    while (this.samples.length > 2 && now - this.samples[0][0] > this.windowMs) this.samples.shift();
  }
  /** @returns {number} */
  perSecond() {
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }
  reset() {
    this.samples = [];
  }
}

/**
 * @param {number} bps bytes per second
 * @returns {string} "12.3 MB/s"
 */
export function fmtSpeed(bps) {
  return `${(bps / (1024 * 1024)).toFixed(1)} MB/s`;
}

/**
 * Bytes per second over the time a file was actually uploading (pauses excluded).
 * @param {Entry} e
 * @returns {number}
 */
function averageOf(e) {
  return e.activeMs > 0 ? (e.moved * 1000) / e.activeMs : 0;
}

/** @param {Entry} e */
function stopClock(e) {
  if (e.runStart !== null) {
    e.activeMs += performance.now() - e.runStart;
    e.runStart = null;
  }
}

/**
 * Time left in words ("あと2分5秒"); "" when unknown.
 * @param {number} seconds
 * @returns {string}
 */
export function fmtEta(seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) return "";
  const s = Math.ceil(seconds);
  if (s < 60) return t("upload.etaSec", { s });
  if (s < 3600) return t("upload.etaMin", { m: Math.floor(s / 60), s: s % 60 });
  return t("upload.etaHour", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

/**
 * The upload queue of a work, or of attachments with `endpoint` and `metadata` (see the top of
 * this file).
 * @param {{ workId?: string, endpoint?: string, metadata?: Record<string, string>,
 *   onFileDone?: (entry: Entry) => void, onChange?: (entries: Entry[]) => void }} options
 */
export function uploadQueue({ workId = "", endpoint: target, metadata: meta, onFileDone, onChange }) {
  const endpoint = target || `/api/v1/works/${encodeURIComponent(workId)}/uploads`;
  /** @type {Entry[]} */
  const entries = [];
  const overallRate = new Rate();

  const bar = h("progress", { max: "100", value: "0", class: "overall-bar", "data-testid": "upload-progress", "aria-label": t("upload.overall") });
  const overallText = h("p", { class: "overall-text", "aria-live": "off", "data-testid": "upload-overall-text" });
  const pauseBtn = h("button", { type: "button", class: "btn", "data-testid": "upload-pause", disabled: true, onclick: () => pauseAll() }, t("upload.pause"));
  const resumeBtn = h("button", { type: "button", class: "btn", "data-testid": "upload-resume", disabled: true, onclick: () => resumeAll() }, t("upload.resume"));
  const list = h("ul", { class: "upload-list", "data-testid": "upload-list", "aria-label": t("upload.files") });
  const overall = h(
    "section",
    { class: "upload-overall", "aria-label": t("upload.overall"), hidden: true },
    h("div", { class: "overall-head" }, h("h2", {}, t("upload.overall")), h("div", { class: "overall-actions" }, pauseBtn, resumeBtn)),
    bar,
    overallText,
  );
  const el = h("div", { class: "upload-queue" }, overall, list);

  function totals() {
    let size = 0;
    let sent = 0;
    for (const e of entries) {
      size += e.file.size;
      sent += e.state === "done" ? e.file.size : e.sent;
    }
    return { size, sent };
  }

  let frame = 0;
  function refresh() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      draw();
    });
  }

  function draw() {
    overall.hidden = !entries.length;
    const { size, sent } = totals();
    overallRate.add(sent);
    const pct = size ? Math.floor((sent / size) * 1000) / 10 : 0;
    const allDone = entries.length > 0 && entries.every((e) => e.state === "done" || e.state === "failed");
    bar.value = allDone && entries.every((e) => e.state === "done") ? 100 : Math.min(99.9, pct);
    const speed = overallRate.perSecond();
    const running = entries.some((e) => e.state === "uploading");
    const done = entries.filter((e) => e.state === "done").length;
    overallText.textContent = [
      t("upload.overallCount", { done: fmtNumber(done), n: fmtNumber(entries.length) }),
      `${fmtBytes(sent)} / ${fmtBytes(size)} (${Number(bar.value).toFixed(1)}%)`,
      running ? fmtSpeed(speed) : null,
      running && speed > 0 ? t("upload.eta", { eta: fmtEta((size - sent) / speed) }) : null,
    ]
      .filter(Boolean)
      .join(" ・ ");
    pauseBtn.disabled = !running;
    resumeBtn.disabled = !entries.some((e) => e.state === "paused" || e.state === "failed");
    for (const e of entries) drawEntry(e);
    if (onChange) onChange(entries);
  }

  /** @param {Entry} e */
  function drawEntry(e) {
    const pct = e.file.size ? (e.sent / e.file.size) * 100 : e.state === "done" ? 100 : 0;
    e.bar.value = e.state === "done" ? 100 : Math.min(99.9, pct);
    const speed = e.rate.perSecond();
    const parts = [`${fmtBytes(e.sent)} / ${fmtBytes(e.file.size)}`];
    if (e.state === "uploading") {
      parts.push(fmtSpeed(speed));
      if (speed > 0) parts.push(t("upload.eta", { eta: fmtEta((e.file.size - e.sent) / speed) }));
    } else if (e.state === "done" && averageOf(e) > 0) {
      // The finished row keeps the speed it really had: bytes over the time until the server
      // confirmed the last PATCH (the live figure counts bytes handed to the socket).
      const avg = fmtSpeed(averageOf(e));
      parts.push(has("upload.avgSpeed") ? t("upload.avgSpeed", { speed: avg }) : avg);
    }
    e.info.textContent = parts.join(" ・ ");
    e.stateEl.textContent = t(`upload.state.${e.state}`) + (e.resumed ? ` ${t("upload.resumedNote")}` : "");
    e.li.dataset.state = e.state;
    e.pause.hidden = e.state !== "uploading";
    e.resume.hidden = !(e.state === "paused" || e.state === "failed");
  }

  /** @param {Entry} e */
  function start(e) {
    e.state = "uploading";
    e.error.textContent = "";
    e.rate.reset();
    e.runStart = performance.now();
    e.ref = e.sent;
    e.upload.findPreviousUploads().then((previous) => {
      if (previous.length) {
        e.upload.resumeFromPreviousUpload(previous[0]);
        e.resumed = true;
        e.ref = null; // the offset sent in an earlier visit is not this visit's speed
      }
      e.upload.start();
      refresh();
    });
  }

  function pauseAll() {
    for (const e of entries) if (e.state === "uploading") pause(e);
  }
  function resumeAll() {
    for (const e of entries) if (e.state === "paused" || e.state === "failed") start(e);
  }
  /** @param {Entry} e */
  function pause(e) {
    e.upload.abort(false);
    stopClock(e);
    e.state = "paused";
    refresh();
  }

  /**
   * The Japanese message for a failed upload (the API's problem+json when it sent one).
   * @param {Error | import("tus-js-client").DetailedError} err
   * @returns {string}
   */
  function errorMessage(err) {
    const res = "originalResponse" in err ? err.originalResponse : null;
    const status = res ? res.getStatus() : 0;
    if (res) {
      try {
        const p = JSON.parse(res.getBody() || "{}");
        if (p.detail || p.title) return p.detail || p.title;
      } catch {
        /* not problem+json */
      }
    }
    if (status === 413) return t("upload.tooLarge");
    if (status === 401) return t("upload.signedOut");
    if (status === 403 || status === 404) return t("upload.forbidden");
    return t("upload.networkFailed");
  }

  /**
   * Queue files and start them: each goes to `folder` (""; the work's root), a name taken
   * there handled as `onConflict` says (rename, replace, error).
   * @param {{ file: File, relativePath?: string, unpack?: boolean }[]} items
   * @param {{ folder?: string, onConflict?: string }} [options]
   */
  async function add(items, { folder = "", onConflict = "rename" } = {}) {
    const tus = await loadTus();
    for (const { file, relativePath, unpack } of items) {
      /** @type {Record<string, string>} */
      const metadata = meta
        ? { filename: file.name, filetype: file.type || "application/octet-stream", ...meta }
        : {
            filename: file.name,
            filetype: file.type || "application/octet-stream",
            folder,
            on_conflict: onConflict,
          };
      if (relativePath && relativePath.includes("/")) metadata.relativePath = relativePath;
      if (unpack) metadata.unpack = "1";
      // The row's elements first; their handlers reach the entry (`e`, below) when clicked.
      const fileBar = h("progress", { max: "100", value: "0", "data-testid": "upload-file-progress", "aria-label": `${file.name} ${t("upload.progress")}` });
      const info = h("span", { class: "upload-info" });
      const stateEl = h("span", { class: "upload-state" });
      const error = h("p", { class: "field-error", role: "alert" });
      const pauseOne = h("button", { type: "button", class: "btn small", "data-testid": "upload-file-pause", onclick: () => pause(e) }, t("upload.pause"));
      const resumeOne = h("button", { type: "button", class: "btn small", "data-testid": "upload-file-resume", hidden: true, onclick: () => start(e) }, t("upload.resume"));
      const extra = h("div", { class: "upload-extra" });
      const li = h(
        "li",
        { class: "upload-item", "data-testid": "upload-item", "data-name": file.name },
        h(
          "div",
          { class: "upload-row" },
          h("span", { class: "upload-name", title: relativePath || file.name }, relativePath || file.name),
          unpack ? h("span", { class: "badge info" }, t("upload.unpackBadge")) : null,
          stateEl,
          h("span", { class: "upload-buttons" }, pauseOne, resumeOne),
        ),
        fileBar,
        info,
        error,
        extra,
      );
      /** @type {Entry} */
      const e = {
        file,
        relativePath,
        unpack,
        sent: 0,
        state: "queued",
        resumed: false,
        rate: new Rate(),
        startedAt: Date.now(),
        activeMs: 0,
        runStart: null,
        moved: 0,
        ref: null,
        bar: fileBar,
        info,
        stateEl,
        error,
        pause: pauseOne,
        resume: resumeOne,
        extra,
        li,
        upload: new tus.Upload(file, {
          endpoint,
          chunkSize: CHUNK,
          retryDelays: RETRY,
          metadata,
          removeFingerprintOnSuccess: true,
          storeFingerprintForResuming: true,
          onBeforeRequest: (req) => {
            const token = csrfToken();
            if (token) req.setHeader("X-CSRF-Token", token);
            const xhr = req.getUnderlyingObject();
            if (xhr) xhr.withCredentials = true;
          },
          onProgress: (sent) => {
            if (e.ref === null || sent < e.ref) e.ref = sent;
            e.moved += sent - e.ref;
            e.ref = sent;
            e.sent = sent;
            e.rate.add(sent);
            refresh();
          },
          onError: (err) => {
            stopClock(e);
            e.state = "failed";
            e.error.textContent = errorMessage(err);
            refresh();
          },
          onSuccess: (payload) => {
            e.attachmentId = (payload && payload.lastResponse && payload.lastResponse.getHeader("Kura-Attachment-Id")) || undefined;
            stopClock(e);
            if (e.ref !== null && file.size > e.ref) e.moved += file.size - e.ref;
            e.state = "done";
            e.sent = file.size;
            refresh();
            if (onFileDone) onFileDone(e);
          },
        }),
      };
      entries.push(e);
      list.append(e.li);
      start(e);
    }
    refresh();
  }

  return { el, add, entries, pauseAll, resumeAll };
}

/**
 * Uploads begun in an earlier visit and not finished (from tus-js-client's URL storage).
 * @param {string} workId
 * @returns {Promise<import("tus-js-client").PreviousUpload[]>}
 */
export async function unfinishedUploads(workId) {
  const tus = await loadTus();
  const endpoint = `/api/v1/works/${encodeURIComponent(workId)}/uploads`;
  try {
    const all = await tus.defaultOptions.urlStorage.findAllUploads();
    return all.filter((u) => String(u.urlStorageKey || "").includes(endpoint));
  } catch {
    return [];
  }
}
