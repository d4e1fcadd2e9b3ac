// checks.js: the 電子納品 check record of a work (issue 8 §2), on the work page for both sides:
// the latest result (counts, 受領確認, PDF, the findings on demand), the history of checks
// (one per upload or re-check), and for the orderer's staff the 受領確認 button.
//
//   const card = checkRecord(work, { reload });  root.append(card);
//   const record = await loadChecks(workId);     // GET /works/{id}/checks (null on failure)
//   archiveNotice(record)                        // what the move to the archive shows

import { api, apiUrl } from "../api.js";
import { t, fmtDateTime } from "../i18n.js";
import { href } from "../router.js";
import { badge, busy, clear, dialog, empty, errorMessage, h, toast } from "../ui.js";
import { deliverableReport } from "./report.js";

/**
 * @param {string} workId
 * @returns {Promise<Kura.CheckRecord | null>}
 */
export async function loadChecks(workId) {
  try {
    return await api.get(`/works/${encodeURIComponent(workId)}/checks`);
  } catch {
    return null;
  }
}

/**
 * The counts as three badges (エラー n件 …), coloured by severity.
 * @param {{ E: number, W: number, N: number }} counts
 * @returns {HTMLElement}
 */
export function countBadges(counts) {
  return h(
    "span",
    { class: "check-counts", "data-testid": "check-counts" },
    badge(`${t("report.sev.E")} ${t("common.count", { n: counts.E })}`, counts.E ? "err" : "neutral"),
    " ",
    badge(`${t("report.sev.W")} ${t("common.count", { n: counts.W })}`, counts.W ? "warn" : "neutral"),
    " ",
    badge(`${t("report.sev.N")} ${t("common.count", { n: counts.N })}`, "neutral"),
  );
}

/**
 * @param {Kura.CheckSummary} c
 * @returns {string}
 */
function receiptText(c) {
  return c.receipt ? t("checks.received", { name: c.receipt.by_name, at: fmtDateTime(c.receipt.at) }) : t("checks.not_received");
}

/**
 * What the move to the archive shows about the latest check: its counts, and a warning when
 * it has errors (or that the orderer blocks the move).
 * @param {Kura.CheckRecord | null} record
 * @returns {HTMLElement}
 */
export function archiveNotice(record) {
  const latest = record && record.latest;
  if (!latest) return h("p", { class: "muted", "data-testid": "archive-check" }, t("checks.archive_none"));
  const c = latest.counts;
  return h(
    "div",
    { "data-testid": "archive-check" },
    h("p", {}, t("checks.archive_latest", { at: fmtDateTime(latest.created_at), E: c.E, W: c.W, N: c.N })),
    c.E ? h("p", { class: "notice notice-error", role: "alert", "data-testid": "archive-check-errors" }, record && record.block_archive_on_errors ? t("checks.archive_blocked") : t("checks.archive_errors")) : null,
    latest.receipt ? null : h("p", { class: "muted small" }, t("checks.archive_unreceived")),
  );
}

/**
 * The check record card of a work.
 * @param {Kura.Work} work
 * @param {{ reload: () => void }} options
 * @returns {HTMLElement}
 */
export function checkRecord(work, { reload }) {
  const body = h("div", {}, h("p", { class: "loading", role: "status" }, t("app.loading")));
  const card = h("section", { class: "card", "aria-labelledby": "work-checks", "data-testid": "work-checks" }, h("h2", { id: "work-checks" }, t("checks.title")), body);
  loadChecks(work.id).then((record) => {
    clear(body);
    if (!record) {
      body.append(empty(t("error.load")));
      return;
    }
    if (!record.latest) {
      body.append(empty(t("checks.empty")));
      return;
    }
    body.append(latestBlock(work, record, reload));
    const history = historyTable(work, record);
    if (history) body.append(history);
  });
  return card;
}

/**
 * @param {Kura.Work} work
 * @param {Kura.CheckRecord} record
 * @param {() => void} reload
 * @returns {HTMLElement}
 */
function latestBlock(work, record, reload) {
  const c = /** @type {Kura.CheckSummary} */ (record.latest); // the caller checked it
  const details = h("div", { class: "check-details" });
  const toggle = h("button", { type: "button", class: "btn small", "aria-expanded": "false", "data-testid": "check-show" }, t("checks.show"));
  toggle.addEventListener("click", async () => {
    if (details.firstChild) {
      clear(details);
      toggle.textContent = t("checks.show");
      toggle.setAttribute("aria-expanded", "false");
      return;
    }
    toggle.setAttribute("aria-expanded", "true");
    toggle.textContent = t("checks.hide");
    try {
      details.append(await deliverableReport(c.id));
    } catch (err) {
      details.append(h("p", { class: "field-error", role: "alert" }, errorMessage(err)));
    }
  });
  /** @type {HTMLElement[]} */
  const actions = [
    toggle,
    h("a", { class: "btn small", href: apiUrl(`/deliverables/${encodeURIComponent(c.id)}/report.pdf`), download: "", "data-testid": "check-pdf" }, t("checks.pdf")),
    h("a", { class: "btn small", href: href("/browse", work.id, c.root_node_id === work.id ? undefined : c.root_node_id) }, t("checks.open")),
  ];
  if (record.can_receive && !c.receipt) {
    const receive = h("button", { type: "button", class: "btn small primary", "data-testid": "check-receive" }, t("checks.receive"));
    receive.addEventListener("click", async () => {
      const note = h("textarea", { id: "receipt-note", rows: "2", maxlength: "500", "data-testid": "check-receive-note" });
      const ok = await dialog({
        title: t("checks.receive_title"),
        testid: "receipt-dialog",
        body: h("div", {}, h("p", {}, t("checks.receive_lead")), countBadges(c.counts), h("div", { class: "field" }, h("label", { for: "receipt-note" }, t("checks.receive_note")), note)),
        actions: [
          { label: t("common.cancel"), value: false },
          { label: t("checks.receive"), value: true, primary: true, testid: "check-receive-ok" },
        ],
      });
      if (ok !== true) return;
      await busy(receive, async () => {
        try {
          await api.post(`/deliverables/${encodeURIComponent(c.id)}/receipt`, { version: c.version, note: note.value.trim() || null });
          toast(t("checks.receive_done"), "ok");
          reload();
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      });
    });
    actions.push(receive);
  } else if (record.can_receive && c.receipt) {
    const withdraw = h("button", { type: "button", class: "btn small", "data-testid": "check-withdraw" }, t("checks.withdraw"));
    withdraw.addEventListener("click", async () => {
      const ok = await dialog({
        title: t("common.confirm"),
        body: h("p", {}, t("checks.withdraw_confirm")),
        actions: [
          { label: t("common.cancel"), value: false },
          { label: t("checks.withdraw"), value: true, danger: true, testid: "confirm-ok" },
        ],
      });
      if (ok !== true) return;
      await busy(withdraw, async () => {
        try {
          await api.del(`/deliverables/${encodeURIComponent(c.id)}/receipt`, { version: c.version });
          toast(t("checks.withdrawn"), "ok");
          reload();
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      });
    });
    actions.push(withdraw);
  }
  return h(
    "div",
    { class: "check-latest", "data-testid": "check-latest", "data-id": c.id },
    h("h3", {}, t("checks.latest")),
    h(
      "dl",
      { class: "props" },
      h("dt", {}, t("checks.col.at")),
      h("dd", {}, fmtDateTime(c.created_at)),
      h("dt", {}, t("checks.col.package")),
      h("dd", {}, c.root_path || t("checks.root"), c.applied_standard ? h("span", { class: "muted small" }, `（${c.applied_standard}）`) : null),
      h("dt", {}, t("checks.col.counts")),
      h("dd", {}, countBadges(c.counts)),
      h("dt", {}, t("checks.col.receipt")),
      h("dd", { "data-testid": "check-receipt" }, c.receipt ? badge(receiptText(c), "ok") : h("span", { class: "muted" }, receiptText(c)), c.receipt && c.receipt.note ? h("div", { class: "small" }, c.receipt.note) : null),
    ),
    h("div", { class: "check-actions" }, actions),
    details,
  );
}

/**
 * @param {Kura.Work} work
 * @param {Kura.CheckRecord} record
 * @returns {HTMLElement | null}
 */
function historyTable(work, record) {
  if (record.items.length < 2) return null;
  return h(
    "details",
    { class: "check-history" },
    h("summary", {}, `${t("checks.history")}（${t("common.count", { n: record.items.length })}）`),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data", "data-testid": "check-history" },
        h("thead", {}, h("tr", {}, ["at", "package", "counts", "receipt", "actions"].map((k) => h("th", { scope: "col" }, t(`checks.col.${k}`))))),
        h(
          "tbody",
          {},
          record.items.map((c) =>
            h(
              "tr",
              { "data-testid": "check-row", "data-id": c.id },
              h("td", { class: "nowrap" }, fmtDateTime(c.created_at)),
              h("td", {}, c.root_path || t("checks.root")),
              h("td", {}, countBadges(c.counts)),
              h("td", {}, c.receipt ? t("checks.received_short") : t("checks.not_received")),
              h("td", { class: "nowrap" }, h("a", { href: apiUrl(`/deliverables/${encodeURIComponent(c.id)}/report.pdf`), download: "" }, t("checks.pdf")), " ", h("a", { href: href("/browse", work.id, c.root_node_id === work.id ? undefined : c.root_node_id) }, t("checks.open"))),
            ),
          ),
        ),
      ),
    ),
  );
}
