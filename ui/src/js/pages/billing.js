// Billing (#/billing?tab=<tab>): the operator's, municipalities' and contractors' pages of the
// 利用手続き (seed 000 手続きフロー). Each party sees its own tabs:
//   operator:     dashboard (chart of the fiscal years), agreements, requests, applications,
//                 invoices, payments (entry and bank CSV), tariffs, sandboxes (trial environments)
//   municipality: agreement (with both deadlines), requests (様式情運-1), invoices and payment
//                 status, roster (発注者情報の登録), applications on its works
//   contractor:   applications (利用申込書, fee, status, one-time passwords), invoices
// Money arrives as integers of yen and is shown as it was computed by the server.
import { api, apiUrl } from "../api.js";
import { fmtDate, fmtNumber, t } from "../i18n.js";
import { busy, clear, empty, errorBox, errorMessage, field, formError, h, pageHeader, selectField, showFormErrors, toast } from "../ui.js";

/** @typedef {Record<string, any>} Rec an API record as the server sends it */

const UPLOT = "/vendor/uplot/uPlot.esm.js"; // copied from the uplot package by build.mjs

const TABS = {
  operator: ["dashboard", "agreements", "requests", "applications", "invoices", "payments", "tariffs", "sandboxes"],
  orderer: ["agreement", "requests", "invoices", "roster", "applications"],
  contractor: ["applications", "invoices"],
};

/** @param {number | null | undefined} n */
const yen = (n) => (n === null || n === undefined ? "" : `${fmtNumber(n)} ${t("billing.yen")}`);

function ensureStyles() {
  if (document.getElementById("billing-css")) return;
  document.head.append(h("link", { id: "billing-css", rel: "stylesheet", href: "css/billing.css" }));
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureStyles();
  const kind = /** @type {keyof typeof TABS} */ (ctx.session?.org_kind || "orderer");
  const tabs = TABS[kind] || TABS.orderer;
  const tab = tabs.includes(params.query.tab) ? params.query.tab : tabs[0];
  root.append(
    pageHeader(t("billing.title")),
    h(
      "nav",
      { class: "billing-tabs", "aria-label": t("billing.tabs") },
      h(
        "ul",
        {},
        tabs.map((name) =>
          h("li", {}, h("a", { href: `#/billing?tab=${name}`, "data-testid": `billing-tab-${name}`, "aria-current": name === tab ? "page" : null }, t(`billing.tab.${name}`))),
        ),
      ),
    ),
  );
  const body = h("section", { class: "billing-body", "aria-labelledby": "billing-section-title" }, h("h2", { id: "billing-section-title" }, t(`billing.tab.${tab}`)));
  root.append(body);
  const draw = SECTIONS[tab];
  try {
    await draw(body, kind);
  } catch (e) {
    body.append(errorBox(e));
  }
}

/** @type {Record<string, (el: HTMLElement, kind: string) => Promise<void>>} */
const SECTIONS = {
  dashboard,
  agreements: operatorAgreements,
  agreement: ownAgreement,
  requests,
  applications,
  invoices,
  payments,
  tariffs,
  sandboxes,
  roster,
};

/**
 * A data table with a caption.
 * @param {string} caption
 * @param {string[]} columns
 * @param {Kura.Child[][]} rows
 * @param {{ testid?: string, numeric?: number[] }} [options]
 */
function table(caption, columns, rows, { testid, numeric = [] } = {}) {
  if (!rows.length) return empty(t("billing.none"));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data", "data-testid": testid },
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, columns.map((c, i) => h("th", { scope: "col", class: numeric.includes(i) ? "num" : null }, c)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { class: numeric.includes(i) ? "num" : null }, c))))),
    ),
  );
}

/** @param {string} state */
const stateBadge = (state) => h("span", { class: `badge state-${state}`, "data-state": state }, t(`billing.state.${state}`));

/**
 * Links to the printed forms of a record (PDF, opened in a new tab).
 * @param {Rec[] | undefined} docs
 */
function docLinks(docs) {
  return h(
    "span",
    { class: "doc-links" },
    (docs || []).map((d) =>
      h("a", { href: apiUrl(`/billing/documents/${d.id}/pdf`), target: "_blank", rel: "noopener", "data-testid": `doc-${d.form}` }, `${d.title}（${d.number}）`),
    ),
  );
}

/**
 * A button that runs an action and redraws the section.
 * @param {string} label
 * @param {string} testid
 * @param {() => Promise<unknown>} action
 * @param {() => void} after
 */
function actionButton(label, testid, action, after) {
  /** @type {HTMLButtonElement} */
  const b = h("button", { type: "button", class: "btn small", "data-testid": testid }, label);
  b.addEventListener("click", () =>
    busy(b, async () => {
      try {
        await action();
        toast(t("billing.done"), "ok");
        after();
      } catch (e) {
        toast(errorMessage(e), "error");
      }
    }),
  );
  return b;
}

/** Redraw the current tab. */
function reload() {
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

// ---- operator --------------------------------------------------------------------------------

/** @param {HTMLElement} el */
async function dashboard(el) {
  /** @type {{ years: Rec[], fiscal_year: number, today: string }} */
  const data = await api.get("/billing/dashboard", { years: 10 });
  const chartBox = h("div", { class: "billing-chart", "data-testid": "billing-chart", "aria-hidden": "true" });
  /** @type {HTMLFormElement} */
  const run = h(
    "form",
    { class: "card run-form", novalidate: true, "data-testid": "billing-run-form", "aria-label": t("billing.run") },
    formError(),
    field({ name: "fiscal_year", label: t("billing.fiscal_year"), type: "number", value: data.fiscal_year, required: true, testid: "billing-run-fy", attrs: { min: "2000", max: "2200" } }),
    h("button", { type: "submit", class: "btn primary", "data-testid": "billing-run-submit" }, t("billing.run")),
    h("p", { class: "run-result", role: "status", "data-testid": "billing-run-result" }),
  );
  run.addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = run.querySelector(".run-result");
    try {
      const fy = Number(/** @type {HTMLInputElement} */ (run.elements.namedItem("fiscal_year")).value);
      const res = await api.post("/billing/runs/annual", { fiscal_year: fy });
      if (out) out.textContent = t("billing.run_result", { created: res.created, skipped: res.skipped });
    } catch (err) {
      showFormErrors(run, err);
    }
  });
  const rows = data.years.map((y) => [
    `${y.fiscal_year}${t("billing.fy_suffix")}`,
    yen(y.billed),
    yen(y.credited),
    yen(y.collected_in_closing),
    yen(y.collected_late),
    yen(y.outstanding),
    yen(y.overdue),
  ]);
  el.append(
    h("p", { class: "hint" }, t("billing.dashboard_hint")),
    chartBox,
    table(t("billing.tab.dashboard"), [t("billing.fiscal_year"), t("billing.billed"), t("billing.credited"), t("billing.collected_in_closing"), t("billing.collected_late"), t("billing.outstanding"), t("billing.overdue")], rows, { testid: "billing-years", numeric: [1, 2, 3, 4, 5, 6] }),
    h("h3", {}, t("billing.run")),
    run,
    h("p", {}, h("a", { href: apiUrl(`/billing/reports/${data.fiscal_year}`, { format: "csv" }), "data-testid": "billing-report-csv" }, t("billing.report_csv")), " ", h("a", { href: apiUrl(`/billing/reports/${data.fiscal_year}`, { format: "xlsx" }) }, t("billing.report_xlsx"))),
  );
  await drawChart(chartBox, data.years);
}

/**
 * The fiscal years as bars (uPlot, vendored by build.mjs); the table beside it carries the
 * same figures for assistive technology.
 * @param {HTMLElement} box
 * @param {Rec[]} years
 */
async function drawChart(box, years) {
  if (!document.getElementById("uplot-css")) document.head.append(h("link", { id: "uplot-css", rel: "stylesheet", href: "vendor/uplot/uPlot.min.css" }));
  /** @type {typeof import("uplot")} */
  const uPlot = (await import(UPLOT)).default;
  const xs = years.map((y) => y.fiscal_year);
  const width = Math.max(320, Math.min(box.clientWidth || 900, 1100));
  /** @param {-1 | 1} align */
  const bars = (align) => (uPlot.paths.bars ? uPlot.paths.bars({ size: [0.35, 36], align }) : undefined);
  new uPlot(
    {
      width,
      height: 260,
      legend: { show: true },
      scales: { x: { time: false, range: (_u, min, max) => [min - 0.6, max + 0.6] } },
      axes: [
        { incrs: [1], values: (_u, v) => v.map((x) => `${x}${t("billing.fy_suffix")}`) },
        { values: (_u, v) => v.map((x) => fmtNumber(x)), size: 90 },
      ],
      series: [
        { label: t("billing.fiscal_year"), value: (_u, v) => (v === null ? "" : `${v}${t("billing.fy_suffix")}`) },
        { label: t("billing.billed"), stroke: "#2f6f4f", fill: "rgba(47,111,79,0.6)", paths: bars(-1), value: (_u, v) => fmtNumber(v) },
        { label: t("billing.collected"), stroke: "#3b5b9a", fill: "rgba(59,91,154,0.6)", paths: bars(1), value: (_u, v) => fmtNumber(v) },
        { label: t("billing.overdue"), stroke: "#a33b2b", width: 2, points: { show: true, size: 7 }, value: (_u, v) => fmtNumber(v) },
      ],
    },
    [xs, years.map((y) => y.billed), years.map((y) => y.collected), years.map((y) => y.overdue)],
    box,
  );
}

/** @param {HTMLElement} el */
async function operatorAgreements(el) {
  /** @type {Rec[]} */
  const items = await api.get("/billing/agreements");
  el.append(
    table(
      t("billing.tab.agreements"),
      [t("billing.party"), t("billing.systems"), t("billing.term"), t("billing.deadlines"), t("billing.status"), ""],
      items.map((a) => [
        a.org_name,
        systems(a.systems),
        a.term_ends_on ? `${fmtDate(a.starts_on)} 〜 ${fmtDate(a.term_ends_on)}` : fmtDate(a.starts_on),
        deadlines(a),
        stateBadge(a.state),
        h(
          "span",
          { class: "row-actions" },
          a.state === "applied" ? actionButton(t("billing.conclude"), "billing-conclude", () => api.post(`/billing/agreements/${a.id}/conclude`, {}), reload) : null,
          a.state === "terminating" && !a.stop_notice ? actionButton(t("billing.stop_notice"), "billing-stop-notice", () => api.post(`/billing/agreements/${a.id}/stop-notice`), reload) : null,
          a.state === "active" ? actionButton(t("billing.terminate_late"), "billing-terminate-late", () => api.post(`/billing/agreements/${a.id}/terminate`, { reason: t("billing.late_reason") }), reload) : null,
        ),
      ]),
      { testid: "billing-agreements" },
    ),
  );
}

/** @param {string[]} list */
const systems = (list) => (list || []).map((s) => t(`billing.system.${s}`)).join("・");

/** @param {Rec} a */
function deadlines(a) {
  if (!a.termination_notice_by) return "";
  return h(
    "span",
    { class: "deadlines" },
    h("span", {}, `${t("billing.termination_notice_by")}：${fmtDate(a.termination_notice_by)}`),
    h("span", {}, `${t("billing.renewal_declaration_by")}：${fmtDate(a.renewal_declaration_by)}`),
  );
}

// ---- municipality: the agreement ------------------------------------------------------------

/** @param {HTMLElement} el */
async function ownAgreement(el) {
  /** @type {Rec[]} */
  const items = await api.get("/billing/agreements");
  const current = items.find((a) => ["applied", "active", "terminating"].includes(a.state));
  if (current) {
    const detail = await api.get(`/billing/agreements/${current.id}`);
    el.append(
      h(
        "dl",
        { class: "billing-facts", "data-testid": "billing-agreement" },
        h("dt", {}, t("billing.status")),
        h("dd", {}, stateBadge(detail.state)),
        h("dt", {}, t("billing.systems")),
        h("dd", {}, systems(detail.systems)),
        h("dt", {}, t("billing.term")),
        h("dd", {}, detail.term_ends_on ? `${fmtDate(detail.starts_on)} 〜 ${fmtDate(detail.term_ends_on)}` : fmtDate(detail.starts_on)),
        detail.termination_notice_by ? [h("dt", {}, t("billing.termination_notice_by")), h("dd", { "data-testid": "billing-termination-by" }, fmtDate(detail.termination_notice_by))] : null,
        detail.renewal_declaration_by ? [h("dt", {}, t("billing.renewal_declaration_by")), h("dd", { "data-testid": "billing-renewal-by" }, fmtDate(detail.renewal_declaration_by))] : null,
      ),
      h("p", { class: "hint" }, t("billing.deadlines_hint")),
    );
    if (detail.state === "active") {
      el.append(
        h("h3", {}, t("billing.terminate")),
        h("p", {}, t("billing.terminate_hint")),
        actionButton(t("billing.terminate"), "billing-terminate", () => api.post(`/billing/agreements/${current.id}/terminate`, { reason: "" }), reload),
      );
    }
    return;
  }
  /** @type {Rec[]} */
  const tables = await api.get("/billing/tariffs");
  const fees = (tables[0]?.items || []).map((/** @type {Rec} */ i) => [i.label, yen(i.unit_price), `${i.tax_rate}%`]);
  /** @type {HTMLFormElement} */
  const form = h(
    "form",
    { class: "card", novalidate: true, "data-testid": "billing-agreement-form", "aria-label": t("billing.apply") },
    h("p", {}, t("billing.apply_hint")),
    formError(),
    h(
      "fieldset",
      { class: "field" },
      h("legend", {}, t("billing.systems")),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "collab", checked: true, disabled: true }), t("billing.system.collab")),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "archive", "data-testid": "billing-apply-archive" }), t("billing.system.archive")),
    ),
    field({ name: "starts_on", label: t("billing.starts_on"), type: "date", required: true, testid: "billing-apply-start" }),
    field({ name: "contact_name", label: t("billing.contact"), testid: "billing-apply-contact" }),
    h("button", { type: "submit", class: "btn primary", "data-testid": "billing-apply-submit" }, t("billing.apply")),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const get = (/** @type {string} */ n) => /** @type {HTMLInputElement} */ (form.elements.namedItem(n));
    const body = {
      systems: get("archive").checked ? ["collab", "archive"] : ["collab"],
      starts_on: get("starts_on").value,
      contact: { name: get("contact_name").value },
    };
    try {
      await api.post("/billing/agreements", body);
      toast(t("billing.applied"), "ok");
      reload();
    } catch (err) {
      showFormErrors(form, err);
    }
  });
  el.append(h("h3", {}, t("billing.fees")), table(t("billing.fees"), [t("billing.item"), t("billing.unit_price"), t("billing.tax_rate")], fees, { numeric: [1] }), form);
}

// ---- requests -----------------------------------------------------------------------------------

/**
 * @param {HTMLElement} el
 * @param {string} kind
 */
async function requests(el, kind) {
  /** @type {Rec[]} */
  const items = await api.get("/billing/requests");
  const operator = kind === "operator";
  el.append(
    table(
      t("billing.tab.requests"),
      [t("billing.number"), operator ? t("billing.party") : null, t("billing.work"), t("billing.period"), t("billing.status"), t("billing.approval_number"), ""].filter((c) => c !== null),
      items.map((r) =>
        [
          r.number,
          operator ? r.org_name : null,
          `${r.work.number} ${r.work.title}`,
          `${fmtDate(r.work.period_start)} 〜 ${fmtDate(r.work.period_end)}`,
          stateBadge(r.state),
          h("span", { "data-testid": "billing-approval-number" }, r.approval_number || ""),
          operator && r.state === "submitted"
            ? h(
                "span",
                { class: "row-actions" },
                actionButton(t("billing.approve"), "billing-request-approve", () => api.post(`/billing/requests/${r.id}/approve`, {}), reload),
                actionButton(t("billing.reject"), "billing-request-reject", () => api.post(`/billing/requests/${r.id}/reject`, { reason: "" }), reload),
              )
            : r.work_id
              ? h("a", { href: `#/works/${r.work_id}` }, t("billing.open_work"))
              : "",
        ].filter((c) => c !== null),
      ),
      { testid: "billing-requests" },
    ),
  );
  if (operator) return;
  /** @type {HTMLFormElement} */
  const form = h(
    "form",
    { class: "card", novalidate: true, "data-testid": "billing-request-form", "aria-label": t("billing.new_request") },
    h("h3", {}, t("billing.new_request")),
    formError(),
    h(
      "div",
      { class: "form-grid" },
      selectField({ name: "kind", label: t("billing.work_kind"), options: [{ value: "construction", label: t("billing.kind.construction") }, { value: "service", label: t("billing.kind.service") }], testid: "billing-request-kind" }),
      field({ name: "number", label: t("billing.work_number"), required: true, testid: "billing-request-number" }),
      field({ name: "title", label: t("billing.work_title"), required: true, testid: "billing-request-title" }),
      field({ name: "address", label: t("billing.address"), required: true, testid: "billing-request-address" }),
      field({ name: "municipality_code", label: t("billing.municipality_code"), required: true, testid: "billing-request-code", attrs: { inputmode: "numeric" } }),
      field({ name: "period_start", label: t("billing.period_start"), type: "date", required: true, testid: "billing-request-start" }),
      field({ name: "period_end", label: t("billing.period_end"), type: "date", required: true, testid: "billing-request-end" }),
    ),
    h("button", { type: "submit", class: "btn primary", "data-testid": "billing-request-submit" }, t("billing.submit_request")),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (/** @type {string} */ n) => /** @type {HTMLInputElement} */ (form.elements.namedItem(n)).value.trim();
    const body = {
      work: {
        kind: v("kind"),
        number: v("number"),
        title: v("title"),
        location: { address: v("address"), municipality_code: v("municipality_code") },
        period_start: v("period_start"),
        period_end: v("period_end"),
      },
    };
    try {
      await api.post("/billing/requests", body);
      toast(t("billing.request_sent"), "ok");
      reload();
    } catch (err) {
      showFormErrors(form, err);
    }
  });
  el.append(form);
}

// ---- applications -----------------------------------------------------------------------------

/**
 * @param {HTMLElement} el
 * @param {string} kind
 */
async function applications(el, kind) {
  /** @type {Rec[]} */
  const items = await api.get("/billing/applications");
  const rows = [];
  for (const a of items) {
    const actions = h("span", { class: "row-actions" });
    if (kind === "operator" && a.state === "submitted") {
      actions.append(
        actionButton(t("billing.approve_application"), "billing-application-approve", () => api.post(`/billing/applications/${a.id}/approve`), reload),
        actionButton(t("billing.reject"), "billing-application-reject", () => api.post(`/billing/applications/${a.id}/reject`, { reason: "" }), reload),
      );
    }
    if (kind === "orderer" && a.state === "active") {
      actions.append(actionButton(t("billing.complete"), "billing-complete", () => api.post(`/billing/applications/${a.id}/complete`, {}), reload));
    }
    if (kind === "contractor" && ["approved", "active"].includes(a.state)) {
      const detail = await api.get(`/billing/applications/${a.id}`);
      if (detail.passwords_pending) actions.append(revealButton(`billing_applications/${a.id}`, el));
      actions.append(docLinks(detail.documents));
    }
    rows.push([
      a.number,
      kind === "contractor" ? a.orderer_name : a.org_name,
      `${a.work.number} ${a.work.title}`,
      a.fee_invoice_number ? `${a.fee_invoice_number}（${a.fee_period.months}${t("billing.months")}）` : "",
      stateBadge(a.state),
      actions,
    ]);
  }
  el.append(table(t("billing.tab.applications"), [t("billing.number"), t("billing.party"), t("billing.work"), t("billing.fee"), t("billing.status"), ""], rows, { testid: "billing-applications" }));
  if (kind !== "contractor") return;
  /** @type {HTMLFormElement} */
  const form = h(
    "form",
    { class: "card", novalidate: true, "data-testid": "billing-application-form", "aria-label": t("billing.new_application") },
    h("h3", {}, t("billing.new_application")),
    h("p", { class: "hint" }, t("billing.application_hint")),
    formError(),
    h(
      "div",
      { class: "form-grid" },
      field({ name: "approval_number", label: t("billing.approval_number"), required: true, testid: "billing-app-approval" }),
      field({ name: "work_number", label: t("billing.work_number"), required: true, testid: "billing-app-work-number" }),
      field({ name: "company", label: t("billing.company"), required: true, testid: "billing-app-company" }),
      field({ name: "corporate_number", label: t("billing.corporate_number"), testid: "billing-app-corporate", attrs: { inputmode: "numeric" } }),
      field({ name: "login_id", label: t("billing.staff_login"), required: true, testid: "billing-app-login" }),
      field({ name: "name", label: t("billing.staff_name"), required: true, testid: "billing-app-name" }),
    ),
    h("button", { type: "submit", class: "btn primary", "data-testid": "billing-app-submit" }, t("billing.submit_application")),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (/** @type {string} */ n) => /** @type {HTMLInputElement} */ (form.elements.namedItem(n)).value.trim();
    const body = {
      approval_number: v("approval_number"),
      work_number: v("work_number"),
      company: { name: v("company"), corporate_number: v("corporate_number") },
      staff: [{ login_id: v("login_id"), name: v("name") }],
    };
    try {
      await api.post("/billing/applications", body);
      toast(t("billing.application_sent"), "ok");
      reload();
    } catch (err) {
      showFormErrors(form, err);
    }
  });
  el.append(form);
}

/**
 * "初期パスワードを表示": the one-time passwords of a batch, once, in a table on the page.
 * @param {string} source
 * @param {HTMLElement} el
 */
function revealButton(source, el) {
  /** @type {HTMLButtonElement} */
  const b = h("button", { type: "button", class: "btn small primary", "data-testid": "billing-reveal" }, t("billing.reveal"));
  b.addEventListener("click", () =>
    busy(b, async () => {
      try {
        const res = await api.post("/billing/credentials/reveal", { source });
        const box = h(
          "div",
          { class: "card reveal", "data-testid": "billing-revealed", role: "region", "aria-label": t("billing.reveal") },
          h("p", { class: "warn" }, t("billing.reveal_once")),
          table(t("billing.reveal"), [t("billing.staff_name"), t("billing.staff_login"), t("billing.password")], res.accounts.map((/** @type {Rec} */ a) => [a.name, a.login_id, h("code", {}, a.password)])),
        );
        el.prepend(box);
        b.remove();
      } catch (e) {
        toast(errorMessage(e), "error");
      }
    }),
  );
  return b;
}

// ---- invoices and payments -------------------------------------------------------------------

/**
 * @param {HTMLElement} el
 * @param {string} kind
 */
async function invoices(el, kind) {
  const page = await api.get("/billing/invoices", { limit: 100 });
  /** @type {Rec[]} */
  const items = page.items;
  const today = new Date().toISOString().slice(0, 10);
  const rows = [];
  for (const i of items) {
    const detail = await api.get(`/billing/invoices/${i.id}`);
    const overdue = ["issued", "partly_paid"].includes(i.state) && i.due_date && i.due_date < today;
    rows.push([
      i.number,
      kind === "operator" ? i.org_name : t(`billing.kind.${i.kind}`),
      `${i.fiscal_year}${t("billing.fy_suffix")}`,
      yen(i.total),
      yen(i.balance),
      fmtDate(i.due_date),
      h("span", {}, stateBadge(i.state), overdue ? h("span", { class: "badge state-overdue", "data-state": "overdue" }, t("billing.overdue")) : null),
      docLinks(detail.documents),
    ]);
  }
  el.append(
    table(t("billing.tab.invoices"), [t("billing.number"), kind === "operator" ? t("billing.party") : t("billing.kind_label"), t("billing.fiscal_year"), t("billing.total"), t("billing.balance"), t("billing.due_date"), t("billing.status"), t("billing.forms")], rows, { testid: "billing-invoices", numeric: [3, 4] }),
  );
  if (kind !== "operator") {
    /** @type {Rec[]} */
    const summary = await api.get("/billing/summary");
    el.append(
      h("h3", {}, t("billing.summary")),
      table(t("billing.summary"), [t("billing.fiscal_year"), t("billing.billed"), t("billing.credited"), t("billing.paid"), t("billing.balance"), t("billing.overdue")], summary.map((s) => [`${s.fiscal_year}${t("billing.fy_suffix")}`, yen(s.billed), yen(s.credited), yen(s.paid), yen(s.balance), yen(s.overdue)]), { testid: "billing-summary", numeric: [1, 2, 3, 4, 5] }),
    );
  }
}

/** @param {HTMLElement} el */
async function payments(el) {
  /** @type {HTMLFormElement} */
  const form = h(
    "form",
    { class: "card", novalidate: true, "data-testid": "billing-payment-form", "aria-label": t("billing.enter_payment") },
    h("h3", {}, t("billing.enter_payment")),
    formError(),
    h(
      "div",
      { class: "form-grid" },
      field({ name: "invoice_number", label: t("billing.invoice_number"), required: true, testid: "billing-pay-number" }),
      field({ name: "amount", label: t("billing.amount"), type: "number", required: true, testid: "billing-pay-amount", attrs: { min: "1", step: "1" } }),
      field({ name: "paid_on", label: t("billing.paid_on"), type: "date", required: true, testid: "billing-pay-date" }),
      field({ name: "reference", label: t("billing.reference"), testid: "billing-pay-reference" }),
    ),
    h("button", { type: "submit", class: "btn primary", "data-testid": "billing-pay-submit" }, t("billing.record_payment")),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = (/** @type {string} */ n) => /** @type {HTMLInputElement} */ (form.elements.namedItem(n)).value.trim();
    try {
      await api.post("/billing/payments", { invoice_number: v("invoice_number"), amount: Number(v("amount")), paid_on: v("paid_on"), reference: v("reference") });
      toast(t("billing.payment_recorded"), "ok");
      form.reset();
    } catch (err) {
      showFormErrors(form, err);
    }
  });
  const fileId = "billing-csv-file";
  /** @type {HTMLInputElement} */
  const file = h("input", { type: "file", id: fileId, accept: ".csv,text/csv", "data-testid": "billing-csv-file" });
  const report = h("div", { role: "status", "data-testid": "billing-csv-report" });
  /** @type {HTMLButtonElement} */
  const upload = h("button", { type: "button", class: "btn", "data-testid": "billing-csv-submit" }, t("billing.import_csv"));
  upload.addEventListener("click", () =>
    busy(upload, async () => {
      const chosen = file.files && file.files[0];
      if (!chosen) return;
      try {
        const res = await api.post("/billing/payments/import", chosen);
        clear(report).append(
          h("p", {}, t("billing.csv_result", { matched: res.matched.length, duplicates: res.duplicates.length, unmatched: res.unmatched.length })),
          table(t("billing.unmatched"), [t("billing.row"), t("billing.amount"), t("billing.payer"), t("billing.reason")], res.unmatched.map((/** @type {Rec} */ u) => [String(u.row), yen(u.amount), u.payer, u.reason])),
        );
      } catch (err) {
        toast(errorMessage(err), "error");
      }
    }),
  );
  el.append(form, h("div", { class: "card" }, h("h3", {}, t("billing.import_csv")), h("p", { class: "hint" }, t("billing.csv_hint")), h("label", { for: fileId }, t("billing.csv_file")), file, upload, report));
}

/** @param {HTMLElement} el */
async function tariffs(el) {
  /** @type {Rec[]} */
  const items = await api.get("/billing/tariffs");
  for (const tariff of items) {
    el.append(
      h("h3", {}, `${tariff.name}（${fmtDate(tariff.valid_from)} 〜 ${tariff.valid_to ? fmtDate(tariff.valid_to) : ""}）`),
      table(tariff.name, [t("billing.item"), t("billing.unit_price"), t("billing.tax_rate")], tariff.items.map((/** @type {Rec} */ i) => [i.label, yen(i.unit_price), `${i.tax_rate}%`]), { numeric: [1] }),
    );
  }
}

/** @param {HTMLElement} el */
async function sandboxes(el) {
  /** @type {Rec[]} */
  const items = await api.get("/billing/sandboxes");
  el.append(
    h("p", { class: "hint" }, t("billing.sandbox_hint")),
    table(t("billing.tab.sandboxes"), [t("billing.party"), ""], items.map((o) => [o.name, actionButton(t("billing.reset"), "billing-sandbox-reset", () => api.post(`/billing/sandboxes/${o.id}/reset`), reload)]), { testid: "billing-sandboxes" }),
  );
}

/** @param {HTMLElement} el */
async function roster(el) {
  const now = new Date();
  const fy = now.getMonth() >= 3 ? now.getFullYear() + 1 : now.getFullYear();
  const current = await api.get(`/billing/rosters/${fy}`);
  el.append(h("p", { class: "hint" }, t("billing.roster_hint", { fy })), h("p", {}, `${t("billing.status")}：`, stateBadge(current.state)));
  /** @type {HTMLFormElement} */
  const form = h(
    "form",
    { class: "card", novalidate: true, "data-testid": "billing-roster-form", "aria-label": t("billing.tab.roster") },
    formError(),
    field({ name: "staff", label: t("billing.roster_staff"), type: "textarea", value: (current.staff || []).map((/** @type {Rec} */ s) => `${s.login_id},${s.name}`).join("\n"), hint: t("billing.roster_format"), testid: "billing-roster-staff" }),
    h("button", { type: "submit", class: "btn primary", disabled: current.state === "issued" }, t("common.save")),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = /** @type {HTMLTextAreaElement} */ (form.elements.namedItem("staff")).value;
    const staff = text
      .split("\n")
      .map((l) => l.split(","))
      .filter((p) => p.length >= 2 && p[0].trim())
      .map((p) => ({ login_id: p[0].trim(), name: p[1].trim() }));
    try {
      await api.put(`/billing/rosters/${fy}`, { staff });
      toast(t("billing.done"), "ok");
    } catch (err) {
      showFormErrors(form, err);
    }
  });
  el.append(form);
}
