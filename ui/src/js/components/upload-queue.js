// upload-queue.js: resumable uploads with tus-js-client (/vendor/tus.min.js, window.tus).
// Each file is one tus upload to POST /api/v1/works/{id}/uploads. A dropped line is retried
// by tus-js-client (HEAD for the settled offset, then PATCH from there); after a reload the
// fingerprint stored in localStorage (name, type, size, mtime, endpoint) finds the unfinished
// upload when the same file is chosen again, so it continues where it stopped.
// At most PARALLEL files travel at once; the others wait their turn. A folder of many files
// (GROUP_MIN or more) is one compact entry with a summary (files done, size, speed, time
// left, failures listed) and its files in a folded table, not a card per file (issue 8 §2).
//
//   const q = uploadQueue({ workId, onFileDone(entry), onBatchDone(entries) });
//   el.append(q.el);
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
// Files sent at once: enough to keep the line busy with small files, few enough that a
// 10,000-file folder does not open 10,000 requests.
const PARALLEL = 4;
// A batch of this many files from one folder is shown as one compact entry.
export const GROUP_MIN = 10;
// Below this size a file's speed is not shown (it is over before a speed means anything).
const SPEED_MIN_BYTES = 1024 * 1024;

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
 * @property {HTMLElement} li its row: a card, or a line of its group's table
 * @property {Group | null} group the compact entry it belongs to
 * @property {string | null} nodeId the file's node once the server placed it (Kura-Node-Id)
 * @property {TusUpload} upload
 * @property {string} [attachmentId] the staged attachment an attachments upload became
 */

/**
 * A folder of many files shown as one entry.
 * @typedef {object} Group
 * @property {string} name the folder's name
 * @property {Entry[]} entries
 * @property {HTMLLIElement} li
 * @property {HTMLProgressElement} bar
 * @property {HTMLElement} info
 * @property {HTMLElement} failures
 * @property {HTMLTableSectionElement} rows
 * @property {HTMLDivElement} extra room for the package report
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
 *   onFileDone?: (entry: Entry) => void, onBatchDone?: (batch: Entry[]) => void,
 *   onChange?: (entries: Entry[]) => void }} options
 */
export function uploadQueue({ workId = "", endpoint: target, metadata: meta, onFileDone, onBatchDone, onChange }) {
  const endpoint = target || `/api/v1/works/${encodeURIComponent(workId)}/uploads`;
  /** @type {Entry[]} */
  const entries = [];
  /** @type {Group[]} */
  const groups = [];
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
    for (const g of groups) drawGroup(g);
    if (onChange) onChange(entries);
  }

  /** @param {Entry} e */
  function drawEntry(e) {
    if (e.group) {
      e.stateEl.textContent = t(`upload.state.${e.state}`);
      e.li.dataset.state = e.state;
      e.resume.hidden = e.state !== "failed";
      return;
    }
    const pct = e.file.size ? (e.sent / e.file.size) * 100 : e.state === "done" ? 100 : 0;
    e.bar.value = e.state === "done" ? 100 : Math.min(99.9, pct);
    const speed = e.rate.perSecond();
    const parts = [`${fmtBytes(e.sent)} / ${fmtBytes(e.file.size)}`];
    if (e.state === "uploading") {
      parts.push(fmtSpeed(speed));
      if (speed > 0) parts.push(t("upload.eta", { eta: fmtEta((e.file.size - e.sent) / speed) }));
    } else if (e.state === "done" && averageOf(e) > 0 && e.file.size >= SPEED_MIN_BYTES) {
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

  /** @param {Group} g */
  function drawGroup(g) {
    let size = 0;
    let sent = 0;
    /** @type {Record<string, number>} */
    const n = { queued: 0, uploading: 0, paused: 0, failed: 0, done: 0 };
    for (const e of g.entries) {
      size += e.file.size;
      sent += e.state === "done" ? e.file.size : e.sent;
      n[e.state] += 1;
    }
    g.bar.value = n.done === g.entries.length ? 100 : Math.min(99.9, size ? (sent / size) * 100 : 0);
    g.info.textContent = [
      t("upload.groupCount", { done: fmtNumber(n.done), n: fmtNumber(g.entries.length) }),
      `${fmtBytes(sent)} / ${fmtBytes(size)}`,
      n.uploading + n.queued ? t("upload.groupWaiting", { n: fmtNumber(n.uploading + n.queued) }) : null,
      n.paused ? t("upload.groupPaused", { n: fmtNumber(n.paused) }) : null,
    ]
      .filter(Boolean)
      .join(" ・ ");
    const state = n.failed ? "failed" : n.done === g.entries.length ? "done" : n.uploading ? "uploading" : n.paused ? "paused" : "queued";
    g.li.dataset.state = state;
    g.failures.textContent = n.failed ? t("upload.groupFailed", { n: fmtNumber(n.failed) }) : "";
  }

  /** Start waiting files while fewer than PARALLEL travel. */
  function pump() {
    let running = entries.filter((x) => x.state === "uploading").length;
    for (const e of entries) {
      if (running >= PARALLEL) break;
      if (e.state === "queued") {
        start(e);
        running += 1;
      }
    }
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
    for (const e of entries) {
      if (e.state === "uploading") pause(e);
      else if (e.state === "queued") e.state = "paused";
    }
    refresh();
  }
  function resumeAll() {
    for (const e of entries) if (e.state === "paused" || e.state === "failed") e.state = "queued";
    pump();
    refresh();
  }
  /** @param {Entry} e */
  function retry(e) {
    e.state = "queued";
    pump();
    refresh();
  }
  /** @param {Entry} e */
  function pause(e) {
    e.upload.abort(false);
    stopClock(e);
    e.state = "paused";
    pump();
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
   * A compact entry for a folder of many files.
   * @param {string} name
   * @returns {Group}
   */
  function newGroup(name) {
    const groupBar = h("progress", { max: "100", value: "0", "data-testid": "upload-group-progress", "aria-label": `${name} ${t("upload.progress")}` });
    const info = h("span", { class: "upload-info", "data-testid": "upload-group-info" });
    const failures = h("p", { class: "field-error", role: "alert", "data-testid": "upload-group-failed" });
    const rows = h("tbody", {});
    const extra = h("div", { class: "upload-extra" });
    const li = h(
      "li",
      { class: "upload-item upload-group", "data-testid": "upload-group", "data-name": name },
      h("div", { class: "upload-row" }, h("span", { class: "upload-name", title: name }, t("upload.groupName", { name })), h("span", { class: "upload-state" })),
      groupBar,
      info,
      failures,
      h(
        "details",
        { class: "upload-group-files" },
        h("summary", {}, t("upload.groupFiles")),
        h(
          "div",
          // scrolls: reachable by keyboard (axe scrollable-region-focusable)
          { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `${t("upload.groupName", { name })} ${t("upload.groupFiles")}` },
          h(
            "table",
            { class: "data compact", "data-testid": "upload-group-table" },
            h("thead", {}, h("tr", {}, [t("upload.colFile"), t("upload.colSize"), t("upload.colState")].map((c) => h("th", { scope: "col" }, c)))),
            rows,
          ),
        ),
      ),
      extra,
    );
    /** @type {Group} */
    const g = { name, entries: [], li, bar: groupBar, info, failures, rows, extra };
    groups.push(g);
    list.append(li);
    return g;
  }

  /**
   * Queue files and start them (PARALLEL at a time): each goes to `folder` (""; the work's
   * root), a name taken there handled as `onConflict` says (rename, replace, error). A batch
   * of GROUP_MIN or more files from one dropped folder shows as one compact entry.
   * @param {{ file: File, relativePath?: string, unpack?: boolean }[]} items
   * @param {{ folder?: string, onConflict?: string }} [options]
   * @returns {Promise<Entry[]>} the batch's entries
   */
  async function add(items, { folder = "", onConflict = "rename" } = {}) {
    const tus = await loadTus();
    const tops = new Set(items.map((it) => (it.relativePath && it.relativePath.includes("/") ? it.relativePath.split("/")[0] : "")));
    const grouped = items.length >= GROUP_MIN && tops.size === 1 && !tops.has("");
    const group = grouped ? newGroup([...tops][0]) : null;
    /** @type {Entry[]} */
    const batch = [];
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
      const resumeOne = h("button", { type: "button", class: "btn small", "data-testid": "upload-file-resume", hidden: true, onclick: () => retry(e) }, t("upload.resume"));
      const extra = h("div", { class: "upload-extra" });
      const shown = relativePath || file.name;
      /** @type {HTMLElement} */
      const li = group
        ? h(
            "tr",
            { "data-testid": "upload-group-row", "data-name": file.name },
            h("td", { class: "upload-name" }, shown, error),
            h("td", { class: "num nowrap" }, fmtBytes(file.size)),
            h("td", { class: "nowrap" }, stateEl, " ", resumeOne),
          )
        : h(
            "li",
            { class: "upload-item", "data-testid": "upload-item", "data-name": file.name },
            h(
              "div",
              { class: "upload-row" },
              h("span", { class: "upload-name", title: shown }, shown),
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
        extra: group ? group.extra : extra,
        li,
        group,
        nodeId: null,
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
          onAfterResponse: (_req, res) => {
            // The last PATCH names the node the file became (api/uploads/router.py).
            const id = res.getHeader("Kura-Node-Id");
            if (id) e.nodeId = id;
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
            pump();
            refresh();
            settle(batch);
          },
          onSuccess: (payload) => {
            e.attachmentId = (payload && payload.lastResponse && payload.lastResponse.getHeader("Kura-Attachment-Id")) || undefined;
            stopClock(e);
            if (e.ref !== null && file.size > e.ref) e.moved += file.size - e.ref;
            e.state = "done";
            e.sent = file.size;
            pump();
            refresh();
            if (onFileDone) onFileDone(e);
            settle(batch);
          },
        }),
      };
      entries.push(e);
      batch.push(e);
      if (group) {
        group.entries.push(e);
        group.rows.append(li);
      } else list.append(li);
    }
    pump();
    refresh();
    return batch;
  }

  /** @type {WeakSet<Entry[]>} */
  const settled = new WeakSet();
  /**
   * Tell `onBatchDone` once every file of the batch is done or failed.
   * @param {Entry[]} batch
   */
  function settle(batch) {
    if (settled.has(batch) || !batch.every((x) => x.state === "done" || x.state === "failed")) return;
    settled.add(batch);
    if (onBatchDone) onBatchDone(batch);
  }

  return { el, add, entries, groups, pauseAll, resumeAll };
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
