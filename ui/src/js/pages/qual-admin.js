// #/qualifications/admin (operators): the 経審 data the send checks against (seed 004 第2 3(29)
// ○注意事項1: the system's database), imported from a CSV or Excel file with its source and date
// (every bad line listed, nothing stored), and the application rounds (第1 1-2, 第3): periods,
// hours, deadlines, the target municipalities (orderer organizations whose 発注者コード starts
// with the municipality code) with their own documents (第1 9), excluded ones (第1 1).

import { qualStyles } from "../components/qual-fields.js";
import { api, ApiError, csrfToken } from "../api.js";
import { fmtDate, fmtDateTime, t } from "../i18n.js";
import { busy, clear, errorBox, field, formError, formValues, h, loading, pageHeader, showFormErrors, toast } from "../ui.js";
import { loadTus } from "../components/upload-queue.js";
import { loadOrgs } from "./admin-users.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} _params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, _params, ctx) {
  qualStyles();
  ctx.setTitle(t("qual.admin.title"));
  root.append(loading());
  /** @type {Kura.QualRound[]} */
  let rounds;
  /** @type {{ id: string, source: string, as_of: string, file_name: string, companies: number, lines: number, state: string, imported_at: string }[]} */
  let sets;
  /** @type {Kura.Org[]} */
  let orgs;
  try {
    [rounds, sets, orgs] = await Promise.all([api.get("/qualifications/rounds"), api.get("/qualifications/review-sets"), loadOrgs()]);
  } catch (e) {
    clear(root).append(errorBox(e));
    return;
  }
  const reload = () => ctx.navigate("#/qualifications/admin", { replace: true });
  clear(root).append(
    pageHeader(t("qual.admin.title")),
    h(
      "section",
      { class: "card", "aria-labelledby": "reviews-h" },
      h("h2", { id: "reviews-h" }, t("qual.admin.reviews")),
      importForm(reload),
      h(
        "ul",
        { class: "qfacts", "data-testid": "review-sets" },
        sets.map((s) => h("li", {}, `${fmtDateTime(s.imported_at)} ${s.file_name}（${s.source}、${fmtDate(s.as_of)}）${t("qual.admin.counts", { companies: String(s.companies), lines: String(s.lines) })} — ${t(s.state === "current" ? "qual.admin.current" : "qual.admin.replaced")}`)),
      ),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "rounds-h" },
      h("h2", { id: "rounds-h" }, t("qual.admin.rounds")),
      h(
        "ul",
        { class: "qfacts" },
        rounds.map((r) =>
          h(
            "li",
            {},
            `${r.code} ${r.name}（${fmtDate(r.filing_start)}～${fmtDate(r.filing_end)}）`,
            " ",
            h(
              "button",
              {
                type: "button",
                class: "btn small",
                onclick: async () => {
                  await api.patch(`/qualifications/rounds/${encodeURIComponent(r.id)}`, { version: r.version, published: !r.published });
                  reload();
                },
              },
              t(r.published ? "qual.admin.unpublish" : "qual.admin.publish"),
            ),
          ),
        ),
      ),
      roundForm(orgs, reload),
    ),
  );
}

/** @param {() => void} done */
function importForm(done) {
  const form = h("form", { class: "form", novalidate: true, "data-testid": "review-import" });
  const file = h("input", { type: "file", id: "review-file", name: "file", accept: ".csv,.xlsx", required: true, "data-testid": "review-file" });
  const submit = h("button", { type: "submit", class: "btn primary" }, t("qual.admin.import"));
  form.append(
    formError(),
    h("div", { class: "field", "data-field": "attachment_id" }, h("label", { for: "review-file" }, t("qual.admin.file")), file, h("p", { class: "field-error", hidden: true })),
    field({ name: "source", label: t("qual.admin.source"), required: true, value: "国土交通省 経営事項審査結果" }),
    field({ name: "as_of", label: t("qual.admin.as_of"), type: "date", required: true }),
    submit,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, async () => {
      const chosen = file.files && file.files[0];
      if (!chosen) return;
      const v = formValues(form);
      try {
        const id = await uploadFile(chosen);
        const stored = await api.post("/qualifications/review-sets", { attachment_id: id, source: v.source, as_of: v.as_of });
        toast(t("qual.admin.imported", { companies: stored.companies, lines: stored.lines }), "ok");
        done();
      } catch (err) {
        const problem = ApiError.from(err);
        showFormErrors(form, problem);
        const lines = /** @type {{ line?: number, message?: string }[]} */ (/** @type {unknown} */ (problem.problem.errors || []));
        const box = form.querySelector("[data-form-error]");
        if (box && lines.length) box.append(h("ul", {}, lines.map((x) => h("li", {}, `${x.line}行目: ${x.message}`))));
      }
    });
  });
  return form;
}

/**
 * @param {Kura.Org[]} orgs
 * @param {() => void} done
 */
function roundForm(orgs, done) {
  const orderers = orgs.filter((o) => o.kind === "orderer" && o.code);
  const form = h("form", { class: "form", novalidate: true, "data-testid": "round-form" });
  const submit = h("button", { type: "submit", class: "btn primary" }, t("qual.admin.create"));
  const targetBoxes = orderers.map((o) => {
    const box = h("input", { type: "checkbox", id: `t-${o.id}`, value: o.id });
    const docs = h("textarea", { id: `d-${o.id}`, rows: "2", class: "qinput" });
    return { org: o, box, docs, el: h("div", { class: "qtarget" }, h("label", { class: "qchoice", for: box.id }, box, `${String(o.code).slice(0, 5)} ${o.name}`), h("label", { for: docs.id, class: "qhint" }, t("qual.admin.own_documents")), docs) };
  });
  form.append(
    formError(),
    h("h3", {}, t("qual.admin.new")),
    field({ name: "code", label: t("qual.admin.f.code"), required: true, value: "R8" }),
    field({ name: "name", label: t("qual.admin.f.name"), required: true }),
    field({ name: "prefecture", label: t("qual.admin.f.prefecture"), required: true, value: "34" }),
    field({ name: "filing_start", label: t("qual.admin.f.filing_start"), type: "date", required: true }),
    field({ name: "filing_end", label: t("qual.admin.f.filing_end"), type: "date", required: true }),
    field({ name: "hours_open", label: t("qual.admin.f.hours_open"), type: "time", value: "09:00", required: true }),
    field({ name: "hours_close", label: t("qual.admin.f.hours_close"), type: "time", value: "17:00", required: true }),
    field({ name: "paper_deadline", label: t("qual.admin.f.paper_deadline"), type: "date", required: true }),
    field({ name: "correction_deadline", label: t("qual.admin.f.correction_deadline"), type: "date", required: true }),
    field({ name: "additional_start", label: t("qual.admin.f.additional_start"), type: "date" }),
    field({ name: "additional_end", label: t("qual.admin.f.additional_end"), type: "date" }),
    field({ name: "review_base_from", label: t("qual.admin.f.review_base_from"), type: "date", required: true }),
    field({ name: "paper_address", label: t("qual.admin.f.paper_address"), type: "textarea", required: true }),
    field({ name: "excluded", label: t("qual.admin.f.excluded"), value: "" }),
    h("fieldset", { class: "qgroup", "data-field": "targets" }, h("legend", {}, t("qual.admin.f.targets")), targetBoxes.map((x) => x.el), h("p", { class: "field-error", hidden: true })),
    submit,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, async () => {
      const v = /** @type {Record<string, string>} */ (formValues(form));
      const body = {
        code: v.code,
        name: v.name,
        prefecture: v.prefecture,
        filing_start: v.filing_start,
        filing_end: v.filing_end,
        hours: { open: v.hours_open, close: v.hours_close },
        paper_deadline: v.paper_deadline,
        correction_deadline: v.correction_deadline,
        additional_start: v.additional_start || null,
        additional_end: v.additional_end || null,
        review_base_from: v.review_base_from,
        paper_address: v.paper_address,
        excluded: v.excluded ? v.excluded.split(/[,、\s]+/).filter(Boolean).map((code) => ({ code })) : [],
        targets: targetBoxes.filter((x) => x.box.checked).map((x) => ({ code: String(x.org.code).slice(0, 5), org_id: x.org.id, own_documents: x.docs.value.split("\n").map((s) => s.trim()).filter(Boolean) })),
      };
      try {
        await api.post("/qualifications/rounds", body);
        done();
      } catch (err) {
        showFormErrors(form, ApiError.from(err));
      }
    });
  });
  return form;
}

/**
 * A file through the shared attachments (tus creation with upload).
 * @param {File} file
 * @returns {Promise<string>}
 */
async function uploadFile(file) {
  const tus = await loadTus();
  return new Promise((resolve, reject) => {
    let id = "";
    const up = new tus.Upload(file, {
      endpoint: "/api/v1/attachments/uploads",
      metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
      uploadDataDuringCreation: true,
      storeFingerprintForResuming: false,
      headers: { "X-CSRF-Token": csrfToken() },
      onAfterResponse: (_req, res) => {
        id = res.getHeader("Kura-Attachment-Id") || id;
      },
      onError: (err) => reject(err),
      onSuccess: () => (id ? resolve(id) : reject(new Error("no attachment id"))),
    });
    up.start();
  });
}
