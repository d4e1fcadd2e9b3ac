// Bonds (#/bonds?state=active|deleted|all&kind=<kind>&sort=created_at|opening_at): the bonds of the reader's organization, by role.
// Issuers: their bonds with the key state and the actions (register, certificates, balances).
// Contractors: their bonds and the key download (F01<1> 認証キー取得). Orderers: bonds for
// them, by existence only until a key opens one (F01<1>-<3>), with the key entry. Pages of
// 50 by cursor (さらに表示).
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { href, navigate } from "../router.js";
import { clear, empty, errorBox, errorMessage, h, loading, pageHeader, selectField, toast } from "../ui.js";
import { download } from "../components/dom.js";
import { bondRole, granted, keyStateLabel, stateBadge, yen } from "../components/bonds.js";

const KINDS = ["bid_bond", "performance_reservation", "performance_bond", "performance_insurance", "financial_guarantee", "cash", "government_bond"];
const PAGE = 50;

/** Load the bond pages' stylesheet once. */
export function bondStyles() {
  if (!document.getElementById("bonds-css")) document.head.append(h("link", { id: "bonds-css", rel: "stylesheet", href: "css/bonds.css" }));
}

/**
 * The bond pages' sub-navigation for the reader's role.
 * @param {Kura.Session | null} session
 * @param {string} here
 * @returns {HTMLElement}
 */
export function bondNav(session, here) {
  const role = bondRole(session);
  /** @type {[string, string, string][]} */
  const links = [["#/bonds", "bonds.nav.list", "bonds-nav-list"]];
  if (role === "orderer") links.push(["#/bonds/open", "bonds.nav.open", "bonds-nav-open"], ["#/bonds/security", "bonds.nav.security", "bonds-nav-security"]);
  if (role === "issuer" && granted(session, "bonds.issue")) links.push(["#/bonds/new", "bonds.nav.new", "bonds-nav-new"]);
  if (role === "issuer" && granted(session, "bonds.certificates")) links.push(["#/bonds/certificates", "bonds.nav.certificates", "bonds-nav-certificates"]);
  if (role === "issuer" || role === "orderer") links.push(["#/bonds/balances", "bonds.nav.balances", "bonds-nav-balances"]);
  return h(
    "nav",
    { class: "subnav", "aria-label": t("bonds.nav.label") },
    h(
      "ul",
      {},
      links.map(([to, key, testid]) => h("li", {}, h("a", { href: to, "data-testid": testid, "aria-current": to === here ? "page" : null }, t(key)))),
    ),
  );
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  bondStyles();
  const q = params.query || {};
  const role = bondRole(ctx.session);
  // Filters and order on existence fields only (kind, opening time, state): a sealed bond's
  // contents never decide its place in the list (F01<1>-<3>).
  const filters = {
    state: q.state || "active",
    kind: KINDS.includes(q.kind || "") ? String(q.kind) : "",
    sort: q.sort === "opening_at" ? "opening_at" : "created_at",
  };
  /** @param {Partial<typeof filters>} change */
  const go = (change) => {
    const next = { ...filters, ...change };
    const qs = new URLSearchParams();
    if (next.state !== "active") qs.set("state", next.state);
    if (next.kind) qs.set("kind", next.kind);
    if (next.sort !== "created_at") qs.set("sort", next.sort);
    const text = qs.toString();
    navigate(text ? `#/bonds?${text}` : "#/bonds");
  };
  const statePick = selectField({ name: "state", label: t("bonds.filter.state"), value: filters.state, testid: "bonds-state", options: ["active", "deleted", "all"].map((s) => ({ value: s, label: t(`bonds.filter.${s}`) })) });
  const kindPick = selectField({ name: "kind", label: t("bonds.filter.kind"), value: filters.kind, blank: t("bonds.filter.all"), testid: "bonds-kind", options: KINDS.map((k) => ({ value: k, label: t(`bonds.kind.${k}`) })) });
  const sortPick = selectField({ name: "sort", label: t("bonds.filter.sort"), value: filters.sort, testid: "bonds-sort", options: ["created_at", "opening_at"].map((s) => ({ value: s, label: t(`bonds.sort.${s}`) })) });
  for (const [el, key] of /** @type {[HTMLElement, "state" | "kind" | "sort"][]} */ ([[statePick, "state"], [kindPick, "kind"], [sortPick, "sort"]])) {
    el.querySelector("select")?.addEventListener("change", (e) => go({ [key]: /** @type {HTMLSelectElement} */ (e.target).value }));
  }
  /** @returns {Record<string, string | number>} */
  const query = () => ({
    state: filters.state,
    ...(filters.kind ? { kind: filters.kind } : {}),
    sort: filters.sort,
    order: filters.sort === "opening_at" ? "asc" : "desc",
  });
  const exportBtn = h("button", { type: "button", class: "btn", "data-testid": "bonds-export" }, t("bonds.export_csv"));
  exportBtn.addEventListener("click", () => {
    const qs = new URLSearchParams(Object.entries(query()).map(([k, v]) => [k, String(v)]));
    download(`/bonds/export.csv?${qs}`, { fallback: "bonds.csv" }).catch((err) => toast(errorMessage(err), "error"));
  });
  root.append(pageHeader(t("bonds.title")), bondNav(ctx.session, "#/bonds"), h("div", { class: "toolbar" }, statePick, kindPick, sortPick, h("div", { class: "form-actions" }, exportBtn)));
  const body = h("div", {}, loading());
  root.append(body);
  /** @type {Kura.Bond[]} */
  let items;
  /** @type {string | null | undefined} */
  let cursor;
  try {
    const page = await api.get("/bonds", { ...query(), limit: PAGE });
    items = page.items;
    cursor = page.next_cursor;
  } catch (err) {
    clear(body).append(errorBox(err));
    return;
  }
  clear(body);
  if (!items.length) {
    body.append(h("div", { class: "card" }, empty(t("bonds.none"))));
    return;
  }
  const cols = role === "issuer" ? ["kind", "certificate_no", "obligor", "work", "amount", "opening_at", "key", "state"] : role === "contractor" ? ["kind", "issuer", "work", "amount", "opening_at", "key", "state"] : ["kind", "obligor", "work", "opening_at", "state"];
  /** @param {Kura.Bond} b */
  const row = (b) => {
    /** @type {Record<string, Kura.Child>} */
    const cell = {
      kind: h("a", { href: href("/bonds", b.id), "data-testid": "bond-link" }, b.kind_label),
      certificate_no: b.certificate_no || "—",
      obligor: b.obligor_name,
      issuer: b.issuer_name || "—",
      work: `${b.work_number} ${b.work_title}`.trim(),
      amount: b.view === "full" ? yen(b.amount) : t("bonds.hidden"),
      opening_at: b.opening_at ? fmtDateTime(b.opening_at) : "—",
      key: keyCell(b),
      state: stateBadge(b),
    };
    return h("tr", { "data-testid": "bond-row", "data-bond": b.id }, cols.map((c) => h("td", { class: c === "amount" ? "num" : "" }, cell[c])));
  };
  const tbody = h("tbody", {}, items.map(row));
  const more = h("button", { type: "button", class: "btn", "data-testid": "bonds-more", hidden: !cursor }, t("common.more"));
  more.addEventListener("click", async () => {
    if (!cursor) return;
    more.setAttribute("disabled", "");
    try {
      const page = await api.get("/bonds", { ...query(), limit: PAGE, cursor });
      tbody.append(...page.items.map(row));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      toast(errorMessage(err), "error");
    } finally {
      more.removeAttribute("disabled");
    }
  });
  body.append(
    h(
      "div",
      { class: "table-wrap card" },
      h(
        "table",
        { class: "data", "data-testid": "bonds-table" },
        h("caption", { class: "sr-only" }, t("bonds.title")),
        h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(`bonds.col.${c}`))))),
        tbody,
      ),
      h("div", { class: "form-actions" }, more),
    ),
  );
}

/**
 * The key column: its state, and the download for the contractor (F01<1>).
 * @param {Kura.Bond} b
 * @returns {Kura.Child}
 */
function keyCell(b) {
  if (!b.key_state || b.key_state === "none") return "—";
  if (!b.can.download_key) return keyStateLabel(b.key_state);
  const btn = h("button", { type: "button", class: "btn small", "data-testid": "bond-key-download" }, t("bonds.key_download"));
  btn.addEventListener("click", () => download(`/bonds/${encodeURIComponent(b.id)}/key`, { fallback: "bond.kurakey" }).catch((err) => toast(errorMessage(err), "error")));
  return btn;
}
