// Works list (#/works?q=&status=a,b&kind=&category=&business_type=&from=&to=&sort=&order=).
// Filters live in the hash so reload/back keep them; cursor paging with "さらに表示".
import { api, ApiError } from "../api.js";
import { fmtDate, fmtNumber, t } from "../i18n.js";
import { href, navigate } from "../router.js";
import { parseDate } from "../components/dates.js";
import { clear, control, errorBox, field, h, loading, pageHeader, selectField, setFieldError, showFormErrors, statusBadge, toast } from "../ui.js";
import { canCreateWork, workForm } from "./work-form.js";

const STATUSES = ["registered", "in_progress", "completed", "archived"];
const SORTS = ["updated_at", "created_at", "period_start", "title"];
const PAGE = 50;

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const q = params.query || {};
  const chosen = new Set((q.status || "").split(",").filter(Boolean));

  const statusBox = h(
    "fieldset",
    { class: "field checks", "data-field": "status", "data-testid": "works-status" },
    h("legend", {}, t("works.status")),
    h(
      "div",
      { class: "check-row" },
      STATUSES.map((s) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "status", value: s, checked: chosen.has(s), "data-testid": `works-status-${s}` }), t(`status.${s}`))),
    ),
    h("p", { class: "field-error", hidden: true }),
  );
  const qField = field({ name: "q", label: t("works.q"), value: q.q || "", testid: "works-q", type: "search" });
  qField.classList.add("wide");
  const form = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": t("works.filters"), "data-testid": "works-filters", novalidate: true },
    qField,
    selectField({ name: "kind", label: t("works.kind"), value: q.kind || "", blank: t("common.all"), testid: "works-kind", options: ["construction", "service"].map((k) => ({ value: k, label: t(`kind.${k}`) })) }),
    field({ name: "category", label: t("works.category"), value: q.category || "", testid: "works-category" }),
    field({ name: "period_start_from", label: t("works.period_from"), value: q.from || "", testid: "works-from", hint: t("form.date_hint_short"), attrs: { class: "date-text", autocomplete: "off" } }),
    field({ name: "period_start_to", label: t("works.period_to"), value: q.to || "", testid: "works-to", hint: t("form.date_hint_short"), attrs: { class: "date-text", autocomplete: "off" } }),
    selectField({ name: "sort", label: t("works.sort"), value: q.sort || "updated_at", testid: "works-sort", options: SORTS.map((s) => ({ value: s, label: t(`works.sort.${s}`) })) }),
    selectField({ name: "order", label: "\u00a0", value: q.order || "desc", testid: "works-order", options: ["desc", "asc"].map((o) => ({ value: o, label: t(`works.order.${o}`) })) }),
    statusBox,
    h("div", { class: "form-error", "data-form-error": "", role: "alert", hidden: true }),
    h(
      "div",
      { class: "form-actions" },
      h("button", { type: "submit", class: "btn primary", "data-testid": "works-apply" }, t("common.search")),
      h("a", { class: "btn link", href: "#/works", "data-testid": "works-clear" }, t("common.clear")),
    ),
  );
  form.querySelector('[name="order"]')?.setAttribute("aria-label", t("works.sort"));

  const body = h("tbody", {});
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data", "data-testid": "works-table" },
      h("caption", { class: "sr-only" }, t("works.title")),
      h("thead", {}, h("tr", {}, ["number", "title", "kind", "period", "status", "updated"].map((c) => h("th", { scope: "col" }, t(`works.col.${c}`))))),
      body,
    ),
  );
  const count = h("span", { "data-testid": "works-count", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "btn", "data-testid": "works-more", hidden: true }, t("common.more"));
  const results = h("div", {}, loading());
  /** @type {HTMLElement[]} */
  const actions = [];
  const formSlot = h("div", {});
  const session = ctx.session;
  if (session && canCreateWork(session)) {
    const newBtn = h("button", { type: "button", class: "btn primary", "data-testid": "work-new", "aria-expanded": "false" }, t("workform.new"));
    newBtn.addEventListener("click", async () => {
      if (formSlot.firstChild) {
        clear(formSlot);
        newBtn.setAttribute("aria-expanded", "false");
        return;
      }
      newBtn.setAttribute("aria-expanded", "true");
      const close = () => {
        clear(formSlot);
        newBtn.setAttribute("aria-expanded", "false");
        newBtn.focus();
      };
      const wf = await workForm({
        session,
        onCancel: close,
        onSaved: (/** @type {Kura.Work} */ saved) => {
          toast(t("workform.created"), "ok");
          navigate(href("/works", saved.id));
        },
      });
      clear(formSlot).append(wf);
      control(wf, "title").focus();
    });
    actions.push(newBtn);
  }
  root.append(pageHeader(t("works.title"), ...actions), formSlot, form, results);

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    /** @param {string} name */
    const f = (name) => control(form, name);
    const statuses = [...form.querySelectorAll('input[name="status"]:checked')].filter((x) => x instanceof HTMLInputElement).map((x) => x.value);
    const next = new URLSearchParams();
    /**
     * @param {string} k
     * @param {string} v left out when empty
     */
    const put = (k, v) => v && next.set(k, v);
    put("q", f("q").value.trim());
    put("status", statuses.join(","));
    put("kind", f("kind").value);
    put("category", f("category").value.trim());
    // 和暦 or Western, as typed (issue 8 §3 item 8); a wrong one is said by its field
    let bad = false;
    for (const [key, name] of [["from", "period_start_from"], ["to", "period_start_to"]]) {
      const typed = f(name).value.trim();
      const day = typed ? parseDate(typed) : "";
      setFieldError(form, name, day === null ? t("form.date_invalid") : "");
      if (day === null) bad = true;
      else put(key, day);
    }
    if (bad) return;
    if (f("sort").value !== "updated_at") put("sort", f("sort").value);
    if (f("order").value !== "desc") put("order", f("order").value);
    const qs = next.toString();
    navigate(`#/works${qs ? `?${qs}` : ""}`);
  });

  const query = {
    q: q.q,
    status: [...chosen],
    kind: q.kind,
    category: q.category,
    period_start_from: q.from,
    period_start_to: q.to,
    sort: q.sort,
    order: q.order,
    limit: PAGE,
  };
  let shown = 0;
  /** @type {number | null} */
  let total = null;
  /** @param {string | null | undefined} cursor */
  async function load(cursor) {
    /** @type {Kura.Page<Kura.Work>} */
    const page = await api.get("/works", { ...query, cursor });
    for (const w of page.items) body.append(row(w));
    shown += page.items.length;
    if (page.total !== null && page.total !== undefined) total = page.total;
    count.textContent = total !== null ? `${t("works.total", { n: fmtNumber(total) })}・${t("works.shown", { n: fmtNumber(shown) })}` : t("works.shown", { n: fmtNumber(shown) });
    more.hidden = !page.next_cursor;
    more.onclick = async () => {
      more.disabled = true;
      try {
        await load(page.next_cursor);
      } finally {
        more.disabled = false;
      }
    };
  }
  try {
    await load(undefined);
    clear(results);
    if (!shown) {
      // why it is empty: nothing matches the filters, or nothing is there for this person yet
      const filtered = Object.entries(query).some(([k, v]) => !["sort", "order", "limit"].includes(k) && v !== undefined && v !== "" && !(Array.isArray(v) && !v.length));
      const kind = ctx.session ? ctx.session.org_kind : "";
      const why = filtered ? t("works.empty") : t(kind === "contractor" ? "works.none_contractor" : kind === "operator" ? "works.none_operator" : "works.none_orderer");
      results.append(h("div", { class: "card" }, h("p", { class: "empty", "data-testid": "works-empty" }, why)));
    }
    else results.append(table, h("div", { class: "table-foot" }, count, more));
  } catch (err) {
    clear(results);
    if (err instanceof ApiError && (err.status === 422 || err.status === 400)) showFormErrors(form, err);
    else results.append(errorBox(err));
  }
  ctx.setTitle(t("works.title"));
}

/**
 * @param {Kura.Work} w
 * @returns {HTMLTableRowElement}
 */
function row(w) {
  return h(
    "tr",
    { "data-testid": "works-row", "data-id": w.id },
    h("td", { class: "nowrap mono" }, w.number),
    h("td", { class: "works-title" }, h("a", { href: href("/works", w.id) }, w.title), w.category ? h("div", { class: "small muted" }, w.category) : null),
    h("td", { class: "nowrap" }, t(`kind.${w.kind}`)),
    h("td", { class: "nowrap" }, `${fmtDate(w.period_start)} 〜 ${fmtDate(w.period_end)}`),
    h("td", {}, statusBadge(w.status, w.kind)),
    h("td", { class: "nowrap" }, fmtDate(w.updated_at)),
  );
}
