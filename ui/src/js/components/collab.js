// collab.js: helpers of the folders, inspection and hand-over pages: their stylesheet, the
// approval record as text, and the personal-data warning (seed 001 §3-2) any page can show
// after a file arrived:
//
//   const answer = await warnIfPersonal({ kind: "attachment", id, name, onRemove });  // before sending
//   // answer: "clear" | "removed" | "kept" | "pending" (text not extracted in time); "removed":
//   // the API deleted the file (a staged attachment or a document); onRemove lets the page
//   // drop it from its own list
//
// The warning is recorded by the API when it is given; the user's answer (removed, or kept
// with a reason) is recorded too.

import { api } from "../api.js";
import { t } from "../i18n.js";
import { h, dialog, field, control, toast, errorMessage } from "../ui.js";

/** Link css/collab.css once (the app's CSP refuses inline styles). */
export function ensureCollabStyles() {
  if (document.getElementById("collab-css")) return;
  const link = document.createElement("link");
  link.id = "collab-css";
  link.rel = "stylesheet";
  link.href = "css/collab.css";
  document.head.append(link);
}

/**
 * The approval record of a document (5(8)): one line per stamp.
 * @param {Kura.Stamp[]} stamps
 * @returns {Kura.Child}
 */
export function stampList(stamps) {
  if (!stamps.length) return "";
  return h(
    "ul",
    { class: "stamps" },
    stamps.map((s) => h("li", {}, `${s.role} ${s.name} ${s.date || t("collab.stamp_pending")}`, s.note ? ` （${s.note}）` : "")),
  );
}

/**
 * Ask the API to check a file, waiting while its text is being extracted.
 * @param {{ kind: "attachment" | "file", id: string }} target
 * @param {{ tries?: number, delayMs?: number }} [options]
 * @returns {Promise<Kura.PrivacyCheck>}
 */
export async function checkFile(target, { tries = 20, delayMs = 1000 } = {}) {
  /** @type {Kura.PrivacyCheck} */
  let check = await api.post("/privacy/checks", target);
  for (let i = 1; i < tries && check.state === "pending"; i += 1) {
    await new Promise((resolve) => {
      setTimeout(resolve, delayMs);
    });
    check = await api.post("/privacy/checks", target);
  }
  return check;
}

/**
 * Check a file and, when it holds personal identifiers, warn and record the answer.
 * @param {{ kind: "attachment" | "file", id: string, name: string, onRemove?: () => void }} options
 *   onRemove: called after the API removed the file (the page drops it from its list)
 * @returns {Promise<"clear" | "removed" | "kept" | "pending">}
 */
export async function warnIfPersonal({ kind, id, name, onRemove }) {
  const check = await checkFile({ kind, id });
  if (check.state === "pending") return "pending";
  if (check.state !== "warning") return "clear";
  const reason = field({ name: "reason", label: t("privacy.reason"), type: "textarea", testid: "privacy-reason" });
  const form = h("form", {}, reason);
  const body = h(
    "div",
    { "data-testid": "privacy-warning" },
    h("p", {}, t("privacy.lead", { name })),
    h(
      "ul",
      {},
      check.findings.map((f) => h("li", {}, `${f.label}: ${f.masked}`, f.page ? t("privacy.page", { n: f.page }) : "")),
    ),
    h("p", { class: "hint" }, t("privacy.rule")),
    form,
  );
  for (;;) {
    const choice = await dialog({
      title: t("privacy.title"),
      body,
      testid: "privacy-dialog",
      actions: [
        { label: t("privacy.keep"), value: "kept", testid: "privacy-keep" },
        { label: t("privacy.remove"), value: "removed", primary: true, danger: true, testid: "privacy-remove" },
      ],
    });
    const action = choice === "kept" ? "kept" : "removed";
    const text = control(form, "reason").value.trim();
    if (action === "kept" && !text) {
      toast(t("privacy.reason_required"), "error");
      continue;
    }
    try {
      await api.post(`/privacy/checks/${encodeURIComponent(check.id)}/decision`, { action, reason: text || null });
      if (action === "removed" && onRemove) onRemove();
    } catch (err) {
      toast(errorMessage(err), "error");
      return "pending";
    }
    return action;
  }
}
