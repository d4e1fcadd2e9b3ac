// Bonds (#/bonds?state=active|deleted|all): the bonds of the reader's organization, by role.
// Issuers: their bonds with the key state and the actions (register, certificates, balances).
// Contractors: their bonds and the key download (F01<1> 認証キー取得). Orderers: bonds for
// them, by existence only until a key opens one (F01<1>-<3>), with the key entry.
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { href, navigate } from "../router.js";
import { clear, empty, errorBox, errorMessage, h, loading, pageHeader, selectField, toast } from "../ui.js";
import { download } from "../components/dom.js";
import { bondRole, granted, keyStateLabel, stateBadge, yen } from "../components/bonds.js";

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
  const state = q.state || "active";
  const pick = selectField({
    name: "state",
    label: t("bonds.filter.state"),
    value: state,
    testid: "bonds-state",
    options: ["active", "deleted", "all"].map((s) => ({ value: s, label: t(`bonds.filter.${s}`) })),
  });
  pick.querySelector("select")?.addEventListener("change", (e) => {
    const v = /** @type {HTMLSelectElement} */ (e.target).value;
    navigate(`#/bonds?state=${encodeURIComponent(v)}`);
  });
  const exportBtn = h("button", { type: "button", class: "btn", "data-testid": "bonds-export" }, t("bonds.export_csv"));
  exportBtn.addEventListener("click", () => download(`/bonds/export.csv?state=${encodeURIComponent(state)}`, { fallback: "bonds.csv" }).catch((err) => toast(errorMessage(err), "error")));
  root.append(pageHeader(t("bonds.title")), bondNav(ctx.session, "#/bonds"), h("div", { class: "toolbar" }, pick, exportBtn));
  const body = h("div", {}, loading());
  root.append(body);
  /** @type {Kura.Bond[]} */
  let items;
  try {
    items = (await api.get("/bonds", { state, limit: 200 })).items;
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
  const rows = items.map((b) => {
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
        h("tbody", {}, rows),
      ),
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
