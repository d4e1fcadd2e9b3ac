// Signing certificates (#/bonds/certificates): the issuer registers the certificate on its IC
// card (PEM, with its intermediates), or opts for a key Kura keeps (PKCS#12: for issuers
// without a card; every key it signs says so), and retires them (seed 002 証明書).
import { api } from "../api.js";
import { fmtDate, t } from "../i18n.js";
import { busy, clear, confirmDialog, empty, errorBox, errorMessage, field, formError, h, loading, pageHeader, showFormErrors, toast } from "../ui.js";
import { bondNav, bondStyles } from "./bonds.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} _params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, _params, ctx) {
  bondStyles();
  root.append(pageHeader(t("bonds.certs_title")), bondNav(ctx.session, "#/bonds/certificates"));
  const list = h("div", {}, loading());
  root.append(list, pemForm(), custodyForm());

  async function refresh() {
    /** @type {Kura.BondCertificate[]} */
    let certs;
    try {
      certs = await api.get("/bonds/certificates");
    } catch (err) {
      clear(list).append(errorBox(err));
      return;
    }
    clear(list);
    if (!certs.length) {
      list.append(h("div", { class: "card" }, empty(t("bonds.certs_none"))));
      return;
    }
    list.append(
      h(
        "div",
        { class: "table-wrap card" },
        h(
          "table",
          { class: "data", "data-testid": "bond-certs" },
          h("caption", { class: "sr-only" }, t("bonds.certs_title")),
          h("thead", {}, h("tr", {}, ["subject", "issuer", "valid", "algorithm", "custody", "state", "actions"].map((c) => h("th", { scope: "col" }, t(`bonds.cert.${c}`))))),
          h(
            "tbody",
            {},
            certs.map((c) => {
              const retire = h("button", { type: "button", class: "btn small danger", "data-testid": "bond-cert-retire" }, t("bonds.cert_retire"));
              retire.addEventListener("click", async () => {
                if (!(await confirmDialog(t("bonds.cert_retire_confirm"), { danger: true }))) return;
                await busy(retire, async () => {
                  try {
                    await api.del(`/bonds/certificates/${encodeURIComponent(c.id)}`);
                    await refresh();
                  } catch (err) {
                    toast(errorMessage(err), "error");
                  }
                });
              });
              return h(
                "tr",
                { "data-testid": "bond-cert-row" },
                h("td", {}, c.subject),
                h("td", { class: "small" }, c.issuer),
                h("td", { class: "nowrap" }, `${fmtDate(c.not_before)} 〜 ${fmtDate(c.not_after)}`),
                h("td", {}, c.algorithm),
                h("td", {}, t(`bonds.custody.${c.custody}`)),
                h("td", {}, t(`bonds.cert_state.${c.state}`)),
                h("td", {}, c.state === "active" ? retire : "—"),
              );
            }),
          ),
        ),
      ),
    );
  }

  function pemForm() {
    const save = h("button", { type: "submit", class: "btn primary", "data-testid": "bond-cert-save" }, t("bonds.cert_register"));
    const form = /** @type {HTMLFormElement} */ (
      h("form", { class: "card", novalidate: true, "data-testid": "bond-cert-form" }, h("h2", {}, t("bonds.cert_pem_title")), h("p", { class: "hint" }, t("bonds.cert_pem_hint")), formError(), field({ name: "chain_pem", label: t("bonds.cert_pem"), type: "textarea", required: true, testid: "bond-cert-pem", attrs: { rows: 6, spellcheck: false } }), h("div", { class: "form-actions" }, save))
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      await busy(save, async () => {
        const pem = form.elements.namedItem("chain_pem");
        try {
          await api.post("/bonds/certificates", { chain_pem: pem instanceof HTMLTextAreaElement ? pem.value : "" });
          toast(t("common.saved"), "ok");
          form.reset();
          await refresh();
        } catch (err) {
          showFormErrors(form, err);
        }
      });
    });
    return form;
  }

  function custodyForm() {
    const save = h("button", { type: "submit", class: "btn", "data-testid": "bond-custody-save" }, t("bonds.custody_register"));
    const form = /** @type {HTMLFormElement} */ (
      h(
        "form",
        { class: "card", novalidate: true, "data-testid": "bond-custody-form" },
        h("h2", {}, t("bonds.custody_title")),
        h("p", { class: "hint" }, t("bonds.custody_hint")),
        formError(),
        field({ name: "file", label: t("bonds.custody_file"), type: "file", required: true, testid: "bond-custody-file", attrs: { accept: ".p12,.pfx,application/x-pkcs12" } }),
        field({ name: "password", label: t("bonds.custody_password"), type: "password", testid: "bond-custody-password", autocomplete: "off" }),
        h("div", { class: "form-actions" }, save),
      )
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      await busy(save, async () => {
        try {
          await api.post("/bonds/certificates/custody", new FormData(form));
          toast(t("common.saved"), "ok");
          form.reset();
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
