// データ消去 (#/admin/erasures[?state=|?scope=]): the operators' page of erasure (issue 12 §2;
// seed 001 §3-6, 別表3 12(1) 自動あるいは手動により削除, 12(2) 消去証明).
// - the list of planned, running and finished erasures, by name (工事名・業務名 and the part:
//   情報共有データ / 電子成果品, or the organization), filtered by state; withdraw a plan,
//   download a finished one's certificate;
// - choosing a scope: a work searched by name, or an organization, then its part;
// - one scope (?scope=): its key, its plan or erasure, a legal hold; plan a date (PUT
//   schedule), withdraw, or erase now after typing the scope's displayed name (`confirm`).
// Operators only (router.js); the API decides (api/erasures/permissions.py).

import { api } from "../api.js";
import { fmtDate, fmtDateTime, fmtNumber, t } from "../i18n.js";
import { navigate } from "../router.js";
import { download } from "../components/dom.js";
import { adminLayout } from "./admin.js";
import { badge, busy, clear, clearFormErrors, confirmDialog, control, empty, errorBox, errorMessage, field, formError, h, loading, pageHeader, selectField, showFormErrors, toast } from "../ui.js";

const BASE = "#/admin/erasures";
const FILTERS = ["scheduled", "running", "done"];
/** @type {Record<string, string>} */
const TONES = { none: "neutral", scheduled: "warn", running: "info", key_destroyed: "info", records_erased: "info", done: "ok" };

export function ensureProtectStyles() {
  if (document.getElementById("protect-css")) return;
  document.head.append(h("link", { id: "protect-css", rel: "stylesheet", href: "css/protect.css" }));
}

/**
 * @param {string} state
 * @returns {HTMLSpanElement}
 */
function stateBadge(state) {
  return badge(t(`erase.state.${state}`), TONES[state] || "neutral", { "data-testid": "erase-state", "data-state": state });
}

/**
 * @param {Kura.ErasureActor | null | undefined} actor
 * @returns {string}
 */
function actorName(actor) {
  if (!actor) return "";
  return actor.kind === "system" ? t("erase.system") : actor.name || t("keys.unknown");
}

/**
 * The scope's names: the work's title (or the organization) and the part, never ids.
 * @param {Kura.ErasureView} v
 * @returns {string}
 */
function targetName(v) {
  return v.part === "org" ? v.org_name || t("work.name_unknown") : (v.work && v.work.title) || t("work.name_unknown");
}

/** @param {string} scope */
const detailHash = (scope) => `${BASE}?scope=${encodeURIComponent(scope)}`;

/**
 * Download the certificate of a finished erasure (a PDF).
 * @param {HTMLButtonElement} button
 * @param {Kura.ErasureView} v
 */
function certificate(button, v) {
  return busy(button, async () => {
    try {
      await download(`/erasures/${encodeURIComponent(v.scope)}/certificate`, { fallback: "erasure-certificate.pdf" });
      toast(t("erase.certificate_saved"), "ok");
    } catch (err) {
      toast(errorMessage(err), "error");
    }
  });
}

/**
 * @param {Kura.ErasureView} v
 * @returns {HTMLButtonElement}
 */
function certificateButton(v, testid = "erase-certificate") {
  const b = h("button", { type: "button", class: "btn", "data-testid": testid }, t("erase.certificate"));
  b.addEventListener("click", () => certificate(b, v));
  return b;
}

/**
 * Withdraw a plan after a confirmation; true when withdrawn.
 * @param {Kura.ErasureView} v
 * @returns {Promise<boolean>}
 */
async function withdraw(v) {
  if (!(await confirmDialog(t("erase.withdraw_confirm", { label: v.label }), { okLabel: t("erase.withdraw") }))) return false;
  try {
    await api.del(`/erasures/${encodeURIComponent(v.scope)}/schedule`);
    toast(t("erase.withdrawn"), "ok");
    return true;
  } catch (err) {
    toast(errorMessage(err), "error");
    return false;
  }
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureProtectStyles();
  ctx.setTitle(t("erase.title"));
  const content = adminLayout(root, ctx, "/admin/erasures");
  const q = params.query || {};
  if (q.scope) {
    await detail(content, q.scope);
    return;
  }
  const chooser = h("div", {});
  const open = h("button", { type: "button", class: "btn primary", "data-testid": "erase-choose", "aria-expanded": "false" }, t("erase.choose"));
  open.addEventListener("click", () => {
    const shown = open.getAttribute("aria-expanded") === "true";
    open.setAttribute("aria-expanded", String(!shown));
    clear(chooser);
    if (!shown) chooser.append(chooseCard());
  });
  content.append(pageHeader(t("erase.title"), open), h("p", { class: "muted lead-text" }, t("erase.lead")), chooser);
  const state = FILTERS.includes(q.state) ? q.state : "";
  const filter = selectField({
    name: "state",
    label: t("erase.state"),
    value: state,
    blank: t("common.all"),
    testid: "erase-state-filter",
    options: FILTERS.map((s) => ({ value: s, label: t(s === "running" ? "erase.filter.running" : `erase.state.${s}`) })),
  });
  const select = filter.querySelector("select");
  select?.addEventListener("change", () => navigate(select.value ? `${BASE}?state=${select.value}` : BASE));
  const results = h("div", {}, loading());
  content.append(h("div", { class: "toolbar" }, filter), results);
  try {
    /** @type {{ items: Kura.ErasureView[] }} */
    const listed = await api.get("/erasures", { state: state || undefined });
    clear(results);
    if (!listed.items.length) {
      results.append(h("div", { class: "card", "data-testid": "erase-empty" }, empty(t(state ? "erase.empty_filtered" : "erase.empty"))));
      return;
    }
    const body = h("tbody", {});
    for (const v of listed.items) body.append(row(v));
    results.append(h("div", { class: "table-wrap" }, h("table", { class: "data", "data-testid": "erase-table" }, h("thead", {}, h("tr", {}, ["target", "part", "org", "state", "date", "reason", "counts", "actions"].map((c) => h("th", { scope: "col" }, t(`erase.col.${c}`))))), body)));
  } catch (err) {
    clear(results);
    results.append(errorBox(err));
  }
}

/**
 * @param {Kura.ErasureView} v
 * @returns {HTMLTableRowElement}
 */
function row(v) {
  const e = v.erasure;
  const actions = h("td", { class: "nowrap" });
  if (v.state === "scheduled") {
    const b = h("button", { type: "button", class: "btn small", "data-testid": "erase-row-withdraw" }, t("erase.withdraw"));
    b.addEventListener("click", () =>
      busy(b, async () => {
        if (await withdraw(v)) navigate(window.location.hash);
      }),
    );
    actions.append(b);
  } else if (v.state === "done" && e) actions.append(certificateButton(v, "erase-row-certificate"));
  const date = v.state === "scheduled" ? fmtDate(e?.due_on) : fmtDateTime(e?.finished_at || e?.destroyed_at || v.key_destroyed_at);
  const counts = v.state === "done" && e ? t("erase.counts", { records: fmtNumber(e.records_total ?? 0), objects: fmtNumber(e.objects ?? 0), index: fmtNumber(e.index ?? 0) }) : "";
  return h(
    "tr",
    { "data-testid": "erase-row", "data-state": v.state, "data-part": v.part },
    h("td", {}, h("a", { href: detailHash(v.scope), "data-testid": "erase-open" }, targetName(v))),
    h("td", {}, t(`erase.part.${v.part}`)),
    h("td", {}, v.org_name || ""),
    h("td", {}, stateBadge(v.state)),
    h("td", { class: "nowrap" }, date),
    h("td", {}, e?.reason || ""),
    h("td", { class: "small" }, counts),
    actions,
  );
}

/** @returns {HTMLElement} the card that picks a work (by name) or an organization, then a part */
function chooseCard() {
  const headId = "erase-choose-head";
  const pane = h("div", {});
  /** @param {string} kind */
  const radio = (kind) =>
    h("label", { class: "check" }, h("input", { type: "radio", name: "erase-pick", value: kind, checked: kind === "work", "data-testid": `erase-pick-${kind}`, onchange: () => show(kind) }), " ", t(`erase.pick_${kind}`));
  const card = h(
    "section",
    { class: "card", "aria-labelledby": headId, "data-testid": "erase-chooser" },
    h("h2", { id: headId }, t("erase.choose")),
    h("p", { class: "muted" }, t("erase.choose_lead")),
    h("fieldset", { class: "field" }, h("legend", {}, t("erase.pick")), h("div", { class: "check-row" }, radio("work"), radio("org"))),
    pane,
  );
  /** @param {string} kind */
  function show(kind) {
    clear(pane);
    pane.append(kind === "org" ? orgPicker() : workPicker());
  }
  show("work");
  return card;
}

/** @returns {HTMLElement} */
function workPicker() {
  const found = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "toolbar", role: "search", "data-testid": "erase-work-search-form" },
    field({ name: "q", label: t("erase.work_q"), testid: "erase-work-q", hint: t("erase.work_q_hint") }),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn", "data-testid": "erase-work-search" }, t("common.search"))),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = control(form, "q").value.trim();
    clear(found).append(loading());
    try {
      /** @type {Kura.Page<Kura.Work>} */
      const page = await api.get("/works", { q: q || undefined, limit: 20 });
      clear(found);
      if (!page.items.length) {
        found.append(empty(t("erase.work_none")));
        return;
      }
      found.append(
        h(
          "ul",
          { class: "scope-pick", "data-testid": "erase-works" },
          page.items.map((w) =>
            h(
              "li",
              { "data-testid": "erase-work", "data-title": w.title },
              h("span", {}, h("strong", {}, w.title), " ", h("span", { class: "small muted" }, w.number)),
              h(
                "span",
                { class: "scope-pick-actions" },
                ["collab", "archive"].map((part) =>
                  h("a", { class: "btn small", href: detailHash(`${part === "collab" ? "wc" : "wa"}-${w.id}`), "data-testid": `erase-open-${part}`, "aria-label": `${w.title}: ${t("erase.open_part", { part: t(`erase.part.${part}`) })}` }, t(`erase.part.${part}`)),
                ),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      clear(found).append(errorBox(err));
    }
  });
  return h("div", {}, form, found);
}

/** @returns {HTMLElement} */
function orgPicker() {
  const wrap = h("div", {}, loading());
  void (async () => {
    try {
      /** @type {Kura.Page<Kura.Org>} */
      const orgs = await api.get("/organizations", { limit: 200 });
      const mine = orgs.items.filter((o) => o.kind !== "operator");
      const pick = selectField({ name: "org", label: t("erase.org"), testid: "erase-org", options: mine.map((o) => ({ value: o.id, label: `${o.name}（${t(`orgkind.${o.kind}`)}）` })) });
      const go = h("button", { type: "button", class: "btn", "data-testid": "erase-open-org" }, t("erase.open_org"));
      go.addEventListener("click", () => {
        const sel = pick.querySelector("select");
        if (sel && sel.value) navigate(detailHash(`o-${sel.value}`));
      });
      clear(wrap).append(h("div", { class: "toolbar" }, pick, h("div", { class: "form-actions" }, go)));
    } catch (err) {
      clear(wrap).append(errorBox(err));
    }
  })();
  return wrap;
}

/**
 * One scope: what it is, its key, its plan or erasure, and the actions its state allows.
 * @param {HTMLElement} content
 * @param {string} scope
 */
async function detail(content, scope) {
  content.append(h("p", { class: "breadcrumb" }, h("a", { href: BASE, "data-testid": "erase-back" }, t("erase.back"))), pageHeader(t("erase.title")));
  const box = h("div", {}, loading());
  content.append(box);
  /** @type {Kura.ErasureView} */
  let v;
  try {
    v = await api.get(`/erasures/${encodeURIComponent(scope)}`);
  } catch (err) {
    clear(box).append(errorBox(err));
    return;
  }
  clear(box);
  const e = v.erasure;
  const key = v.key;
  /** @type {[string, string | Node][]} */
  const props = [];
  if (v.work) {
    props.push([t("erase.work_number"), v.work.number || ""]);
    props.push([t("erase.orderer"), v.org_name || ""]);
  }
  props.push([t("erase.state"), stateBadge(v.state)]);
  if (key) {
    const text =
      key.state === "destroyed"
        ? t("erase.key.destroyed", { at: fmtDateTime(key.destroyed_at) })
        : key.state === "active"
          ? t("erase.key.active", { at: fmtDateTime(key.created_at) })
          : t("erase.key.none");
    props.push([t("erase.key"), h("span", { "data-testid": "erase-key", "data-state": key.state }, text)]);
  }
  if (e && e.due_on && v.state === "scheduled") props.push([t("erase.due_on"), h("span", { "data-testid": "erase-due" }, fmtDate(e.due_on))]);
  if (e && e.source && v.state === "scheduled") props.push([t("erase.source"), t(`erase.source.${e.source}`)]);
  if (e && e.scheduled_by_actor && v.state === "scheduled") props.push([t("erase.scheduled_by"), `${actorName(e.scheduled_by_actor)}（${fmtDateTime(e.scheduled_at)}）`]);
  if (e && e.reminded_on && v.state === "scheduled") props.push([t("erase.reminded_on"), fmtDate(e.reminded_on)]);
  if (e && e.reason) props.push([t("erase.reason"), e.reason]);
  if (e && v.state !== "scheduled" && e.by_actor) props.push([t("erase.erased_by"), actorName(e.by_actor)]);
  if (e && e.finished_at) props.push([t("erase.finished_at"), fmtDateTime(e.finished_at)]);
  if (e && v.state === "done") props.push([t("erase.col.counts"), t("erase.counts", { records: fmtNumber(e.records_total ?? 0), objects: fmtNumber(e.objects ?? 0), index: fmtNumber(e.index ?? 0) })]);
  else props.push([t("erase.what"), h("span", { "data-testid": "erase-what" }, t(`erase.what.${v.part}`))]);
  if (v.work && v.part !== "org") {
    const other = v.part === "collab" ? "archive" : "collab";
    const link = h("a", { href: detailHash(`${other === "collab" ? "wc" : "wa"}-${v.work.id}`), "data-testid": "erase-sibling" }, t("erase.open_part", { part: t(`erase.part.${other}`) }));
    props.push([t("erase.sibling"), link]);
  }
  const headId = "erase-detail-head";
  const card = h(
    "section",
    { class: "card", "aria-labelledby": headId, "data-testid": "erase-detail", "data-state": v.state },
    h("h2", { id: headId }, targetName(v), " ", badge(t(`erase.part.${v.part}`), "info", { "data-testid": "erase-part" })),
    h("dl", { class: "props" }, props.map(([k, val]) => [h("dt", {}, k), h("dd", {}, val)])),
  );
  box.append(card);
  if (v.legal_hold) box.append(h("div", { class: "notice warn", role: "note", "data-testid": "erase-hold" }, h("strong", {}, t("erase.hold")), h("p", {}, v.legal_hold)));
  if (v.state === "done") {
    card.append(h("p", { class: "muted" }, t("erase.done_note")), h("div", { class: "form-actions" }, certificateButton(v)));
    return;
  }
  if (v.state !== "none" && v.state !== "scheduled") {
    // Over the API the key goes at once and the rest runs as a job (erasures.finish): while it
    // is queued or running the page says so and looks again; a failed job, or an erasure
    // without one, is finished by the hourly beat or `kura keys erase`.
    const working = v.job && ["queued", "sent", "running"].includes(v.job.state || "");
    card.append(h("p", { class: "notice", "data-testid": "erase-running", "data-job": v.job?.state || "" }, t(working ? "erase.running_job" : "erase.running_note")));
    if (working) {
      const here = window.location.hash;
      window.setTimeout(() => {
        if (window.location.hash === here) navigate(here);
      }, 1500);
    }
    return;
  }
  if (v.state === "scheduled") {
    const b = h("button", { type: "button", class: "btn", "data-testid": "erase-withdraw" }, t("erase.withdraw"));
    b.addEventListener("click", () =>
      busy(b, async () => {
        if (await withdraw(v)) navigate(window.location.hash);
      }),
    );
    card.append(h("div", { class: "form-actions" }, b));
  }
  box.append(planForm(v), eraseForm(v));
}

/**
 * Plan the erasure for a date (PUT /erasures/{scope}/schedule); errors beside their fields.
 * @param {Kura.ErasureView} v
 * @returns {HTMLElement}
 */
function planForm(v) {
  const headId = "erase-plan-head";
  const form = h(
    "form",
    { class: "form", "data-testid": "erase-plan-form", novalidate: true },
    field({ name: "due_on", label: t("erase.due_on"), type: "date", required: true, value: v.state === "scheduled" ? v.erasure?.due_on || "" : "", testid: "erase-plan-due" }),
    field({ name: "reason", label: t("erase.reason"), type: "textarea", value: v.state === "scheduled" ? v.erasure?.reason || "" : "", testid: "erase-plan-reason", attrs: { rows: "2", maxlength: "200" } }),
    formError(),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn primary", "data-testid": "erase-plan-submit" }, t(v.state === "scheduled" ? "erase.plan_change" : "erase.plan_submit"))),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    const due = control(form, "due_on").value;
    if (!due) {
      showFormErrors(form, { fields: new Map([["due_on", t("validation.missing")]]) });
      return;
    }
    const submit = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    await busy(submit, async () => {
      try {
        await api.put(`/erasures/${encodeURIComponent(v.scope)}/schedule`, { due_on: due, reason: control(form, "reason").value });
        toast(t("erase.planned", { date: fmtDate(due) }), "ok");
        navigate(window.location.hash);
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });
  return h("section", { class: "card", "aria-labelledby": headId }, h("h2", { id: headId }, t("erase.plan_title")), h("p", { class: "muted" }, t("erase.plan_lead")), form);
}

/**
 * Erase now (POST /erasures/{scope}) once the operator typed the scope's displayed name; the
 * API checks it too. A refusal (legal hold 409) shows beside the button.
 * @param {Kura.ErasureView} v
 * @returns {HTMLElement}
 */
function eraseForm(v) {
  const headId = "erase-now-head";
  const form = h(
    "form",
    { class: "form", "data-testid": "erase-now-form", novalidate: true },
    field({ name: "reason", label: t("erase.reason"), type: "textarea", testid: "erase-now-reason", attrs: { rows: "2", maxlength: "200" } }),
    field({ name: "confirm", label: t("erase.confirm", { label: v.label }), required: true, testid: "erase-confirm", hint: t("erase.confirm_hint"), autocomplete: "off", attrs: { spellcheck: "false" } }),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn danger", "data-testid": "erase-now-submit" }, t("erase.now_submit"))),
    h("div", { "data-testid": "erase-now-error" }, formError()),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    const submit = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
    await busy(submit, async () => {
      try {
        await api.post(`/erasures/${encodeURIComponent(v.scope)}`, { confirm: control(form, "confirm").value, reason: control(form, "reason").value });
        toast(t("erase.erased", { label: v.label }), "ok");
        navigate(window.location.hash);
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });
  return h("section", { class: "card danger-zone", "aria-labelledby": headId }, h("h2", { id: headId }, t("erase.now_title")), h("p", {}, t("erase.now_lead")), form);
}
