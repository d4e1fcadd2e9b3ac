// Guarantee balances (#/bonds/balances?on=&from=&to=&step=): seed 002 保証債務残高管理:
// 1) the balance on a day: all issuers, per issuer, per bond; 2) the history over time as a
// chart (uPlot, vendored by build.mjs: no CDN) with the same figures in a table; CSV and
// Excel downloads. The figures are those the reader may see (sealed bonds of others are in
// none of them).
import { api } from "../api.js";
import { fmtDate, fmtNumber, t } from "../i18n.js";
import { navigate } from "../router.js";
import { clear, errorBox, errorMessage, field, h, loading, pageHeader, selectField, toast } from "../ui.js";
import { download } from "../components/dom.js";
import { day, yen } from "../components/bonds.js";
import { bondNav, bondStyles } from "./bonds.js";

const UPLOT = "/vendor/uplot/uPlot.esm.js"; // copied from the uplot package by build.mjs (billing uses it too)

/**
 * uPlot's ES module and stylesheet, loaded on first use.
 * @returns {Promise<typeof import("uplot")>}
 */
async function loadUplot() {
  if (!document.getElementById("uplot-css")) document.head.append(h("link", { id: "uplot-css", rel: "stylesheet", href: "vendor/uplot/uPlot.min.css" }));
  return (await import(UPLOT)).default;
}

const COLORS = ["#1f4e79", "#b45309", "#15803d", "#7c3aed", "#be123c", "#0e7490"];

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  bondStyles();
  const q = params.query || {};
  const today = new Date();
  const iso = (/** @type {Date} */ d) => d.toISOString().slice(0, 10);
  const from = q.from || iso(new Date(today.getFullYear() - 1, today.getMonth(), 1));
  const to = q.to || iso(new Date(today.getFullYear() + 1, today.getMonth(), 1));
  const step = q.step || "month";
  const form = h(
    "form",
    { class: "toolbar", novalidate: true, "data-testid": "balances-filters" },
    field({ name: "on", label: t("bonds.bal.on"), type: "date", value: q.on || "", testid: "balances-on" }),
    field({ name: "from", label: t("bonds.bal.from"), type: "date", value: from, testid: "balances-from" }),
    field({ name: "to", label: t("bonds.bal.to"), type: "date", value: to, testid: "balances-to" }),
    selectField({ name: "step", label: t("bonds.bal.step"), value: step, testid: "balances-step", options: ["month", "day"].map((s) => ({ value: s, label: t(`bonds.bal.step_${s}`) })) }),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn primary", "data-testid": "balances-apply" }, t("common.search"))),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(/** @type {HTMLFormElement} */ (form));
    const qs = new URLSearchParams();
    for (const k of ["on", "from", "to", "step"]) {
      const v = String(data.get(k) || "");
      if (v) qs.set(k, v);
    }
    navigate(`#/bonds/balances?${qs}`);
  });
  const csv = h("button", { type: "button", class: "btn", "data-testid": "balances-csv" }, t("bonds.bal.csv"));
  const xlsx = h("button", { type: "button", class: "btn", "data-testid": "balances-xlsx" }, t("bonds.bal.xlsx"));
  const on = q.on ? `&on=${encodeURIComponent(q.on)}` : "";
  csv.addEventListener("click", () => download(`/bonds/balances/export?format=csv${on}`, { fallback: "bond-balances.csv" }).catch((err) => toast(errorMessage(err), "error")));
  xlsx.addEventListener("click", () => download(`/bonds/balances/export?format=xlsx${on}`, { fallback: "bond-balances.xlsx" }).catch((err) => toast(errorMessage(err), "error")));
  root.append(pageHeader(t("bonds.bal.title"), csv, xlsx), bondNav(ctx.session, "#/bonds/balances"), form);
  const body = h("div", {}, loading());
  root.append(body);
  /** @type {Kura.BalanceSummary} */
  let summary;
  /** @type {Kura.BalanceHistory} */
  let history;
  try {
    [summary, history] = await Promise.all([api.get("/bonds/balances", q.on ? { on: q.on } : undefined), api.get("/bonds/balances/history", { from, to, step })]);
  } catch (err) {
    clear(body).append(errorBox(err));
    return;
  }
  clear(body);
  body.append(
    h(
      "section",
      { class: "card" },
      h("h2", {}, t("bonds.bal.summary", { on: fmtDate(summary.on) })),
      h("p", { class: "total", "data-testid": "balances-total" }, t("bonds.bal.total"), " ", h("strong", {}, yen(summary.total))),
      table(
        "balances-issuers",
        t("bonds.bal.per_issuer"),
        [t("bonds.bal.issuer"), t("bonds.bal.outstanding")],
        summary.issuers.map((r) => [r.issuer_name, yen(r.outstanding)]),
      ),
    ),
  );
  const chart = h("div", { class: "chart", "data-testid": "balances-chart", role: "img", "aria-label": t("bonds.bal.chart_label") });
  body.append(h("section", { class: "card" }, h("h2", {}, t("bonds.bal.history")), chart, historyTable(history)));
  body.append(
    h(
      "section",
      { class: "card" },
      table(
        "balances-bonds",
        t("bonds.bal.per_bond"),
        [t("bonds.col.kind"), t("bonds.bal.issuer"), t("bonds.f.certificate_no"), t("bonds.f.obligor"), t("bonds.col.work"), t("bonds.f.amount"), t("bonds.f.period"), t("bonds.bal.outstanding")],
        summary.bonds.map((r) => [r.kind_label, r.issuer_name || "—", r.certificate_no || "—", r.obligor_name, r.work_title, yen(r.amount), `${day(r.period_start)} 〜 ${day(r.period_end)}`, yen(r.outstanding)]),
      ),
    ),
  );
  try {
    const UPlot = await loadUplot();
    const xs = history.dates.map((d) => Date.parse(`${d}T00:00:00+09:00`) / 1000);
    const width = Math.max(320, chart.clientWidth || 800);
    // A balance holds from one day to the next: steps, not slopes between the samples. A daily
    // sample holds until the next day (step after); a month-end sample is the balance of the
    // month it ends, so it is drawn over that month (step before): a bond of 6/1-7/31 shows
    // from 5/31 to 7/31, not from 6/30 to 8/31.
    const stepped = UPlot.paths.stepped ? UPlot.paths.stepped({ align: step === "day" ? 1 : -1 }) : undefined;
    /** @type {import("uplot").Series[]} */
    const series = [{ label: t("bonds.bal.date"), value: (_u, _v, _s, idx) => (idx === null || idx === undefined ? "—" : fmtDate(history.dates[idx])) }];
    history.series.forEach((s, i) => series.push({ label: s.name || t("bonds.bal.total"), stroke: COLORS[i % COLORS.length], width: s.key === "total" ? 2.5 : 1.5, dash: s.key === "total" ? undefined : [6, 4], paths: stepped, value: (_u, v) => (v === null ? "—" : fmtNumber(v)) }));
    const plot = new UPlot(
      {
        width,
        height: 280,
        series,
        axes: [{}, { values: (_u, vals) => vals.map((v) => fmtNumber(v)), size: 90 }],
      },
      [xs, ...history.series.map((s) => s.values)],
      chart,
    );
    const resize = () => plot.setSize({ width: Math.max(320, chart.clientWidth), height: 280 });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.destroy();
    };
  } catch {
    chart.append(h("p", { class: "notice" }, t("bonds.bal.chart_failed")));
  }
  return undefined;
}

/**
 * @param {string} testid
 * @param {string} caption
 * @param {string[]} head
 * @param {Kura.Child[][]} rows
 */
function table(testid, caption, head, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data", "data-testid": testid },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => h("td", { class: i === r.length - 1 || (typeof c === "string" && c.endsWith(" 円")) ? "num" : "" }, c))))),
    ),
  );
}

/** @param {Kura.BalanceHistory} history */
function historyTable(history) {
  const rows = history.dates.map((d, i) => [fmtDate(d), ...history.series.map((s) => yen(s.values[i]))]);
  return h(
    "details",
    { class: "history-table" },
    h("summary", {}, t("bonds.bal.history_table")),
    table("balances-history", t("bonds.bal.history"), [t("bonds.bal.date"), ...history.series.map((s) => s.name || t("bonds.bal.total"))], rows),
  );
}
