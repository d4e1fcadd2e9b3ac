// #/qualifications/<roundId>/received: what was sent to the reader's municipality (issue 14 §5;
// seed 004 第1 10: each municipality reviews on its own). The host prefecture sees every filing
// (it receives the common papers, 第1 8). Export as CSV or Excel; open one filing to read it,
// print its receipt (a municipality's own copy), record the papers received and notes.

import { qualStyles } from "../components/qual-fields.js";
import { api, apiUrl } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { clear, empty, errorBox, h, loading, pageHeader, toast } from "../ui.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  qualStyles();
  const roundId = String(params.roundId || "");
  ctx.setTitle(t("qual.recv.title"));
  root.append(loading());
  /** @type {Kura.QualRound} */
  let round;
  /** @type {Kura.Page<Kura.QualReceivedRow>} */
  let page;
  try {
    [round, page] = await Promise.all([
      api.get(`/qualifications/rounds/${encodeURIComponent(roundId)}`),
      api.get(`/qualifications/rounds/${encodeURIComponent(roundId)}/received`, { limit: 50 }),
    ]);
  } catch (e) {
    clear(root).append(errorBox(e));
    return;
  }
  const detail = h("section", { class: "qdetail card", "aria-live": "polite", hidden: true, "data-testid": "received-detail" });
  const body = h("tbody", {});
  const more = h("button", { type: "button", class: "btn", "data-testid": "received-more" }, t("qual.recv.more"));
  /** @param {Kura.QualReceivedRow[]} items */
  const addRows = (items) => {
    for (const r of items) {
      body.append(
        h(
          "tr",
          { "data-testid": "received-row", "data-id": r.id },
          h("td", {}, r.receipt_no),
          h("td", {}, r.company_name, h("div", { class: "qhint" }, r.company_kana)),
          h("td", {}, fmtDateTime(r.sent_at)),
          h("td", {}, r.categories.join("、")),
          h("td", {}, r.targets.join("、")),
          h("td", {}, t(`qual.status.${r.status}`)),
          h("td", {}, h("button", { type: "button", class: "btn small", "data-testid": "received-open", onclick: () => void openDetail(detail, r.id, round) }, t("qual.recv.open"))),
        ),
      );
    }
  };
  addRows(page.items);
  let cursor = page.next_cursor || null;
  more.hidden = !cursor;
  more.addEventListener("click", async () => {
    const next = await api.get(`/qualifications/rounds/${encodeURIComponent(roundId)}/received`, { limit: 50, cursor });
    addRows(next.items);
    cursor = next.next_cursor || null;
    more.hidden = !cursor;
  });
  clear(root).append(
    pageHeader(
      t("qual.recv.title"),
      h("a", { class: "btn", href: apiUrl(`/qualifications/rounds/${encodeURIComponent(roundId)}/received/export.csv`), "data-testid": "export-csv" }, t("qual.recv.csv")),
      h("a", { class: "btn", href: apiUrl(`/qualifications/rounds/${encodeURIComponent(roundId)}/received/export.xlsx`), "data-testid": "export-xlsx" }, t("qual.recv.xlsx")),
    ),
    h("p", { class: "qround-name" }, round.name, " ", h("span", { "data-testid": "received-count" }, t("qual.recv.count", { n: page.total || 0 }))),
    page.items.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data", "data-testid": "received-table" },
            h("thead", {}, h("tr", {}, ["no", "company", "sent_at", "categories", "targets", "status"].map((k) => h("th", { scope: "col" }, t(`qual.recv.${k}`))), h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("qual.recv.open"))))),
            body,
          ),
        )
      : empty(t("qual.rounds.empty")),
    more,
    detail,
  );
}

/**
 * @param {HTMLElement} box
 * @param {string} id
 * @param {Kura.QualRound} round
 */
async function openDetail(box, id, round) {
  /** @type {Kura.QualApplication} */
  const app = await api.get(`/qualifications/applications/${encodeURIComponent(id)}`);
  const host = app.viewer.as === "host";
  const co = app.values.company || {};
  const desk = app.desk || { papers_received: [], own_received: false, notes: [], version: undefined };
  const received = new Set(host ? desk.papers_received : app.common_received);
  const boxes = app.papers.map((p) =>
    host
      ? h("label", { class: "qchoice" }, h("input", { type: "checkbox", value: String(p.no), checked: received.has(p.no), "data-testid": `paper-${p.no}` }), `${p.no}. ${p.title}`)
      : h("li", {}, `${received.has(p.no) ? "✓ " : "― "}${p.no}. ${p.title}`),
  );
  const own = h("input", { type: "checkbox", id: "desk-own", checked: desk.own_received, "data-testid": "desk-own" });
  const note = h("textarea", { id: "desk-note", rows: "3", class: "qinput", "data-testid": "desk-note" });
  const notes = h("ul", { class: "qnotes", "data-testid": "desk-notes" }, desk.notes.map((n) => h("li", {}, `${fmtDateTime(n.at)} ${n.by_name}: ${n.text}`)));
  clear(box).append(
    h("h2", {}, `${app.receipt_no} ${app.company_name}`),
    h("p", {}, `${t("qual.app.status")}: ${t(`qual.status.${app.status}`)}（${t(`qual.kind.${app.kind}`)}）`),
    h("dl", { class: "qconfirm" }, [
      [t("qual.f.name_kana"), co.name_kana],
      [t("qual.f.corporate_number"), co.corporate_number],
      [t("qual.f.rep_name"), `${co.rep_title || ""}　${co.rep_name || ""}`],
      [t("qual.f.phone"), co.phone],
      [t("qual.f.email"), co.email],
      [t("qual.targets"), app.target_names.map((x) => x.name).join("、")],
      [t("qual.attach.file"), app.attachment_name || t("qual.attach.none")],
    ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v || "―")])),
    h(
      "div",
      { class: "toolbar" },
      h("a", { class: "btn", href: `/api/v1/qualifications/applications/${encodeURIComponent(app.id)}/receipt.pdf`, target: "_blank", rel: "noopener", "data-testid": "detail-receipt" }, t("qual.receipt")),
      app.attachment_id ? h("a", { class: "btn", href: `/api/v1/attachments/${encodeURIComponent(app.attachment_id)}/content`, "data-testid": "detail-attachment" }, app.attachment_name || "nouzei") : null,
    ),
    h("h3", {}, t("qual.desk.title")),
    h("fieldset", { class: "qgroup" }, h("legend", {}, t("qual.desk.common")), host ? h("div", { class: "qchoices" }, boxes) : h("ul", {}, boxes)),
    ...(!host || app.targets.includes(`${round.prefecture}000`) ? [h("label", { class: "qchoice", for: "desk-own" }, own, t("qual.desk.own"))] : []),
    h(
      "button",
      {
        type: "button",
        class: "btn primary",
        "data-testid": "desk-save",
        onclick: async () => {
          /** @type {Record<string, unknown>} */
          const body = { own_received: own.checked };
          if (host) body.papers_received = [...box.querySelectorAll("input[data-testid^=paper-]")].filter((x) => x instanceof HTMLInputElement && x.checked).map((x) => Number(/** @type {HTMLInputElement} */ (x).value));
          await api.patch(`/qualifications/applications/${encodeURIComponent(app.id)}/desk`, body);
          toast(t("qual.desk.saved"), "ok");
        },
      },
      t("qual.desk.save"),
    ),
    h("div", { class: "qfield" }, h("label", { for: "desk-note" }, t("qual.desk.note")), note),
    h(
      "button",
      {
        type: "button",
        class: "btn",
        "data-testid": "desk-add-note",
        onclick: async () => {
          if (!note.value.trim()) return;
          const saved = await api.post(`/qualifications/applications/${encodeURIComponent(app.id)}/notes`, { text: note.value });
          note.value = "";
          clear(notes).append(...saved.notes.map((/** @type {{ at: string, by_name: string, text: string }} */ n) => h("li", {}, `${fmtDateTime(n.at)} ${n.by_name}: ${n.text}`)));
        },
      },
      t("qual.desk.add_note"),
    ),
    h("h3", {}, t("qual.desk.notes")),
    notes,
  );
  box.hidden = false;
  box.scrollIntoView({ block: "start" });
}
