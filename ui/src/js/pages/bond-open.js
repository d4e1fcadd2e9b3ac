// Open a bond with its key (#/bonds/open): the orderer drops the key file the contractor
// handed over (F01<1> 認証キーの受け渡し) and sees the bond: only that it exists before the
// opening time, everything (with the obligor's debt) after it (F01<2>).
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { href } from "../router.js";
import { clear, errorMessage, h, pageHeader } from "../ui.js";
import { bondFields, keyEntry, sealedNotice } from "../components/bonds.js";
import { bondNav, bondStyles } from "./bonds.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} _params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, _params, ctx) {
  bondStyles();
  const result = h("div", { "aria-live": "polite" });
  root.append(pageHeader(t("bonds.open_title")), bondNav(ctx.session, "#/bonds/open"), keyEntry(open, "bonds-open"), result);

  /** @param {string} text */
  async function open(text) {
    clear(result);
    try {
      /** @type {Kura.BondOpened} */
      const found = await api.post("/bonds/open", { key: text });
      const k = found.key;
      result.append(
        h(
          "section",
          { class: "card ok-box", "data-testid": "bond-key-verdict" },
          h("p", {}, h("strong", {}, t("bonds.key_valid")), " ", t("bonds.key_valid_detail", { rev: k.revision, at: fmtDateTime(k.issued_at), issuer: k.issuer_name })),
          h("p", { class: "small" }, t("bonds.key_cert", { subject: k.certificate_subject })),
          k.custody === "kura" ? h("p", { class: "small", "data-testid": "bond-key-custody" }, t("bonds.key_custody")) : null,
        ),
        h("section", { class: "card" }, sealedNotice(found.bond), bondFields(found.bond), h("p", {}, h("a", { href: href("/bonds", found.bond.id), "data-testid": "bond-detail-link" }, t("bonds.to_detail")))),
      );
    } catch (err) {
      result.append(h("p", { class: "error-box", role: "alert", "data-testid": "bond-key-error" }, errorMessage(err)));
    }
  }
}
