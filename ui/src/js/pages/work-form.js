// Work create / edit form (used by works.js "新規登録" and work.js "編集"), plus the helpers
// both pages share: who may manage a work, API error → field mapping, the stale-version notice.
//
//   import { workForm, canCreateWork, canManageWork, showApiErrors } from "./work-form.js";
//   const form = await workForm({ work, session, onSaved: (saved) => ..., onCancel });
//     work: null → POST /works; a WorkRead → PATCH /works/<id> with its version (changed fields only)
// The API answers 422 with `errors[].loc` (nested: location.address), 400 validation_failed with a
// Japanese detail and no field name, 409 stale_version / duplicate: each lands next to its field
// when one can be named; the form is never cleared on error.
import { api, ApiError } from "../api.js";
import { fmtNumber, t, tk } from "../i18n.js";
import { parseAmount, parseDate } from "../components/dates.js";
import { isOperator } from "../router.js";
import { busy, control, field, formError, h, selectField, showFormErrors } from "../ui.js";
import { loadOrgs } from "./admin-users.js";

/**
 * What showApiErrors() reads of an error: an ApiError, or one the page makes up.
 * @typedef {Pick<ApiError, "status" | "code" | "title" | "detail" | "problem" | "fields">} ApiErrorLike
 */

/**
 * The form's values as the API takes them (POST /works; PATCH sends the changed ones).
 * @typedef {object} WorkValues
 * @property {string} kind
 * @property {string} title
 * @property {string} number
 * @property {string | null} office_id
 * @property {string} period_start
 * @property {string} period_end
 * @property {{ address: string, municipality_code: string }} location
 * @property {string | null} business_type
 * @property {string | null} category
 * @property {number | null} planned_price
 * @property {number | null} contract_price
 * @property {string | null} bid_opening_at
 * @property {string[]} contractor_org_ids
 * @property {string} [orderer_org_id] (create only)
 */

const KINDS = ["construction", "service"];
const OPTIONAL = ["office_id", "business_type", "category", "planned_price", "contract_price", "bid_opening_at"];

// 400 validation_failed details carry no field name: the service's messages name it for us.
/** @type {[string, string][]} */
const DETAIL_FIELDS = [
  ["工期", "period_end"],
  ["業種", "business_type"],
  ["発注機関", "orderer_org_id"],
  ["事務所", "office_id"],
  ["受注者", "contractor_org_ids"],
  ["市区町村", "location.municipality_code"],
  ["利用者", "user"],
  ["監督員", "role"],
  ["発注者コード", "code"],
  ["法人番号", "corporate_number"],
];

/**
 * May this session create works (operators, the orderer's works.create holders)?
 * @param {Kura.Session | null} session
 * @returns {boolean}
 */
export function canCreateWork(session) {
  return !!session && (isOperator(session) || (session.org_kind === "orderer" && (session.grants || []).includes("works.create")));
}

/**
 * Mirrors the policy's editors: operators, the orderer's works.manage holders, supervisors.
 * @param {Kura.Session | null} session
 * @param {Kura.Work | null} work
 * @param {string | null | undefined} myRole the session user's role among the work's members
 * @returns {boolean}
 */
export function canManageWork(session, work, myRole) {
  if (!session || !work || work.status === "archived") return false;
  if (isOperator(session)) return true;
  const ownOrderer = session.user && session.user.org_id === work.orderer_org_id;
  return (ownOrderer && (session.grants || []).includes("works.manage")) || myRole === "supervisor";
}

/**
 * An ApiError with its messages keyed by the form's field names (nested loc joined by ".").
 * @param {ApiErrorLike} err
 * @param {[string, string][]} [details] a word of a 400 detail → the field it names
 * @returns {{ status: number, code: string, title: string, detail: string, fields: Map<string, string> }}
 */
function mapped(err, details = DETAIL_FIELDS) {
  /** @type {Map<string, string>} */
  const fields = new Map();
  for (const e of (err.problem && err.problem.errors) || []) {
    const loc = (e.loc || []).filter((x) => x !== "body" && x !== "query" && x !== "path");
    const full = loc.filter((x) => typeof x === "string").join(".");
    const short = loc.length ? String(loc[0]) : "";
    const own = t(`validation.${e.type}`);
    const said = String(e.msg || "").replace(/^Value error, /, "");
    const msg = e.type === "value_error" && said ? said : own !== `validation.${e.type}` ? own : err.fields.get(short) || t("validation.invalid");
    if (full && !fields.has(full)) fields.set(full, msg);
  }
  for (const [k, v] of err.fields) if (![...fields.keys()].some((f) => f === k || f.startsWith(`${k}.`))) fields.set(k, v);
  if (!fields.size && err.status === 400) {
    const hit = details.find(([word]) => (err.detail || "").includes(word));
    if (hit) fields.set(hit[1], err.detail);
  }
  if (err.code === "duplicate" && (fields.has("orderer_org_id") || fields.has("number"))) {
    fields.delete("orderer_org_id");
    fields.set("number", t("workform.duplicate_number"));
  }
  return { status: err.status, code: err.code, title: err.title, detail: err.detail, fields };
}

/**
 * Show an ApiError on a form: fields next to inputs; a stale version gets a reload action.
 * @param {HTMLFormElement} form
 * @param {ApiErrorLike} err (ApiError.from() for a caught error)
 * @param {{ onReload?: () => void, details?: [string, string][] }} [options]
 */
export function showApiErrors(form, err, { onReload, details } = {}) {
  const m = mapped(err, details);
  // a field named in the message but absent from the form goes to the box
  const present = new Map([...m.fields].filter(([k]) => form.querySelector(`.field[data-field="${CSS.escape(k)}"]`)));
  showFormErrors(form, { ...m, fields: present.size ? m.fields : new Map() });
  if (err.code === "stale_version" && onReload) {
    const box = form.querySelector("[data-form-error]");
    box?.append(
      h("p", { class: "small" }, t("workform.stale_hint")),
      h("button", { type: "button", class: "btn small", "data-testid": "stale-reload", onclick: onReload }, t("workform.reload")),
    );
  }
}

/**
 * An ISO timestamp as a datetime-local value in Japan time ("2026-04-01T09:30"); "" for none.
 * @param {string | null | undefined} iso
 * @returns {string}
 */
function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const jst = new Date(d.getTime() + 9 * 3600 * 1000);
  return jst.toISOString().slice(0, 16);
}

/**
 * A datetime-local value (Japan time) as an ISO timestamp; null for none.
 * @param {string} value
 * @returns {string | null}
 */
function fromLocalInput(value) {
  return value ? `${value}:00+09:00` : null;
}

/** @returns {Promise<{ code: string, name: string, active?: boolean }[]>} the active 業種 */
async function loadBusinessTypes() {
  try {
    /** @type {{ code: string, name: string, active?: boolean }[]} */
    const list = await api.get("/master/business-types");
    return list.filter((b) => b.active !== false);
  } catch {
    return [];
  }
}

/**
 * @typedef {object} WorkFormOptions
 * @property {Kura.Work | null} [work] the work to edit; none: a new one
 * @property {Kura.Session} session
 * @property {(saved: Kura.Work) => void} [onSaved]
 * @property {() => void} [onCancel]
 */

/**
 * The work form (see the top of this file).
 * @param {WorkFormOptions} options
 * @returns {Promise<HTMLFormElement>}
 */
export async function workForm({ work = null, session, onSaved, onCancel }) {
  const editing = Boolean(work);
  /** @type {Partial<Kura.Work>} */
  const w = work || {};
  const [orgs, btypes] = await Promise.all([loadOrgs().catch(() => []), loadBusinessTypes()]);
  /** @type {{ id: string, name: string }[]} */
  const orderers = orgs.filter((o) => o.kind === "orderer");
  /** @type {{ id: string, name: string }[]} */
  const contractors = orgs.filter((o) => o.kind === "contractor");
  if (!isOperator(session) && session.user && !orderers.some((o) => o.id === session.user.org_id)) {
    orderers.push({ id: session.user.org_id, name: session.user.org_id });
  }
  const known = new Set(contractors.map((o) => o.id));
  for (const id of w.contractor_org_ids || []) if (!known.has(id)) contractors.push({ id, name: id });
  const chosen = new Set(w.contractor_org_ids || []);
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "work-form-submit" }, editing ? t("common.save") : t("common.create"));

  const contractorBox = h(
    "fieldset",
    { class: "field checks", "data-field": "contractor_org_ids", "data-testid": "work-form-contractors" },
    h("legend", {}, t("work.contractors")),
    contractors.length
      ? h(
          "div",
          { class: "check-row" },
          contractors.map((o) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "contractor_org_ids", value: o.id, checked: chosen.has(o.id) }), o.name)),
        )
      : h("p", { class: "small muted" }, t("workform.no_contractors")),
    h("p", { class: "field-error", role: "alert", hidden: true }),
  );
  const officeSel = selectField({ name: "office_id", label: t("work.office"), value: w.office_id || "", blank: t("workform.none"), options: [], testid: "work-form-office" });

  const form = h(
    "form",
    { class: "card", novalidate: true, "data-testid": "work-form", "aria-label": editing ? t("workform.edit") : t("workform.new") },
    h("h2", {}, editing ? t("workform.edit") : t("workform.new")),
    formError(),
    h(
      "div",
      { class: "form-grid" },
      selectField({ name: "kind", label: t("work.kind"), required: true, value: w.kind || "construction", options: KINDS.map((k) => ({ value: k, label: t(`kind.${k}`) })), testid: "work-form-kind" }),
      field({ name: "title", label: t("workform.title"), required: true, value: w.title || "", testid: "work-form-title" }),
      field({ name: "number", label: t("work.number"), required: true, value: w.number || "", testid: "work-form-number" }),
      editing
        ? null
        : selectField({ name: "orderer_org_id", label: t("work.orderer"), required: true, value: isOperator(session) ? orderers[0]?.id : session.user.org_id, options: orderers.map((o) => ({ value: o.id, label: o.name })), testid: "work-form-orderer" }),
      officeSel,
      field({ name: "period_start", label: tk("workform.period_start", w.kind), required: true, value: w.period_start || "", testid: "work-form-period-start", hint: t("form.date_hint"), attrs: { class: "date-text", autocomplete: "off" } }),
      field({ name: "period_end", label: tk("workform.period_end", w.kind), required: true, value: w.period_end || "", testid: "work-form-period-end", hint: t("form.date_hint"), attrs: { class: "date-text", autocomplete: "off" } }),
      field({ name: "location.address", label: tk("work.location", w.kind), required: true, value: (w.location || {}).address || "", testid: "work-form-address" }),
      field({ name: "location.municipality_code", label: t("workform.municipality"), required: true, value: (w.location || {}).municipality_code || "", testid: "work-form-municipality", hint: t("workform.municipality_hint"), attrs: { inputmode: "numeric" } }),
      selectField({ name: "business_type", label: t("work.business_type"), value: w.business_type || "", blank: t("workform.none"), options: btypes.map((b) => ({ value: b.code, label: b.name })), testid: "work-form-business-type" }),
      field({ name: "category", label: t("work.category"), value: w.category || "", testid: "work-form-category" }),
      field({ name: "planned_price", label: t("workform.planned_price"), value: w.planned_price !== null && w.planned_price !== undefined ? fmtNumber(w.planned_price) : "", testid: "work-form-planned-price", hint: t("form.amount_hint"), attrs: { inputmode: "numeric", class: "amount" } }),
      field({ name: "contract_price", label: t("workform.contract_price"), value: w.contract_price !== null && w.contract_price !== undefined ? fmtNumber(w.contract_price) : "", testid: "work-form-contract-price", hint: t("form.amount_hint"), attrs: { inputmode: "numeric", class: "amount" } }),
      field({ name: "bid_opening_at", label: t("workform.bid_opening"), type: "datetime-local", value: toLocalInput(w.bid_opening_at), testid: "work-form-bid-opening" }),
    ),
    contractorBox,
    h(
      "div",
      { class: "form-actions" },
      submit,
      h("button", { type: "button", class: "btn", "data-testid": "work-form-cancel", onclick: () => onCancel && onCancel() }, t("common.cancel")),
    ),
  );
  /** @param {string} name */
  const f = (name) => control(form, name);

  /** @param {string | undefined} orgId */
  async function loadOffices(orgId) {
    const sel = officeSel.querySelector("select");
    if (!sel) return;
    const keep = sel.value || w.office_id || "";
    while (sel.options.length > 1) sel.remove(1);
    if (!orgId) return;
    try {
      /** @type {Kura.Page<Kura.Office>} */
      const page = await api.get(`/organizations/${encodeURIComponent(orgId)}/offices`, { limit: 200 });
      for (const o of page.items) sel.append(h("option", { value: o.id, selected: o.id === keep }, o.name));
    } catch {
      /* offices of an org the user may not read: the select stays empty */
    }
  }
  // 工事 / 業務 words follow the kind chosen (工期 ↔ 履行期間, 施工場所 ↔ 履行場所)
  f("kind").addEventListener("change", () => {
    for (const [name, key] of [["period_start", "workform.period_start"], ["period_end", "workform.period_end"], ["location.address", "work.location"]]) {
      const label = form.querySelector(`.field[data-field="${name}"] label`);
      if (label && label.firstChild) label.firstChild.textContent = tk(key, f("kind").value);
    }
  });
  const ordererId = () => (editing ? w.orderer_org_id : f("orderer_org_id").value);
  if (!editing) f("orderer_org_id").addEventListener("change", () => loadOffices(ordererId()));
  await loadOffices(ordererId());

  /** @returns {WorkValues} */
  function values() {
    /** @param {string} name */
    const text = (name) => f(name).value.trim();
    /** @param {string} name amounts with commas or full-width digits (12,500,000円) */
    const num = (name) => (text(name) === "" ? null : (parseAmount(text(name)) ?? Number.NaN));
    /** @param {string} name dates as Western or 和暦 (令和8年4月1日, R8.4.1); "" when not one */
    const day = (name) => (text(name) === "" ? "" : (parseDate(text(name)) ?? `!${text(name)}`));
    /** @type {WorkValues} */
    const out = {
      kind: f("kind").value,
      title: text("title"),
      number: text("number"),
      office_id: f("office_id").value || null,
      period_start: day("period_start"),
      period_end: day("period_end"),
      location: { address: text("location.address"), municipality_code: text("location.municipality_code") },
      business_type: f("business_type").value || null,
      category: text("category") || null,
      planned_price: num("planned_price"),
      contract_price: num("contract_price"),
      bid_opening_at: fromLocalInput(f("bid_opening_at").value),
      contractor_org_ids: [...form.querySelectorAll('input[name="contractor_org_ids"]:checked')].filter((x) => x instanceof HTMLInputElement).map((x) => x.value),
    };
    if (!editing) out.orderer_org_id = ordererId();
    return out;
  }

  // Checks the API would make too, done first so the message sits by the field at once.
  /**
   * @param {WorkValues} v
   * @returns {Map<string, string>}
   */
  function localErrors(v) {
    /** @type {Map<string, string>} */
    const fields = new Map();
    for (const name of /** @type {const} */ (["title", "number", "period_start", "period_end"])) if (!v[name]) fields.set(name, t("validation.missing"));
    if (!v.location.address) fields.set("location.address", t("validation.missing"));
    if (!v.location.municipality_code) fields.set("location.municipality_code", t("validation.missing"));
    for (const name of /** @type {const} */ (["period_start", "period_end"])) if (v[name].startsWith("!")) fields.set(name, t("form.date_invalid"));
    for (const name of /** @type {const} */ (["planned_price", "contract_price"])) if (Number.isNaN(v[name])) fields.set(name, t("form.amount_invalid"));
    if (v.period_start && v.period_end && !fields.has("period_start") && !fields.has("period_end") && v.period_start > v.period_end) fields.set("period_end", t("workform.period_order"));
    return fields;
  }

  /**
   * The request body: every value for a new work; for an edit, the changed ones and the version.
   * @param {WorkValues} v
   * @returns {Record<string, unknown>}
   */
  function body(v) {
    if (!editing) {
      /** @type {Record<string, unknown>} */
      const out = { ...v };
      for (const k of OPTIONAL) if (out[k] === null) delete out[k];
      return out;
    }
    /** @type {Record<string, unknown>} */
    const out = { version: w.version };
    /** @type {Record<string, unknown>} */
    const old = { ...w };
    for (const [k, val] of Object.entries(v)) {
      const before = k === "location" ? { address: w.location?.address, municipality_code: w.location?.municipality_code } : k === "contractor_org_ids" ? [...(w.contractor_org_ids || [])].sort() : (old[k] ?? null);
      const after = k === "contractor_org_ids" && Array.isArray(val) ? [...val].sort() : val;
      if (k === "bid_opening_at" && toLocalInput(w.bid_opening_at) === toLocalInput(v.bid_opening_at)) continue;
      if (JSON.stringify(before) !== JSON.stringify(after)) out[k] = val;
    }
    return out;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = values();
    const local = localErrors(v);
    if (local.size) {
      showFormErrors(form, { fields: local, detail: t("error.form"), title: t("error.form") });
      return;
    }
    await busy(submit, async () => {
      try {
        const saved = editing ? await api.patch(`/works/${encodeURIComponent(w.id ?? "")}`, body(v)) : await api.post("/works", body(v));
        onSaved && onSaved(saved);
      } catch (err) {
        showApiErrors(form, ApiError.from(err), { onReload: () => window.dispatchEvent(new HashChangeEvent("hashchange")) });
      }
    });
  });
  return form;
}
