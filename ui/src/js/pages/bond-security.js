// Contract security check (#/bonds/security?work=<id>): seed 003 公告 共通事項 21: the
// security (1/10 of the 請負代金額, 3/10 for a 低価格入札者) by the contract date, one form
// only, a bank guarantee's claim deadline six months after its period; pass or fail with the
// reasons. The orderer may record a security it received (契約保証金 with the receipt, 利付
// 国債, a guarantee or insurance on paper).
import { api } from "../api.js";
import { t } from "../i18n.js";
import { navigate } from "../router.js";
import { busy, clear, empty, errorBox, field, formError, h, loading, pageHeader, selectField, showFormErrors, toast } from "../ui.js";
import { bondFields, granted, yen } from "../components/bonds.js";
import { uploadQueue } from "../components/upload-queue.js";
import { bondNav, bondStyles } from "./bonds.js";

const KINDS = ["cash", "government_bond", "financial_guarantee", "performance_bond", "performance_insurance"];

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  bondStyles();
  const q = params.query || {};
  const workId = String(q.work || "");
  root.append(pageHeader(t("bonds.sec.title")), bondNav(ctx.session, "#/bonds/security"));
  const body = h("div", {}, loading());
  root.append(body);
  /** @type {Kura.Work[]} */
  let works;
  /** @type {Map<string, string>} */
  const names = new Map();
  const search = String(q.q || "").trim();
  try {
    // the 200 latest works, or those the title search finds; a work named in the address is
    // read on its own when it is in neither (an orderer may have many more works)
    works = (await api.get("/works", search ? { q: search, limit: 200 } : { limit: 200 })).items;
    if (workId && !works.some((w) => w.id === workId)) works.unshift(await api.get(`/works/${encodeURIComponent(workId)}`));
    if (granted(ctx.session, "bonds.securities")) {
      /** @type {{ id: string, name: string }[]} */
      const parties = await api.get("/bonds/parties");
      for (const p of parties) names.set(p.id, p.name);
    }
  } catch (err) {
    clear(body).append(errorBox(err));
    return;
  }
  clear(body);
  const pick = selectField({ name: "work", label: t("bonds.sec.work"), value: q.work || "", blank: "—", testid: "security-work", options: works.map((w) => ({ value: w.id, label: `${w.number} ${w.title}` })) });
  /** @param {string} work @param {string} text */
  const address = (work, text) => {
    const qs = new URLSearchParams();
    if (work) qs.set("work", work);
    if (text) qs.set("q", text);
    const rest = qs.toString();
    return rest ? `#/bonds/security?${rest}` : "#/bonds/security";
  };
  pick.querySelector("select")?.addEventListener("change", (e) => {
    navigate(address(/** @type {HTMLSelectElement} */ (e.target).value, search));
  });
  const finder = /** @type {HTMLFormElement} */ (
    h(
      "form",
      { class: "finder", role: "search", "data-testid": "security-search" },
      field({ name: "q", label: t("bonds.sec.search"), value: search, testid: "security-q", attrs: { maxlength: 100 } }),
      h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn", "data-testid": "security-search-submit" }, t("common.search"))),
    )
  );
  finder.addEventListener("submit", (e) => {
    e.preventDefault();
    navigate(address(workId, String(new FormData(finder).get("q") || "").trim()));
  });
  body.append(h("div", { class: "toolbar" }, finder, pick));
  if (!q.work) {
    body.append(h("div", { class: "card" }, empty(t("bonds.sec.pick"))));
    return;
  }
  const result = h("div", {}, loading());
  body.append(result);
  async function refresh() {
    /** @type {Kura.SecurityCheck} */
    let check;
    try {
      check = await api.get(`/works/${encodeURIComponent(workId)}/contract-security`);
    } catch (err) {
      clear(result).append(errorBox(err));
      return;
    }
    clear(result);
    result.append(
      h(
        "section",
        { class: `card verdict ${check.passed ? "ok-box" : "ng-box"}`, "data-testid": "security-verdict", "data-passed": String(check.passed) },
        h("h2", {}, check.passed ? t("bonds.sec.passed") : t("bonds.sec.failed")),
        check.reasons.length ? h("ul", { "data-testid": "security-reasons" }, check.reasons.map((r) => h("li", {}, r))) : null,
        h(
          "dl",
          { class: "bond-fields" },
          h("dt", {}, t("bonds.sec.bid")),
          h("dd", {}, yen(check.bid_amount)),
          h("dt", {}, t("bonds.sec.award")),
          h("dd", {}, yen(check.award_price)),
          h("dt", {}, t("bonds.sec.price")),
          h("dd", {}, yen(check.price)),
          h("dt", {}, t("bonds.sec.required", { ratio: check.low_bid ? "3/10" : "1/10" })),
          h("dd", {}, yen(check.required_amount)),
          h("dt", {}, t("bonds.sec.due")),
          h("dd", {}, check.due_date || "—"),
        ),
      ),
    );
    for (const s of check.securities) result.append(h("section", { class: "card" }, h("p", {}, s.counted ? t("bonds.sec.counted") : t("bonds.sec.not_counted")), bondFields(s)));
    if (granted(ctx.session, "bonds.securities")) result.append(recordForm());
  }

  /** @type {{ id: string, name: string }[]} */
  let receipts = [];

  // The receipt (契約保証金の領収証書) or the certificate received on paper, as PDF or image:
  // uploaded with tus as staged attachments of the organization, linked when the record is
  // saved (the shared attachments service).
  function receiptField() {
    receipts = [];
    const listEl = h("ul", { class: "receipt-list", "data-testid": "security-receipts" });
    const draw = () => {
      clear(listEl);
      for (const r of receipts) {
        listEl.append(
          h(
            "li",
            { "data-testid": "security-receipt", "data-name": r.name },
            h("span", {}, r.name),
            h("button", { type: "button", class: "btn small", "aria-label": t("bonds.sec.receipt_remove", { name: r.name }), onclick: () => { receipts = receipts.filter((x) => x !== r); draw(); } }, t("bonds.sec.remove")),
          ),
        );
      }
    };
    const queue = uploadQueue({
      endpoint: "/api/v1/attachments/uploads",
      metadata: {},
      onFileDone: (entry) => {
        if (entry.attachmentId) receipts.push({ id: entry.attachmentId, name: entry.file.name });
        draw();
      },
    });
    const picker = /** @type {HTMLInputElement} */ (h("input", { type: "file", id: "security-receipt-input", class: "sr-only", accept: "application/pdf,image/*", "data-testid": "security-receipt-file" }));
    /** @param {File[]} files */
    const add = (files) => {
      if (files.length) void queue.add(files.map((file) => ({ file })));
    };
    picker.addEventListener("change", () => {
      add([...(picker.files || [])]);
      picker.value = "";
    });
    const drop = h("div", { class: "key-drop", "data-testid": "security-receipt-drop" }, h("p", {}, t("bonds.sec.receipt_drop")), h("label", { class: "btn", for: picker.id }, t("bonds.sec.receipt_choose")), picker);
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      add([...((e.dataTransfer && e.dataTransfer.files) || [])]);
    });
    return h("div", { class: "field receipt-field", "data-field": "attachments" }, h("span", { class: "label" }, t("bonds.sec.receipt")), drop, queue.el, listEl, h("p", { class: "field-error", role: "alert", hidden: true }));
  }

  function recordForm() {
    const save = h("button", { type: "submit", class: "btn primary", "data-testid": "security-save" }, t("bonds.sec.record"));
    const work = works.find((w) => w.id === workId);
    const form = /** @type {HTMLFormElement} */ (
      h(
        "form",
        { class: "card form-grid", novalidate: true, "data-testid": "security-form" },
        h("h2", {}, t("bonds.sec.record_title")),
        formError(),
        selectField({ name: "kind", label: t("bonds.f.kind"), options: KINDS.map((k) => ({ value: k, label: t(`bonds.kind.${k}`) })), testid: "security-kind" }),
        selectField({ name: "obligor_org_id", label: t("bonds.f.obligor"), blank: "—", options: ((work && work.contractor_org_ids) || []).map((id) => ({ value: id, label: names.get(id) || id })), testid: "security-obligor" }),
        field({ name: "issuer_name", label: t("bonds.sec.issuer_name"), testid: "security-issuer" }),
        field({ name: "certificate_no", label: t("bonds.f.certificate_no"), testid: "security-number" }),
        field({ name: "amount", label: t("bonds.f.amount"), type: "number", required: true, testid: "security-amount", attrs: { min: 1 } }),
        field({ name: "paid_on", label: t("bonds.sec.paid_on"), type: "date", testid: "security-paid-on" }),
        field({ name: "issued_on", label: t("bonds.f.issued_on"), type: "date", testid: "security-issued-on" }),
        field({ name: "period_start", label: t("bonds.f.period_start"), type: "date", testid: "security-period-start" }),
        field({ name: "period_end", label: t("bonds.f.period_end"), type: "date", testid: "security-period-end" }),
        field({ name: "claim_deadline", label: t("bonds.f.claim_deadline"), type: "date", testid: "security-claim" }),
        receiptField(),
        h("div", { class: "form-actions" }, save),
      )
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      await busy(save, async () => {
        const data = new FormData(form);
        /** @type {Record<string, unknown>} */
        const out = { work_id: workId };
        for (const [k, v] of data.entries()) {
          if (typeof v !== "string") continue;
          const s = v.trim();
          if (s) out[k] = k === "amount" ? Number(s) : s;
        }
        if (receipts.length) out.receipt_ids = receipts.map((r) => r.id);
        try {
          await api.post("/bonds/securities", out);
          toast(t("common.saved"), "ok");
          await refresh();
        } catch (err) {
          showFormErrors(form, err);
        }
      });
    });
    return form;
  }
  await refresh();
}
