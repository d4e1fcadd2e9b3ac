// bonds.js: what the bond pages share: the reader's role, amounts and dates, the fields of a
// bond as the API shows them (existence only or full), and the key entry (drop the key file,
// choose it, or paste it) used by the orderer pages.
import { fmtDate, fmtDateTime, fmtNumber, t } from "../i18n.js";
import { api } from "../api.js";
import { h } from "../ui.js";

/** @typedef {"issuer" | "contractor" | "orderer" | null} BondRole */

/**
 * The reader's side in the bond flows (F01/F02): issuer, contractor or orderer.
 * @param {Kura.Session | null} session
 * @returns {BondRole}
 */
export function bondRole(session) {
  const kind = session ? session.org_kind : null;
  return kind === "issuer" || kind === "contractor" || kind === "orderer" ? kind : null;
}

/**
 * @param {Kura.Session | null} session
 * @param {string} grant
 */
export function granted(session, grant) {
  return Boolean(session && session.grants.includes(grant));
}

/** @param {number | null | undefined} n @returns {string} */
export function yen(n) {
  return n === null || n === undefined ? "—" : t("bonds.yen", { n: fmtNumber(n) });
}

/** @param {string | null | undefined} d @returns {string} */
export function day(d) {
  return d ? fmtDate(d) : "—";
}

/** @param {Kura.Bond} b @returns {HTMLElement} */
export function stateBadge(b) {
  if (b.state === "deleted") return h("span", { class: "badge neutral", "data-testid": "bond-state" }, t("bonds.state.deleted"));
  if (b.sealed) return h("span", { class: "badge warn", "data-testid": "bond-state" }, t("bonds.state.sealed"));
  return h("span", { class: "badge ok", "data-testid": "bond-state" }, t("bonds.state.active"));
}

/** @param {string} state @returns {string} */
export function keyStateLabel(state) {
  return t(`bonds.key_state.${state}`);
}

/**
 * The bond's fields as a definition list; sealed or keyless views say so instead of contents.
 * @param {Kura.Bond} b
 * @returns {HTMLElement}
 */
export function bondFields(b) {
  /** @type {[string, string | HTMLElement][]} */
  const rows = [
    [t("bonds.f.kind"), b.kind_label],
    [t("bonds.f.obligor"), b.obligor_name],
    [t("bonds.f.obligee"), b.obligee_name],
    [t("bonds.f.work"), `${b.work_number} ${b.work_title}`.trim()],
    [t("bonds.f.opening_at"), b.opening_at ? fmtDateTime(b.opening_at) : "—"],
    [t("bonds.f.state"), stateBadge(b)],
  ];
  if (b.view === "full") {
    rows.push(
      [t("bonds.f.origin"), h("span", { "data-testid": "bond-origin", "data-origin": b.origin }, t(`bonds.origin.${b.origin}`))],
      [t("bonds.f.issuer"), b.issuer_name || "—"],
      [t("bonds.f.certificate_no"), b.certificate_no || "—"],
      [t("bonds.f.amount"), h("span", { "data-testid": "bond-amount" }, yen(b.amount))],
      [t("bonds.f.contract_amount"), yen(b.contract_amount)],
      [t("bonds.f.period"), `${day(b.period_start)} 〜 ${day(b.period_end)}`],
      [t("bonds.f.claim_deadline"), day(b.claim_deadline)],
      [t("bonds.f.premium"), yen(b.premium)],
      [t("bonds.f.premium_difference"), yen(b.premium_difference)],
      [t("bonds.f.issued_on"), day(b.issued_on || b.paid_on)],
      [t("bonds.f.conditions"), b.conditions || "—"],
      [t("bonds.f.revision"), String(b.revision ?? "—")],
    );
    if (b.receipt_ids && b.receipt_ids.length) {
      const links = h("ul", { class: "plain-list", "data-testid": "bond-receipts" });
      b.receipt_ids.forEach((id, i) => {
        const a = h("a", { href: `/api/v1/attachments/${encodeURIComponent(id)}/content`, target: "_blank", rel: "noopener", "data-testid": "bond-receipt" }, t("bonds.f.receipt_n", { n: i + 1 }));
        links.append(h("li", {}, a));
        // the file's own name once known (the link works without it)
        api.get(`/attachments/${encodeURIComponent(id)}`).then(
          (/** @type {{ name?: string }} */ meta) => {
            if (meta && meta.name) a.textContent = meta.name;
          },
          () => {},
        );
      });
      rows.push([t("bonds.f.receipts"), links]);
    }
    if (b.key_state && b.key_state !== "none") rows.push([t("bonds.f.key_state"), keyStateLabel(b.key_state)]);
    if (b.debt) rows.push([t("bonds.f.debt"), h("span", { "data-testid": "bond-debt" }, t("bonds.debt", { amount: yen(b.debt.outstanding), n: b.debt.bonds }))]);
  }
  const list = h("dl", { class: "bond-fields", "data-testid": "bond-fields", "data-view": b.view });
  for (const [k, v] of rows) list.append(h("dt", {}, k), h("dd", {}, v));
  return list;
}

/** @param {Kura.Bond} b @returns {HTMLElement | null} */
export function sealedNotice(b) {
  if (b.view === "full") return null;
  const text = b.sealed ? t("bonds.sealed_notice", { at: b.opening_at ? fmtDateTime(b.opening_at) : "" }) : t("bonds.key_needed");
  return h("p", { class: "notice", role: "status", "data-testid": "bond-sealed-notice" }, text);
}

/**
 * The key entry: drop the key file here, choose it, or paste its text. `onKey` gets the text.
 * @param {(text: string) => Promise<void>} onKey
 * @param {string} testid
 * @returns {HTMLElement}
 */
export function keyEntry(onKey, testid = "bond-key") {
  const file = /** @type {HTMLInputElement} */ (h("input", { type: "file", id: `${testid}-file`, accept: ".kurakey,.json,.txt,application/json,text/plain", "data-testid": `${testid}-file` }));
  const paste = /** @type {HTMLTextAreaElement} */ (h("textarea", { id: `${testid}-text`, rows: 3, "data-testid": `${testid}-text`, spellcheck: false }));
  const open = h("button", { type: "button", class: "btn primary", "data-testid": `${testid}-open` }, t("bonds.key_open"));
  const zone = h(
    "div",
    { class: "key-drop", "data-testid": `${testid}-drop` },
    h("p", {}, t("bonds.key_drop")),
    h("label", { for: `${testid}-file` }, t("bonds.key_choose")),
    file,
  );
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) await onKey(await f.text());
  });
  file.addEventListener("change", async () => {
    const f = file.files && file.files[0];
    if (f) await onKey(await f.text());
    file.value = "";
  });
  open.addEventListener("click", async () => {
    if (paste.value.trim()) await onKey(paste.value);
  });
  return h(
    "section",
    { class: "card key-entry", "aria-labelledby": `${testid}-title` },
    h("h2", { id: `${testid}-title` }, t("bonds.key_title")),
    h("p", { class: "hint" }, t("bonds.key_hint")),
    zone,
    h("div", { class: "field" }, h("label", { for: `${testid}-text` }, t("bonds.key_paste")), paste),
    h("div", { class: "form-actions" }, open),
  );
}
