// One bond (#/bonds/<id>): its fields as the reader may see them, its revisions, copies (写し)
// at any revision, and by role: the issuer's update (再入札 F01<3>, 変更契約 F02<3>), deletion
// (F01<4>, F02<2>) and signing of the key (download the to-be-signed file, sign it with
// `kura bond sign`, register the signed file); the contractor's key download (F01<1>); the
// orderer's key entry, which shows the contents once the opening time has passed (F01<2>).
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { navigate } from "../router.js";
import { busy, clear, confirmDialog, errorBox, errorMessage, field, formError, h, loading, pageHeader, selectField, showFormErrors, toast } from "../ui.js";
import { download } from "../components/dom.js";
import { bondFields, bondRole, keyEntry, keyStateLabel, sealedNotice, yen } from "../components/bonds.js";
import { bondNav, bondStyles } from "./bonds.js";

const SEALED_KINDS = ["bid_bond", "performance_reservation"];

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  bondStyles();
  const id = String(params.id || "");
  const role = bondRole(ctx.session);
  root.append(bondNav(ctx.session, ""));
  const body = h("div", {}, loading());
  root.append(body);
  /** @type {string | null} */
  let presentedKey = null;

  async function refresh() {
    /** @type {Kura.Bond} */
    let b;
    /** @type {Kura.BondRevision[]} */
    let revisions;
    try {
      [b, revisions] = await Promise.all([api.get(`/bonds/${encodeURIComponent(id)}`), api.get(`/bonds/${encodeURIComponent(id)}/revisions`)]);
    } catch (err) {
      clear(body).append(errorBox(err));
      return;
    }
    show(b, revisions, null);
  }

  /**
   * @param {Kura.Bond} b
   * @param {Kura.BondRevision[]} revisions
   * @param {Kura.BondOpened["key"] | null} key
   */
  function show(b, revisions, key) {
    clear(body);
    const title = b.view === "full" && b.certificate_no ? `${b.kind_label}（${b.certificate_no}）` : b.kind_label;
    body.append(pageHeader(title));
    const notice = sealedNotice(b);
    if (key) body.append(keyVerdict(key));
    body.append(h("section", { class: "card" }, notice, bondFields(b)));
    if (role === "orderer" && b.can.open) body.append(keyEntry((text) => openWith(text), "bond-key"));
    if (b.can.sign || (b.can.download_key && role === "issuer")) body.append(keySection(b));
    if (b.can.download_key && role === "contractor") {
      const dl = h("button", { type: "button", class: "btn primary", "data-testid": "bond-key-download" }, t("bonds.key_download"));
      dl.addEventListener("click", () => download(`/bonds/${encodeURIComponent(b.id)}/key`, { fallback: "bond.kurakey" }).catch((err) => toast(errorMessage(err), "error")));
      body.append(h("section", { class: "card" }, h("h2", {}, t("bonds.key_title_contractor")), h("p", { class: "hint" }, t("bonds.key_hint_contractor")), dl));
    }
    if (b.can.update) body.append(updateForm(b));
    if (b.kind === "performance_reservation" && b.can.update) {
      body.append(h("p", {}, h("a", { class: "btn", href: `#/bonds/new?carry=${encodeURIComponent(b.id)}`, "data-testid": "bond-carry" }, t("bonds.carry"))));
    }
    if (b.can.delete) body.append(deleteForm(b));
    body.append(revisionTable(b, revisions));
  }

  /** @param {string} text */
  async function openWith(text) {
    try {
      /** @type {Kura.BondOpened} */
      const opened = await api.post(`/bonds/${encodeURIComponent(id)}/open`, { key: text });
      presentedKey = text;
      const revisions = await api.get(`/bonds/${encodeURIComponent(id)}/revisions`);
      show(opened.bond, revisions, opened.key);
    } catch (err) {
      toast(errorMessage(err), "error");
      const box = body.querySelector("[data-testid=bond-key-error]");
      const msg = h("p", { class: "error-box", role: "alert", "data-testid": "bond-key-error" }, errorMessage(err));
      if (box) box.replaceWith(msg);
      else body.prepend(msg);
    }
  }

  /** @param {Kura.BondOpened["key"]} key */
  function keyVerdict(key) {
    return h(
      "section",
      { class: "card ok-box", "data-testid": "bond-key-verdict" },
      h("p", {}, h("strong", {}, t("bonds.key_valid")), " ", t("bonds.key_valid_detail", { rev: key.revision, at: fmtDateTime(key.issued_at), issuer: key.issuer_name })),
      h("p", { class: "small" }, t("bonds.key_cert", { subject: key.certificate_subject })),
      key.custody === "kura" ? h("p", { class: "small", "data-testid": "bond-key-custody" }, t("bonds.key_custody")) : null,
    );
  }

  /** @param {Kura.Bond} b */
  function keySection(b) {
    const section = h("section", { class: "card", "data-testid": "bond-key-section" }, h("h2", {}, t("bonds.key_title_issuer")), h("p", {}, t("bonds.key_state_now", { state: keyStateLabel(b.key_state || "none") })));
    if (b.key_state === "awaiting_signature") {
      const tbs = h("button", { type: "button", class: "btn", "data-testid": "bond-tbs-download" }, t("bonds.tbs_download"));
      tbs.addEventListener("click", () => download(`/bonds/${encodeURIComponent(b.id)}/keys/tbs`, { fallback: "bond.tbs.json" }).catch((err) => toast(errorMessage(err), "error")));
      const file = /** @type {HTMLInputElement} */ (h("input", { type: "file", id: "bond-signed-file", accept: ".kurakey,.json,application/json", "data-testid": "bond-signed-file" }));
      file.addEventListener("change", async () => {
        const f = file.files && file.files[0];
        if (!f) return;
        try {
          await api.post(`/bonds/${encodeURIComponent(b.id)}/keys`, { key: await f.text() });
          toast(t("bonds.key_registered"), "ok");
          await refresh();
        } catch (err) {
          toast(errorMessage(err), "error");
          section.append(h("p", { class: "error-box", role: "alert", "data-testid": "bond-signed-error" }, errorMessage(err)));
        }
        file.value = "";
      });
      section.append(
        h("ol", { class: "steps" }, h("li", {}, t("bonds.sign_step1"), " ", tbs), h("li", {}, t("bonds.sign_step2"), h("pre", { class: "mono small" }, "kura bond sign bond-….tbs.json -o signed.kurakey --pkcs11-module <ICカードのPKCS#11モジュール> --token <トークン名> --key-label <鍵ラベル>")), h("li", {}, h("label", { for: "bond-signed-file" }, t("bonds.sign_step3")), " ", file)),
      );
    } else if (b.can.download_key) {
      const dl = h("button", { type: "button", class: "btn", "data-testid": "bond-key-download" }, t("bonds.key_download"));
      dl.addEventListener("click", () => download(`/bonds/${encodeURIComponent(b.id)}/key`, { fallback: "bond.kurakey" }).catch((err) => toast(errorMessage(err), "error")));
      section.append(dl);
    }
    return section;
  }

  /** @param {Kura.Bond} b */
  function updateForm(b) {
    const sealedKind = SEALED_KINDS.includes(b.kind);
    const events = b.origin === "orderer" ? ["correction"] : sealedKind ? ["rebid", "correction"] : ["contract_change", "correction"];
    const save = h("button", { type: "submit", class: "btn primary", "data-testid": "bond-update-save" }, t("bonds.update_save"));
    const form = h(
      "form",
      { class: "card form-grid", novalidate: true, "data-testid": "bond-update-form" },
      h("h2", {}, t("bonds.update_title")),
      formError(),
      selectField({ name: "event", label: t("bonds.update_event"), options: events.map((e) => ({ value: e, label: t(`bonds.event.${e}`) })), testid: "bond-update-event" }),
      field({ name: "amount", label: t("bonds.f.amount"), type: "number", value: String(b.amount ?? ""), testid: "bond-update-amount", attrs: { min: 1, inputmode: "numeric" } }),
      field({ name: "premium", label: t("bonds.f.premium"), type: "number", value: String(b.premium ?? ""), testid: "bond-update-premium", attrs: { min: 0 } }),
      sealedKind ? field({ name: "opening_at", label: t("bonds.f.opening_at"), type: "datetime-local", value: localValue(b.opening_at), testid: "bond-update-opening" }) : null,
      sealedKind ? null : field({ name: "contract_amount", label: t("bonds.f.contract_amount"), type: "number", value: String(b.contract_amount ?? ""), testid: "bond-update-contract-amount" }),
      field({ name: "period_end", label: t("bonds.f.period_end"), type: "date", value: b.period_end || "", testid: "bond-update-period-end" }),
      b.origin === "electronic" ? h("p", { class: "hint" }, t("bonds.update_hint")) : null,
      h("div", { class: "form-actions" }, save),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      await busy(save, async () => {
        const f = /** @type {HTMLFormElement} */ (form);
        /** @type {Record<string, unknown>} */
        const patch = { version: b.version, event: value(f, "event") };
        for (const name of ["amount", "premium", "contract_amount"]) {
          const v = value(f, name);
          if (v !== "" && Number(v) !== Number(/** @type {Record<string, unknown>} */ (/** @type {unknown} */ (b))[name])) patch[name] = Number(v);
        }
        const end = value(f, "period_end");
        if (end && end !== b.period_end) patch.period_end = end;
        const opening = value(f, "opening_at");
        if (opening && opening !== localValue(b.opening_at)) patch.opening_at = new Date(opening).toISOString();
        try {
          await api.patch(`/bonds/${encodeURIComponent(b.id)}`, patch);
          toast(t("bonds.updated"), "ok");
          await refresh();
        } catch (err) {
          showFormErrors(f, err);
        }
      });
    });
    return form;
  }

  /** @param {Kura.Bond} b */
  function deleteForm(b) {
    const del = h("button", { type: "submit", class: "btn danger", "data-testid": "bond-delete" }, t("bonds.delete"));
    const form = h(
      "form",
      { class: "card form-actions", novalidate: true },
      formError(),
      selectField({ name: "reason", label: t("bonds.delete_reason"), options: ["lost", "contracted", "completed", "withdrawn", "error"].map((r) => ({ value: r, label: t(`bonds.reason.${r}`) })), testid: "bond-delete-reason" }),
      del,
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!(await confirmDialog(t("bonds.delete_confirm"), { danger: true }))) return;
      await busy(del, async () => {
        try {
          await api.del(`/bonds/${encodeURIComponent(b.id)}`, { version: b.version, reason: value(/** @type {HTMLFormElement} */ (form), "reason") });
          toast(t("bonds.deleted"), "ok");
          navigate("#/bonds");
        } catch (err) {
          showFormErrors(/** @type {HTMLFormElement} */ (form), err);
        }
      });
    });
    return form;
  }

  /**
   * @param {Kura.Bond} b
   * @param {Kura.BondRevision[]} revisions
   */
  function revisionTable(b, revisions) {
    const canCopy = b.view === "full";
    return h(
      "section",
      { class: "card" },
      h("h2", {}, t("bonds.revisions")),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data", "data-testid": "bond-revisions" },
          h("thead", {}, h("tr", {}, ["revision", "event", "at", "amount", "premium_difference", "copy"].map((c) => h("th", { scope: "col" }, t(`bonds.rev.${c}`))))),
          h(
            "tbody",
            {},
            revisions.map((r) => {
              const copy = h("button", { type: "button", class: "btn small", "data-testid": "bond-copy", "data-revision": String(r.revision) }, t("bonds.copy"));
              copy.addEventListener("click", () => {
                const saving = presentedKey
                  ? download(`/bonds/${encodeURIComponent(b.id)}/copy`, { method: "POST", body: { key: presentedKey, revision: r.revision }, fallback: "bond-copy.pdf" })
                  : download(`/bonds/${encodeURIComponent(b.id)}/copy.pdf?revision=${r.revision}`, { fallback: "bond-copy.pdf" });
                saving.catch((err) => toast(errorMessage(err), "error"));
              });
              return h("tr", {}, h("td", {}, String(r.revision)), h("td", {}, r.event_label), h("td", { class: "nowrap" }, fmtDateTime(r.at)), h("td", { class: "num" }, r.amount === null ? "—" : yen(r.amount)), h("td", { class: "num" }, r.premium_difference === null ? "—" : yen(r.premium_difference)), h("td", {}, canCopy ? copy : "—"));
            }),
          ),
        ),
      ),
    );
  }

  await refresh();
}

/**
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {string}
 */
function value(form, name) {
  const el = form.elements.namedItem(name);
  return el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement ? el.value : "";
}

/** @param {string | null} iso @returns {string} the datetime-local value in local time */
export function localValue(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
