// imports.js: a work's imports (GET /works/{id}/imports, /imports/{id}) — every unpacked ZIP
// and `kura import` run with its state, the reason in Japanese, counts and findings, so a
// refused ZIP (path traversal, bomb) is seen where it was uploaded, not only in a server log.
//
//   importList(workId)                 → <section> table of recent imports, each with "詳細"
//   followImport(workId, uploadId, el) → fills `el` while the upload's import runs; resolves
//                                        with the finished import (or null when it never came)

import { api, apiUrl } from "../api.js";
import { t, fmtBytes, fmtDateTime } from "../i18n.js";
import { h, clear, errorText } from "./dom.js";

const FINAL = new Set(["done", "rejected", "failed", "interrupted"]);
/** @type {Record<string, string>} */
const TONE = { queued: "neutral", running: "info", done: "ok", rejected: "warn", failed: "warn", interrupted: "warn" };
const POLL_MS = 1500;
const WAIT_MS = 10 * 60 * 1000;

/** @param {string} state */
export function importBadge(state) {
  return h("span", { class: `badge ${TONE[state] || "neutral"}`, "data-testid": "import-state", "data-state": state }, t(`imports.state.${state}`));
}

/** @param {any} item */
function countsText(item) {
  const c = item.counts || {};
  return t("imports.counts", { created: c.created || 0, replaced: c.replaced || 0, skipped: c.skipped || 0, bytes: fmtBytes(c.bytes || 0) });
}

/** @param {any[]} findings */
function findingsTable(findings) {
  if (!findings.length) return h("p", { class: "muted" }, t("imports.noFindings"));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "findings" },
      h("caption", { class: "sr-only" }, t("imports.findings")),
      h("thead", {}, h("tr", {}, [t("report.colSeverity"), t("report.colFile"), t("report.colMessage")].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        findings.map((f) =>
          h(
            "tr",
            { class: `finding sev-${f.severity}`, "data-testid": "import-finding" },
            h("td", {}, h("span", { class: `sev sev-${f.severity}` }, t(`report.sev.${f.severity}`))),
            h("td", { class: "finding-path" }, f.path || t("report.wholePackage")),
            h("td", {}, f.message || ""),
          ),
        ),
      ),
    ),
  );
}

/** The body of one import: reason, counts, findings, the package check. @param {any} item */
export function importDetail(item) {
  const pkg = item.package;
  return h(
    "div",
    { class: "import-detail", "data-testid": "import-detail" },
    item.reason ? h("p", { class: item.state === "done" ? "notice notice-info" : "notice notice-error", role: "status", "data-testid": "import-reason" }, item.reason) : null,
    h("p", {}, countsText(item)),
    pkg && pkg.counts
      ? h("p", { "data-testid": "import-package" }, t("imports.package", { e: pkg.counts.E || 0, w: pkg.counts.W || 0, n: pkg.counts.N || 0 }))
      : null,
    item.findings ? findingsTable(item.findings) : null,
  );
}

/** Recent imports of a work, newest first. @param {string} workId */
export function importList(workId) {
  const body = h("div", {}, h("p", { class: "muted" }, t("app.loading")));
  const box = h("section", { class: "card", "aria-labelledby": "work-imports", "data-testid": "imports" }, h("h2", { id: "work-imports" }, t("imports.title")), body);
  api
    .get(`/works/${encodeURIComponent(workId)}/imports`, { limit: 20 })
    .then((page) => {
      const items = page.items || [];
      if (!items.length) {
        clear(body).append(h("p", { class: "muted" }, t("imports.empty")));
        return;
      }
      const rows = items.map((/** @type {any} */ item) => {
        const slot = h("td", { colspan: "5" });
        const more = h("tr", { hidden: true }, slot);
        const btn = h("button", { type: "button", class: "btn small", "aria-expanded": "false", "data-testid": "import-open" }, t("imports.detail"));
        btn.addEventListener("click", async () => {
          const open = more.hidden;
          more.hidden = !open;
          btn.setAttribute("aria-expanded", String(open));
          if (!open || slot.firstChild) return;
          try {
            slot.append(importDetail(await api.get(`/imports/${encodeURIComponent(item.id)}`)));
          } catch (err) {
            slot.append(h("p", { class: "field-error" }, errorText(err)));
          }
        });
        return [
          h(
            "tr",
            { "data-testid": "import-row", "data-id": item.id },
            h("td", { class: "nowrap" }, fmtDateTime(item.queued_at)),
            h(
              "td",
              {},
              (item.source && item.source.name) || "—",
              h("div", { class: "small muted" }, item.actor && item.actor.name ? item.actor.name : ""),
              // the uploaded ZIP, kept as the import's source (not a document of the work)
              item.source_file ? h("a", { class: "small", href: apiUrl(`/imports/${encodeURIComponent(item.id)}/source`), download: "", "data-testid": "import-source" }, t("imports.source_download", { name: item.source_file.name })) : null,
            ),
            h("td", {}, importBadge(item.state)),
            h("td", {}, item.reason ? h("div", { class: "small" }, item.reason) : countsText(item)),
            h("td", {}, btn),
          ),
          more,
        ];
      });
      clear(body).append(
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data" },
            h(
              "thead",
              {},
              h("tr", {}, [
                ...["at", "source", "state", "summary"].map((c) => h("th", { scope: "col" }, t(`imports.col.${c}`))),
                h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("imports.col.actions"))),
              ]),
            ),
            h("tbody", {}, rows),
          ),
        ),
      );
    })
    .catch((err) => clear(body).append(h("p", { class: "field-error" }, errorText(err))));
  return box;
}

/**
 * Follow the import an upload started until it ends; its state, reason and counts show in
 * `el`. @param {string} workId @param {string} uploadId @param {HTMLElement} el
 * @returns {Promise<any>} the finished import (with findings), or null
 */
export async function followImport(workId, uploadId, el) {
  const deadline = Date.now() + WAIT_MS;
  let shown = "";
  while (Date.now() < deadline && el.isConnected) {
    let item = null;
    try {
      const page = await api.get(`/works/${encodeURIComponent(workId)}/imports`, { upload_id: uploadId });
      item = (page.items || [])[0] || null;
    } catch {
      item = null;
    }
    if (item && item.state !== shown) {
      shown = item.state;
      clear(el).append(h("p", { role: "status" }, importBadge(item.state), " ", FINAL.has(item.state) ? "" : t(`imports.waiting.${item.state}`)));
    }
    if (item && FINAL.has(item.state)) {
      const full = await api.get(`/imports/${encodeURIComponent(item.id)}`).catch(() => item);
      clear(el).append(h("p", {}, importBadge(full.state)), importDetail(full));
      return full;
    }
    await new Promise((r) => {
      setTimeout(r, POLL_MS);
    });
  }
  clear(el).append(h("p", { class: "muted" }, t("upload.checkLate")));
  return null;
}
