// report.js: a 電子納品 package check (GET /deliverables/{id}) shown in the page, each finding
// with its rule's number and name and linked to its file in the browser (the API gives each
// finding the file's node id where the path is a file of the package), and a PDF to print.

import { api, apiUrl } from "../api.js";
import { t, fmtDateTime } from "../i18n.js";
import { href } from "../router.js";
import { h } from "./dom.js";

const SEVERITIES = ["E", "W", "N"];

/**
 * The check report of deliverable `id` as a <section>.
 * @param {string} id
 * @returns {Promise<HTMLElement>}
 */
export async function deliverableReport(id) {
  const record = await api.get(`/deliverables/${encodeURIComponent(id)}`);
  const report = record.report || {};
  const counts = report.counts || {};
  const findings = report.findings || [];
  const fields = record.fields || {};
  const title = fields["工事名称"] || fields["業務名称"] || "";
  const box = h(
    "section",
    { class: "report", "data-testid": "deliverable-report", "aria-label": t("report.title") },
    h(
      "div",
      { class: "report-title" },
      h("h2", {}, t("report.title"), title ? `：${title}` : ""),
      h("a", { class: "btn small", href: apiUrl(`/deliverables/${encodeURIComponent(id)}/report.pdf`), download: "", "data-testid": "report-pdf" }, t("checks.pdf")),
    ),
    h(
      "dl",
      { class: "report-head" },
      [
        [t("report.standard"), record.standard],
        [t("report.applied"), record.applied_standard],
        [t("report.profile"), report.profile === "maff" ? t("report.maff") : t("report.mlit")],
        [t("report.checkedAt"), fmtDateTime(record.created_at)],
      ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v || "－")]),
    ),
    h(
      "p",
      { class: "report-counts", "data-testid": "report-counts" },
      SEVERITIES.map((s) => h("span", { class: `sev sev-${s}` }, t(`report.sev.${s}`), " ", t("common.count", { n: counts[s] || 0 }))),
    ),
  );
  if (!findings.length) {
    box.append(h("p", { class: "notice notice-ok" }, t("report.noFindings")));
    return box;
  }
  const tbody = h("tbody", {});
  for (const f of /** @type {Kura.Finding[]} */ (findings)) {
    const path = String(f.path || "");
    const nodeId = f.node_id;
    const where = nodeId
      ? h("a", { href: href("/browse", record.work_id, nodeId), "data-testid": "finding-link" }, path)
      : path || t("report.wholePackage");
    tbody.append(
      h(
        "tr",
        { class: `finding sev-${f.severity}`, "data-testid": "finding" },
        h("td", {}, h("span", { class: `sev sev-${f.severity}` }, t(`report.sev.${f.severity}`))),
        h("td", {}, f.title ? t("report.ruleNamed", { n: f.rule ?? "", name: f.title }) : t("report.rule", { n: f.rule ?? "" })),
        h("td", { class: "finding-path" }, where),
        h("td", {}, f.line ? t("report.line", { n: f.line }) : ""),
        h("td", {}, f.message || ""),
      ),
    );
  }
  box.append(
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "findings" },
        h("caption", { class: "sr-only" }, t("report.findings")),
        h("thead", {}, h("tr", {}, [t("report.colSeverity"), t("report.colRule"), t("report.colFile"), t("report.colLine"), t("report.colMessage")].map((c) => h("th", { scope: "col" }, c)))),
        tbody,
      ),
    ),
  );
  return box;
}
