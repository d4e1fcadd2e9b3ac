// Register a bond (#/bonds/new[?carry=<reservation id>]): the issuer sets the contents and, for
// bid bonds and reservations, its own 開札日時 (F01<1>: ボンド情報登録時に 1.ボンドの記載内容
// 2.開札日時 を設定する). With ?carry= the reservation's data fill the performance bond
// (F02<1> 予約時の情報を引き継ぐ). A paper bond's amount may be entered for the balances.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { navigate } from "../router.js";
import { busy, clear, errorBox, field, formError, h, loading, pageHeader, selectField, showFormErrors } from "../ui.js";
import { bondNav, bondStyles } from "./bonds.js";

const KINDS = ["bid_bond", "performance_reservation", "performance_bond", "performance_insurance", "financial_guarantee"];
const SEALED = ["bid_bond", "performance_reservation"];

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  bondStyles();
  const q = params.query || {};
  root.append(pageHeader(t("bonds.new_title")), bondNav(ctx.session, "#/bonds/new"));
  const body = h("div", {}, loading());
  root.append(body);
  /** @type {{ id: string, kind: string, name: string }[]} */
  let parties;
  /** @type {Record<string, unknown>} */
  let carried = {};
  try {
    parties = await api.get("/bonds/parties");
    if (q.carry) carried = await api.get(`/bonds/${encodeURIComponent(q.carry)}/carry`);
  } catch (err) {
    clear(body).append(errorBox(err));
    return;
  }
  const pre = (/** @type {string} */ k, /** @type {string} */ d = "") => (carried[k] === undefined || carried[k] === null ? d : String(carried[k]));
  const of = (/** @type {string} */ kind) => parties.filter((p) => p.kind === kind).map((p) => ({ value: p.id, label: p.name }));
  const kindSel = selectField({ name: "kind", label: t("bonds.f.kind"), value: pre("kind", "bid_bond"), required: true, testid: "bond-kind", options: KINDS.map((k) => ({ value: k, label: t(`bonds.kind.${k}`) })) });
  const opening = field({ name: "opening_at", label: t("bonds.f.opening_at"), type: "datetime-local", testid: "bond-opening", hint: t("bonds.opening_hint") });
  const save = h("button", { type: "submit", class: "btn primary", "data-testid": "bond-save" }, t("bonds.save"));
  const form = /** @type {HTMLFormElement} */ (
    h(
      "form",
      { class: "card form-grid", novalidate: true, "data-testid": "bond-form" },
      formError(),
      kindSel,
      h("div", { class: "field check" }, h("label", {}, h("input", { type: "checkbox", name: "paper", "data-testid": "bond-paper" }), " ", t("bonds.paper"))),
      field({ name: "certificate_no", label: t("bonds.f.certificate_no"), required: true, testid: "bond-certificate-no" }),
      selectField({ name: "obligor_org_id", label: t("bonds.f.obligor"), value: pre("obligor_org_id"), required: true, blank: "—", testid: "bond-obligor", options: of("contractor") }),
      selectField({ name: "obligee_org_id", label: t("bonds.f.obligee"), value: pre("obligee_org_id"), required: true, blank: "—", testid: "bond-obligee", options: of("orderer") }),
      field({ name: "work_number", label: t("bonds.f.work_number"), value: pre("work_number"), required: true, testid: "bond-work-number", hint: t("bonds.work_number_hint") }),
      field({ name: "work_title", label: t("bonds.f.work_title"), value: pre("work_title"), required: true, testid: "bond-work-title" }),
      field({ name: "amount", label: t("bonds.f.amount"), type: "number", value: pre("amount"), required: true, testid: "bond-amount-input", attrs: { min: 1, inputmode: "numeric" } }),
      field({ name: "contract_amount", label: t("bonds.f.contract_amount"), type: "number", value: pre("contract_amount"), testid: "bond-contract-amount", attrs: { min: 1 } }),
      field({ name: "period_start", label: t("bonds.f.period_start"), type: "date", value: pre("period_start"), required: true, testid: "bond-period-start" }),
      field({ name: "period_end", label: t("bonds.f.period_end"), type: "date", value: pre("period_end"), required: true, testid: "bond-period-end" }),
      field({ name: "claim_deadline", label: t("bonds.f.claim_deadline"), type: "date", value: pre("claim_deadline"), testid: "bond-claim-deadline" }),
      field({ name: "premium", label: t("bonds.f.premium"), type: "number", value: pre("premium", "0"), testid: "bond-premium", attrs: { min: 0 } }),
      field({ name: "issued_on", label: t("bonds.f.issued_on"), type: "date", value: pre("issued_on"), required: true, testid: "bond-issued-on" }),
      opening,
      field({ name: "conditions", label: t("bonds.f.conditions"), type: "textarea", value: pre("conditions"), testid: "bond-conditions" }),
      h("div", { class: "form-actions" }, save),
    )
  );
  const kindInput = /** @type {HTMLSelectElement} */ (kindSel.querySelector("select"));
  const sync = () => {
    opening.hidden = !SEALED.includes(kindInput.value);
  };
  kindInput.addEventListener("change", sync);
  sync();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await busy(save, async () => {
      const v = (/** @type {string} */ n) => {
        const el = form.elements.namedItem(n);
        return el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement ? el.value.trim() : "";
      };
      const paper = form.elements.namedItem("paper");
      /** @type {Record<string, unknown>} */
      const data = {
        kind: v("kind"),
        paper: paper instanceof HTMLInputElement && paper.checked,
        certificate_no: v("certificate_no"),
        obligor_org_id: v("obligor_org_id"),
        obligee_org_id: v("obligee_org_id"),
        work_number: v("work_number"),
        work_title: v("work_title"),
        amount: v("amount") === "" ? null : Number(v("amount")),
        period_start: v("period_start") || null,
        period_end: v("period_end") || null,
        premium: Number(v("premium") || 0),
        issued_on: v("issued_on") || null,
        conditions: v("conditions"),
      };
      if (v("contract_amount")) data.contract_amount = Number(v("contract_amount"));
      if (v("claim_deadline")) data.claim_deadline = v("claim_deadline");
      if (SEALED.includes(v("kind")) && v("opening_at")) data.opening_at = new Date(v("opening_at")).toISOString();
      if (q.carry) data.reservation_id = q.carry;
      try {
        /** @type {Kura.Bond} */
        const made = await api.post("/bonds", data);
        navigate(`#/bonds/${encodeURIComponent(made.id)}`);
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });
  clear(body).append(form);
}
