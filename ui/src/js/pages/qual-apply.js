// The application form (#/qualifications/<roundId>/apply?step=...), following the guide's
// screens (seed 004 第2 1-6): 当初・申請内容入力 → 営業所情報入力 → 書類添付 → 送信内容確認 →
// 経審エラー or 送信完了. The 提出先自治体一覧 stays beside every step until the confirmation
// (第2 2(1)). Every change is saved as typed (autosave; nothing is lost, module-anchors §4);
// the errors of a step are listed at the top and beside each field once the applicant tries to
// move on (第2 3 ※②), in the guide's words. Outside the filing hours a save is refused with
// the next open time, and what was typed stays on the page.

import { api, ApiError, csrfToken } from "../api.js";
import { fmtDate, fmtDateTime, t } from "../i18n.js";
import { clear, errorBox, h, loading, pageHeader } from "../ui.js";
import { errorSummary, getPath, qualForm, qualStyles, setPath } from "../components/qual-fields.js";
import { loadTus } from "../components/upload-queue.js";

/** @type {Promise<Kura.QualCatalog> | null} */
let catalogPromise = null;

/** @returns {Promise<Kura.QualCatalog>} */
export function loadCatalog() {
  if (!catalogPromise) {
    catalogPromise = api.get("/qualifications/catalog").catch((/** @type {unknown} */ e) => {
      catalogPromise = null;
      throw e;
    });
  }
  return /** @type {Promise<Kura.QualCatalog>} */ (catalogPromise);
}

const STEPS = ["entry", "offices", "attachment", "confirm"];
const NEXT = /** @type {Record<string, string>} */ ({ entry: "qual.next.offices", offices: "qual.next.attachment", attachment: "qual.next.confirm" });
const YES_NO = () => [
  { value: "yes", label: t("qual.yes") },
  { value: "no", label: t("qual.no") },
];
const MISMATCH_KEY = "kura.qual.mismatch";
// Changes that change which fields a step shows.
const REDRAW = [
  /^targets$/,
  /^company\.(kind|city_code)$/,
  /^review\.iso14001$/,
  /^review\.categories\.[0-9a-z]+$/,
  /^points\.eco$/,
  /^offices\.mode$/,
  /^offices\.items\.\d+\.(city_code|email)$/,
];

class ApplyPage {
  /**
   * @param {HTMLElement} root
   * @param {Kura.QualRound} round
   * @param {Kura.QualCatalog} catalog
   * @param {Kura.QualDraft} draft
   * @param {string} step
   * @param {Kura.PageContext} ctx
   */
  constructor(root, round, catalog, draft, step, ctx) {
    this.root = root;
    this.round = round;
    this.catalog = catalog;
    this.draft = draft;
    this.step = step;
    this.ctx = ctx;
    /** @type {Kura.QualValues} */
    this.values = structuredClone(draft.values);
    /** @type {Set<string>} */
    this.dirty = new Set();
    /** @type {Promise<void>} */
    this.chain = Promise.resolve();
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.redrawTimer = null;
    this.showErrors = step === "review" || sessionStorage.getItem(`kura.qual.shown.${draft.id}.${step}`) === "1";
    this.form = qualForm(this.values, (path) => this.changed(path));
    this.saveStatus = h("p", { class: "qsave", role: "status", "aria-live": "polite", "data-testid": "save-status" }, t("qual.autosave"));
    this.alert = h("div", { class: "qalert", role: "alert", "data-testid": "window-alert", hidden: true });
    /** @type {HTMLElement} */
    this.summary = h("div", {});
    /** @type {HTMLElement | null} */
    this.body = null;
    /** @type {Kura.QualError[]} */
    this.extra = [];
    if (step === "review" || step === "entry") {
      try {
        this.extra = JSON.parse(sessionStorage.getItem(MISMATCH_KEY) || "[]");
      } catch {
        this.extra = [];
      }
    }
    this.stopped = false;
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    void this.flush();
  }

  /** @param {string} path */
  changed(path) {
    const top = path.split(".")[0];
    this.dirty.add(top);
    this.extra = this.extra.filter((e) => e.field !== path);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), 600);
    if (REDRAW.some((re) => re.test(path))) this.scheduleRedraw();
  }

  /** Redraw the step after the event that changed its shape has finished (never inside it). */
  scheduleRedraw() {
    if (this.redrawTimer) return;
    this.redrawTimer = setTimeout(() => {
      this.redrawTimer = null;
      if (!this.stopped) this.redrawStep();
    }, 0);
  }

  /** Save what changed (one request at a time, each with the version the last one gave). */
  flush() {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.chain = this.chain.then(async () => {
      if (!this.dirty.size) return;
      const sections = [...this.dirty];
      this.dirty.clear();
      /** @type {Record<string, unknown>} */
      const body = {};
      for (const s of sections) body[s] = this.values[s];
      this.saveStatus.textContent = t("qual.saving");
      try {
        this.draft = await api.patch(`/qualifications/drafts/${encodeURIComponent(this.draft.id)}`, {
          version: this.draft.version,
          step: STEPS.includes(this.step) ? this.step : null,
          values: body,
        });
        this.alert.hidden = true;
        this.saveStatus.textContent = t("qual.saved", { time: fmtDateTime(this.draft.updated_at).split(" ").pop() || "" });
        if (!this.stopped) this.refreshErrors();
      } catch (e) {
        for (const s of sections) this.dirty.add(s);
        this.saveStatus.textContent = t("qual.save_failed");
        this.showProblem(e);
      }
    });
    return this.chain;
  }

  /** @param {unknown} e */
  showProblem(e) {
    const err = ApiError.from(e);
    clear(this.alert).append(h("strong", {}, err.title), " ", err.detail !== err.title ? err.detail : "");
    this.alert.hidden = false;
  }

  /** @returns {Kura.QualError[]} */
  stepErrors() {
    if (this.step === "confirm") return [...this.draft.errors.entry, ...this.draft.errors.offices, ...this.draft.errors.attachment];
    const own = this.draft.errors[this.step === "review" ? "entry" : this.step] || [];
    return [...this.extra.filter((x) => !own.some((o) => o.field === x.field)), ...own];
  }

  refreshErrors() {
    const errors = this.showErrors ? this.stepErrors() : [];
    this.form.showErrors(errors, (path, value) => {
      setPath(this.values, path, value);
      this.changed(path);
      this.scheduleRedraw();
    });
    const fresh = errorSummary(errors, (path) => this.goTo(path));
    this.summary.replaceWith(fresh);
    this.summary = fresh;
  }

  /** @param {string} path */
  goTo(path) {
    const step = path.startsWith("offices") ? "offices" : path.startsWith("attachment") ? "attachment" : "entry";
    if (this.step !== step && this.step !== "review") {
      this.go(step);
      return;
    }
    this.form.focus(path);
  }

  /** @param {string} step */
  go(step) {
    void this.flush().then(() => {
      this.ctx.navigate(`#/qualifications/${encodeURIComponent(this.round.id)}/apply?step=${step}`);
    });
  }

  /** The next screen, if this one has no error (第2 3 ※①②). */
  async next() {
    await this.flush();
    const errors = this.draft.errors[this.step] || [];
    sessionStorage.setItem(`kura.qual.shown.${this.draft.id}.${this.step}`, "1");
    if (errors.length || this.dirty.size) {
      this.showErrors = true;
      this.refreshErrors();
      if (this.summary instanceof HTMLElement && this.summary.focus) this.summary.focus();
      return;
    }
    sessionStorage.removeItem(MISMATCH_KEY);
    this.ctx.navigate(`#/qualifications/${encodeURIComponent(this.round.id)}/apply?step=${STEPS[STEPS.indexOf(this.step) + 1]}`);
  }

  draw() {
    const root = clear(this.root);
    const stepNames = [...STEPS, this.step === "review" ? "review" : "done"];
    root.append(
      pageHeader(t("qual.title")),
      h("p", { class: "qround-name" }, this.round.name),
      windowBanner(this.round),
      this.alert,
      h(
        "nav",
        { "aria-label": t("qual.steps"), class: "qsteps-nav" },
        h(
          "ol",
          { class: "qsteps" },
          stepNames.map((s, i) => h("li", { class: s === this.step ? "current" : "", "aria-current": s === this.step ? "step" : null }, `${i + 1}. ${t(`qual.step.${s}`)}`)),
        ),
      ),
    );
    this.body = h("div", { class: "qlayout" });
    root.append(this.body, this.saveStatus);
    this.redrawStep();
    const h1 = root.querySelector("h1");
    if (h1 instanceof HTMLElement) h1.focus();
  }

  redrawStep() {
    if (!this.body) return;
    const active = document.activeElement;
    const activeKey = active instanceof HTMLElement ? active.dataset.testid || "" : "";
    this.form = qualForm(this.values, (path) => this.changed(path));
    this.summary = h("div", {});
    const main = h("section", { class: "qmain", "aria-labelledby": "qstep-title" }, h("h2", { id: "qstep-title" }, t(`qual.step.${this.step}`)), this.summary);
    if (this.step === "entry") main.append(this.entry());
    else if (this.step === "offices") main.append(this.offices());
    else if (this.step === "attachment") main.append(this.attachment());
    else if (this.step === "confirm") main.append(this.confirm());
    else if (this.step === "review") main.append(this.review());
    const aside = this.step === "review" ? null : this.targetsAside();
    clear(this.body).append(...[aside, main].filter((x) => x !== null));
    this.refreshErrors();
    if (activeKey) {
      const again = this.body.querySelector(`[data-testid="${CSS.escape(activeKey)}"]`);
      if (again instanceof HTMLElement) again.focus();
    }
  }

  // -- 提出先自治体一覧 (第2 2(1)) --------------------------------------------------------------

  targetsAside() {
    const options = this.round.targets.map((x) => ({ value: x.code, label: x.name }));
    const chosen = Array.isArray(this.values.targets) ? this.values.targets.map(String) : [];
    return h(
      "aside",
      { class: "qside card", "aria-label": t("qual.targets") },
      this.form.checks({ path: "targets", legend: t("qual.targets"), options, hint: t("qual.targets.hint"), testid: "targets" }),
      this.round.excluded.length ? h("p", { class: "qhint" }, t("qual.targets.excluded", { names: this.round.excluded.map((x) => x.name).join("、") })) : null,
      chosen.length
        ? this.form.checks({
            path: "no_tax",
            legend: t("qual.no_tax"),
            hint: t("qual.no_tax.hint"),
            options: options.filter((o) => chosen.includes(o.value)),
            testid: "no-tax",
          })
        : null,
    );
  }

  // -- 当初・申請内容入力 (第2 3) -------------------------------------------------------------

  local() {
    const code = String(getPath(this.values, "company.city_code") || "");
    return code.slice(0, 2) === this.round.prefecture;
  }

  /**
   * Replace a choice that does not apply with a sentence (no disabled control), keeping the
   * value at its only allowed answer visibly.
   * @param {string} path
   * @param {string} legend
   * @param {string} forced
   * @param {string} why
   */
  notApplicable(path, legend, forced, why) {
    if (getPath(this.values, path) !== forced) {
      setPath(this.values, path, forced);
      this.dirty.add(path.split(".")[0]);
    }
    return h("div", { class: "qfield qna", "data-path": path }, h("p", { class: "qna-label" }, legend), h("p", { class: "qhint" }, why));
  }

  entry() {
    const f = this.form;
    const c = this.catalog;
    const local = this.local();
    const iso = getPath(this.values, "review.iso14001") === "有";
    const categories = getPath(this.values, "review.categories") || {};
    const zouen = Object.prototype.hasOwnProperty.call(categories, "23");
    const kind = String(getPath(this.values, "company.kind") || "");
    const authorities = c.authorities.map((a) => ({ value: a.code, label: `${a.code} ${a.name}` }));
    const section = (/** @type {string} */ key, /** @type {Kura.Child[]} */ ...children) => h("fieldset", { class: "qsection" }, h("legend", {}, t(key)), children);
    return h(
      "div",
      { class: "qstep" },
      section(
        "qual.sec.company",
        f.radios({ path: "company.kind", legend: t("qual.f.kind"), required: true, options: [
          { value: "corporation", label: t("qual.f.kind.corporation") },
          { value: "individual", label: t("qual.f.kind.individual") },
        ] }),
        kind !== "individual" ? f.text({ path: "company.corporate_number", label: t("qual.f.corporate_number"), hint: t("qual.h.corporate_number"), inputmode: "numeric", size: "w-13" }) : null,
        f.text({ path: "company.name_kana", label: t("qual.f.name_kana"), hint: t("qual.h.name_kana"), required: true }),
        f.text({ path: "company.name", label: t("qual.f.name"), hint: t("qual.h.name"), required: true, autocomplete: "organization" }),
        f.text({ path: "company.rep_title", label: t("qual.f.rep_title"), hint: t("qual.h.rep_title"), required: true, size: "w-20" }),
        f.text({ path: "company.rep_name", label: t("qual.f.rep_name"), hint: t("qual.h.rep_name"), required: true, size: "w-20" }),
        f.text({ path: "company.postal_code", label: t("qual.f.postal_code"), hint: t("qual.h.postal_code"), required: true, inputmode: "numeric", size: "w-8", autocomplete: "postal-code" }),
        this.cityPicker("company.city_code", t("qual.f.city_code")),
        f.text({ path: "company.address", label: t("qual.f.address"), hint: t("qual.h.address"), required: true }),
        f.text({ path: "company.building", label: t("qual.f.building"), hint: t("qual.h.building") }),
      ),
      section(
        "qual.sec.basic",
        h(
          "div",
          { class: "qgroup" },
          h("p", { class: "qgroup-title" }, t("qual.f.permit")),
          f.select({ path: "company.permit.authority", label: t("qual.f.authority"), options: authorities, blank: "―", required: true }),
          f.text({ path: "company.permit.number", label: t("qual.f.permit_number"), hint: t("qual.h.permit_number"), inputmode: "numeric", size: "w-8", required: true }),
          f.text({ path: "company.permit.date", label: t("qual.f.permit_date"), hint: t("qual.h.permit_date"), type: "date", size: "w-10" }),
        ),
        h(
          "details",
          { class: "qgroup", open: Boolean(getPath(this.values, "company.former_permit.number")) },
          h("summary", {}, t("qual.f.former")),
          h("p", { class: "qhint" }, t("qual.h.former")),
          f.select({ path: "company.former_permit.authority", label: t("qual.f.authority"), options: authorities, blank: "―" }),
          f.text({ path: "company.former_permit.number", label: t("qual.f.permit_number"), inputmode: "numeric", size: "w-8" }),
          f.text({ path: "company.former_permit.changed_on", label: t("qual.f.changed_on"), type: "date", size: "w-10" }),
          f.select({ path: "company.former_permit.reason", label: t("qual.f.reason"), blank: "―", options: ["許可換え新規", "更新切れ", "合併等"].map((x) => ({ value: x, label: x })) }),
        ),
        f.text({ path: "company.phone", label: t("qual.f.phone"), hint: t("qual.h.phone"), required: true, type: "tel", size: "w-14", autocomplete: "tel" }),
        f.text({ path: "company.fax", label: t("qual.f.fax"), hint: t("qual.h.fax"), type: "tel", size: "w-14" }),
        f.text({ path: "company.email", label: t("qual.f.email"), hint: t("qual.h.email"), required: true, type: "email", autocomplete: "email" }),
        f.radios({ path: "company.email_kind", legend: t("qual.f.email_kind"), required: true, options: [
          { value: "company", label: t("qual.f.email_kind.company") },
          { value: "personal", label: t("qual.f.email_kind.personal") },
        ] }),
      ),
      section(
        "qual.sec.other",
        f.radios({ path: "company.local_offices", legend: t("qual.f.local_offices"), hint: t("qual.h.local_offices"), options: YES_NO(), required: true }),
        f.radios({ path: "company.kensaibou", legend: t("qual.f.kensaibou"), options: YES_NO(), required: true }),
      ),
      section(
        "qual.sec.contact",
        f.text({ path: "company.contact.department", label: t("qual.f.contact.department"), required: true }),
        f.text({ path: "company.contact.name", label: t("qual.f.contact.name"), hint: t("qual.h.rep_name"), required: true, size: "w-20" }),
        f.text({ path: "company.contact.phone", label: t("qual.f.contact.phone"), type: "tel", required: true, size: "w-14" }),
        f.text({ path: "company.contact.fax", label: t("qual.f.contact.fax"), type: "tel", size: "w-14" }),
        f.text({ path: "company.contact.email", label: t("qual.f.contact.email"), type: "email", required: true }),
      ),
      section(
        "qual.sec.points",
        f.text({ path: "points.cpds_units", label: t("qual.f.cpds_units"), hint: t("qual.h.units"), inputmode: "numeric", size: "w-8" }),
        h(
          "fieldset",
          { class: "qgroup" },
          h("legend", {}, t("qual.f.kenchiku_cpd")),
          h("p", { class: "qhint" }, t("qual.h.units")),
          h("div", { class: "qrow" }, c.kenchiku_cpd.map((q) => f.text({ path: `points.kenchiku_cpd.${q.key}`, label: q.name, inputmode: "numeric", size: "w-6" }))),
        ),
        f.text({ path: "points.zouen_cpd_units", label: t("qual.f.zouen_cpd_units"), hint: t("qual.h.units"), inputmode: "numeric", size: "w-8" }),
        local ? f.radios({ path: "points.disability", legend: t("qual.f.disability"), options: YES_NO() }) : this.notApplicable("points.disability", t("qual.f.disability"), "no", t("qual.local_only")),
        f.radios({ path: "points.disaster", legend: t("qual.f.disaster"), options: YES_NO() }),
        f.radios({ path: "points.adopt", legend: t("qual.f.adopt"), options: YES_NO() }),
        f.radios({ path: "points.family_support", legend: t("qual.f.family_support"), options: YES_NO() }),
        f.radios({ path: "points.work_style", legend: t("qual.f.work_style"), options: YES_NO() }),
        iso
          ? this.notApplicable("points.eco", t("qual.f.eco"), "none", t("qual.iso_none"))
          : f.radios({ path: "points.eco", legend: t("qual.f.eco"), options: ["none", "ea21", "iso14005"].map((v) => ({ value: v, label: t(`qual.f.eco.${v}`) })) }),
        !iso && getPath(this.values, "points.eco") && getPath(this.values, "points.eco") !== "none"
          ? f.text({ path: "points.eco_date", label: t("qual.f.eco_date"), type: "date", size: "w-10" })
          : null,
        local ? f.radios({ path: "points.fire_brigade", legend: t("qual.f.fire_brigade"), options: YES_NO() }) : this.notApplicable("points.fire_brigade", t("qual.f.fire_brigade"), "no", t("qual.local_only")),
        local
          ? f.radios({ path: "points.cooperating", legend: t("qual.f.cooperating"), options: ["none", "employer", "rehabilitation", "both"].map((v) => ({ value: v, label: t(`qual.f.cooperating.${v}`) })) })
          : this.notApplicable("points.cooperating", t("qual.f.cooperating"), "none", t("qual.local_only")),
        zouen ? f.radios({ path: "points.street_tree", legend: t("qual.f.street_tree"), options: YES_NO() }) : this.notApplicable("points.street_tree", t("qual.f.street_tree"), "no", t("qual.zouen_only")),
      ),
      section(
        "qual.sec.review",
        h(
          "div",
          { class: "qgroup" },
          h("p", { class: "qgroup-title" }, t("qual.f.review_permit")),
          h("p", { class: "qhint" }, t("qual.h.review_permit")),
          f.select({ path: "review.permit.authority", label: t("qual.f.authority"), options: authorities, blank: "―" }),
          f.text({ path: "review.permit.number", label: t("qual.f.permit_number"), inputmode: "numeric", size: "w-8" }),
        ),
        f.text({ path: "review.base_date", label: t("qual.f.base_date"), hint: t("qual.h.base_date", { date: fmtDate(this.round.review_base_from) }), type: "date", size: "w-10", required: true }),
        h(
          "fieldset",
          { class: "qgroup" },
          h("legend", {}, t("qual.f.insurance")),
          h(
            "div",
            { class: "qrow" },
            ["employment", "health", "pension"].map((k) =>
              f.radios({ path: `review.insurance.${k}`, legend: t(`qual.f.insurance.${k}`), options: ["有", "無", "適用除外"].map((v) => ({ value: v, label: v })) }),
            ),
          ),
        ),
        f.radios({ path: "review.iso14001", legend: t("qual.f.iso14001"), options: ["有", "無"].map((v) => ({ value: v, label: v })) }),
        this.categoryTable(),
      ),
      this.actions(),
    );
  }

  /**
   * 08: a prefecture, then its municipality (第2 3(5): リストボックス).
   * @param {string} path
   * @param {string} label
   */
  cityPicker(path, label) {
    const code = String(getPath(this.values, path) || "");
    const pref = code.slice(0, 2) || this.round.prefecture;
    const prefId = `${path.replace(/\./g, "-")}-pref`;
    const prefSel = h(
      "select",
      { id: prefId, class: "qinput", "data-testid": `f-${path}-pref` },
      this.catalog.prefectures.map((p) => h("option", { value: p.code, selected: p.code === pref }, `${p.code}:${p.name}`)),
    );
    const options = () =>
      this.catalog.municipalities.filter((m) => m.code.slice(0, 2) === prefSel.value).map((m) => ({ value: m.code, label: `${m.code}:${m.name}` }));
    const citySlot = h("div", {});
    const drawCity = () => {
      clear(citySlot).append(this.form.select({ path, label, options: options(), blank: "―", hint: t("qual.h.city_code"), required: true }));
    };
    prefSel.addEventListener("change", drawCity);
    drawCity();
    return h("div", { class: "qgroup" }, h("div", { class: "qfield" }, h("label", { for: prefId }, t("qual.f.pref")), prefSel), citySlot);
  }

  /** 33: the 32 categories (第1 4 別表) with 一般/特定 and the 経審 figures. */
  categoryTable() {
    const f = this.form;
    /** @type {Record<string, Record<string, string>>} */
    const chosen = getPath(this.values, "review.categories") || {};
    const rows = this.catalog.categories.map((cat) => {
      const on = Object.prototype.hasOwnProperty.call(chosen, cat.code);
      const box = h("input", { type: "checkbox", id: `cat-${cat.code}`, checked: on, "data-testid": `cat-${cat.code}` });
      box.addEventListener("change", () => {
        const now = { ...(getPath(this.values, "review.categories") || {}) };
        if (box.checked) now[cat.code] = { permit_kind: "", p: "", staff1: "", staff2: "", staff_other: "", average: "" };
        else delete now[cat.code];
        setPath(this.values, "review.categories", now);
        this.changed(`review.categories.${cat.code}`);
      });
      const base = cat.base ? this.catalog.categories.find((x) => x.code === cat.base) : null;
      const head = h(
        "div",
        { class: "qcat-head", "data-path": `review.categories.${cat.code}` },
        h("label", { for: box.id, class: "qchoice" }, box, cat.name),
        base ? h("span", { class: "qhint" }, t("qual.cat.base", { base: base.name })) : null,
      );
      if (!on) return h("li", { class: "qcat" }, head);
      const p = `review.categories.${cat.code}`;
      return h(
        "li",
        { class: "qcat on" },
        head,
        h(
          "div",
          { class: "qrow" },
          f.radios({ path: `${p}.permit_kind`, legend: t("qual.cat.permit_kind"), options: [
            { value: "general", label: t("qual.cat.general") },
            { value: "special", label: t("qual.cat.special") },
          ] }),
          ["p", "staff1", "staff2", "staff_other", "average"].map((k) =>
            f.text({ path: `${p}.${k}`, label: t(`qual.cat.${k}`), inputmode: "numeric", size: k === "average" ? "w-12" : "w-6" }),
          ),
        ),
      );
    });
    return h(
      "fieldset",
      { class: "qgroup qcats", "data-path": "review.categories", "data-testid": "categories" },
      h("legend", {}, t("qual.f.categories")),
      h("p", { class: "qhint" }, t("qual.h.categories")),
      h("ul", { class: "qcat-list" }, rows),
    );
  }

  actions() {
    const i = STEPS.indexOf(this.step);
    return h(
      "div",
      { class: "toolbar qactions" },
      i > 0 ? h("button", { type: "button", class: "btn", "data-testid": "step-back", onclick: () => this.go(STEPS[i - 1]) }, t("qual.back")) : null,
      NEXT[this.step] ? h("button", { type: "button", class: "btn primary", "data-testid": "step-next", onclick: () => void this.next() }, t(NEXT[this.step])) : null,
    );
  }

  // -- 営業所情報入力 (第2 4) ----------------------------------------------------------------

  offices() {
    const f = this.form;
    const mode = String(getPath(this.values, "offices.mode") || "");
    /** @type {Kura.QualValues[]} */
    const items = Array.isArray(getPath(this.values, "offices.items")) ? getPath(this.values, "offices.items") : [];
    const applied = Object.keys(getPath(this.values, "review.categories") || {});
    const names = new Map(this.catalog.categories.map((c) => [c.code, c.name]));
    const blank = () => ({ name_kana: "", name: "", rep_title: "", rep_name: "", postal_code: "", city_code: "", address: "", building: "", phone: "", fax: "", email: "", email_kind: "", categories: [], eco: "no" });
    const resize = (/** @type {number} */ n) => {
      const now = items.slice(0, n);
      while (now.length < n) now.push(blank());
      setPath(this.values, "offices.items", now);
      this.changed("offices.items");
      this.scheduleRedraw();
    };
    const count = h("input", { id: "office-count", type: "number", min: "1", max: "100", class: "qinput w-6", value: String(items.length || ""), "data-testid": "office-count" });
    const iso = getPath(this.values, "review.iso14001") === "有";
    return h(
      "div",
      { class: "qstep" },
      h("p", {}, t("qual.offices.intro")),
      f.radios({
        path: "offices.mode",
        legend: t("qual.offices.mode"),
        required: true,
        options: ["none", "nearest", "list"].map((v) => ({ value: v, label: t(`qual.offices.${v}`) })),
      }),
      mode === "nearest" || mode === "list"
        ? h(
            "div",
            { class: "qrow qcount" },
            h("label", { for: "office-count" }, t("qual.offices.count")),
            count,
            h("button", { type: "button", class: "btn", "data-testid": "office-count-set", onclick: () => resize(Math.max(1, Math.min(100, Number(count.value) || 1))) }, t("qual.offices.set")),
          )
        : null,
      mode === "nearest" || mode === "list"
        ? items.map((_, i) => {
            const p = `offices.items.${i}`;
            const city = String(getPath(this.values, `${p}.city_code`) || "");
            const inPref = city.slice(0, 2) === this.round.prefecture;
            return h(
              "fieldset",
              { class: "qsection qoffice", "data-testid": "office" },
              h("legend", {}, t("qual.office", { n: i + 1 })),
              f.text({ path: `${p}.name_kana`, label: t("qual.o.name_kana"), hint: t("qual.o.h.name_kana"), required: true }),
              f.text({ path: `${p}.name`, label: t("qual.o.name"), hint: t("qual.o.h.name"), required: true }),
              f.text({ path: `${p}.rep_title`, label: t("qual.o.rep_title"), hint: t("qual.h.rep_title"), required: true, size: "w-20" }),
              f.text({ path: `${p}.rep_name`, label: t("qual.o.rep_name"), hint: t("qual.h.rep_name"), required: true, size: "w-20" }),
              f.text({ path: `${p}.postal_code`, label: t("qual.o.postal_code"), hint: t("qual.h.postal_code"), inputmode: "numeric", required: true, size: "w-8" }),
              this.cityPicker(`${p}.city_code`, t("qual.o.city_code")),
              f.text({ path: `${p}.address`, label: t("qual.o.address"), hint: t("qual.h.address"), required: true }),
              f.text({ path: `${p}.building`, label: t("qual.f.building"), hint: t("qual.h.building") }),
              f.text({ path: `${p}.phone`, label: t("qual.o.phone"), hint: t("qual.h.phone"), type: "tel", required: true, size: "w-14" }),
              f.text({ path: `${p}.fax`, label: t("qual.o.fax"), type: "tel", size: "w-14" }),
              f.text({ path: `${p}.email`, label: t("qual.o.email"), type: "email" }),
              getPath(this.values, `${p}.email`)
                ? f.radios({ path: `${p}.email_kind`, legend: t("qual.o.email_kind"), options: [
                    { value: "company", label: t("qual.f.email_kind.company") },
                    { value: "personal", label: t("qual.f.email_kind.personal") },
                  ] })
                : null,
              f.checks({ path: `${p}.categories`, legend: t("qual.o.categories"), hint: t("qual.o.h.categories"), options: applied.map((c) => ({ value: c, label: names.get(c) || c })) }),
              iso
                ? this.notApplicable(`${p}.eco`, t("qual.o.eco"), "no", t("qual.iso_none"))
                : inPref || !city
                  ? f.radios({ path: `${p}.eco`, legend: t("qual.o.eco"), options: YES_NO() })
                  : this.notApplicable(`${p}.eco`, t("qual.o.eco"), "no", t("qual.o.eco_outside")),
              items.length > 1
                ? h("button", { type: "button", class: "btn small", "data-testid": "office-remove", onclick: () => {
                    items.splice(i, 1);
                    setPath(this.values, "offices.items", items);
                    this.changed("offices.items");
                    this.scheduleRedraw();
                  } }, t("qual.offices.remove"))
                : null,
            );
          })
        : null,
      mode === "list" ? h("button", { type: "button", class: "btn", "data-testid": "office-add", onclick: () => resize(items.length + 1) }, t("qual.offices.add")) : null,
      this.actions(),
    );
  }

  // -- 書類添付 (第2 5) -----------------------------------------------------------------------

  attachment() {
    const f = this.form;
    const a = this.draft.attachment;
    const status = h("p", { role: "status", class: "qhint" });
    const file = h("input", { type: "file", id: "nouzei-file", accept: ".xml,.pdf,application/xml,application/pdf", "data-testid": "attach-file" });
    file.addEventListener("change", () => {
      const chosen = file.files && file.files[0];
      if (!chosen) return;
      status.textContent = t("qual.attach.uploading");
      upload(chosen)
        .then((id) => {
          setPath(this.values, "attachment.id", id);
          if (!getPath(this.values, "attachment.title")) setPath(this.values, "attachment.title", chosen.name.replace(/\.[^.]*$/, ""));
          this.changed("attachment.id");
          return this.flush();
        })
        .then(() => {
          status.textContent = "";
          this.redrawStep();
        })
        .catch((e) => {
          status.textContent = ApiError.from(e).detail;
        });
    });
    const checked = h("input", { type: "checkbox", id: "attach-checked", checked: getPath(this.values, "attachment.checked") === true, "data-testid": "attach-checked" });
    checked.addEventListener("change", () => {
      setPath(this.values, "attachment.checked", checked.checked);
      this.changed("attachment.checked");
    });
    const tick = h("div", { class: "qfield", "data-path": "attachment.checked" }, h("label", { class: "qchoice", for: "attach-checked" }, checked, t("qual.attach.checked")));
    return h(
      "div",
      { class: "qstep" },
      h("p", {}, t("qual.attach.intro")),
      h(
        "div",
        { class: "qfield", "data-path": "attachment.file" },
        h("p", { class: "qna-label" }, t("qual.attach.file")),
        a ? h("p", { "data-testid": "attach-name" }, `${a.name}`) : h("p", {}, t("qual.attach.none")),
        h("label", { for: "nouzei-file" }, t("qual.attach.choose")),
        h("div", {}, file),
        a
          ? h("button", { type: "button", class: "btn small", "data-testid": "attach-remove", onclick: () => {
              setPath(this.values, "attachment", { id: "", title: "", checked: false });
              this.changed("attachment");
              void this.flush().then(() => this.redrawStep());
            } }, t("qual.attach.remove"))
          : null,
        status,
      ),
      a ? f.text({ path: "attachment.title", label: t("qual.attach.title"), hint: t("qual.attach.title_hint"), size: "w-20" }) : null,
      a ? tick : null,
      this.actions(),
    );
  }

  // -- 送信内容確認 (第2 6(1)) ----------------------------------------------------------------

  confirm() {
    const d = this.draft;
    const v = this.values;
    const names = new Map(this.round.targets.map((x) => [x.code, x.name]));
    const catNames = new Map(this.catalog.categories.map((c) => [c.code, c.name]));
    const towns = new Map(this.catalog.municipalities.map((m) => [m.code, `${m.prefecture}${m.name}`]));
    const co = v.company || {};
    const dropped = d.dropped || [];
    const ok = h("input", { type: "checkbox", id: "confirm-dropped", "data-testid": "confirm-dropped" });
    const sendBtn = h("button", { type: "button", class: "btn primary", "data-testid": "send" }, t("qual.send"));
    const status = h("div", { role: "status" });
    sendBtn.addEventListener("click", () => void this.send(sendBtn, ok.checked, status));
    /** @type {[string, string][]} */
    const rows = [
      [t("qual.targets"), (v.targets || []).map((/** @type {string} */ x) => names.get(x) || x).join("、")],
      [t("qual.f.name"), co.name],
      [t("qual.f.name_kana"), co.name_kana],
      [t("qual.f.corporate_number"), co.corporate_number],
      [t("qual.f.rep_name"), `${co.rep_title || ""}　${co.rep_name || ""}`],
      [t("qual.f.address"), `${towns.get(co.city_code) || ""}${co.address || ""}　${co.building || ""}`],
      [t("qual.f.phone"), co.phone],
      [t("qual.f.email"), co.email],
      [
        t("qual.f.categories"),
        Object.entries(v.review?.categories || {})
          .map(([code, r]) => `${catNames.get(code) || code}（${t(`qual.cat.${/** @type {any} */ (r).permit_kind || "general"}`)}・P${/** @type {any} */ (r).p}）`)
          .join("、"),
      ],
      [t("qual.offices.mode"), t(`qual.offices.${v.offices?.mode || "none"}`) + ((v.offices?.items || []).length ? `（${(v.offices.items || []).map((/** @type {any} */ o) => o.name).join("、")}）` : "")],
      [t("qual.attach.file"), d.attachment ? d.attachment.name : t("qual.attach.none")],
    ];
    return h(
      "div",
      { class: "qstep" },
      h("p", {}, t("qual.confirm.intro")),
      h("p", { class: "qnote" }, t("qual.confirm.check")),
      d.application
        ? h(
            "div",
            { class: "qwarn", role: dropped.length ? "alert" : null, "data-testid": "replace-warning" },
            h("p", {}, t("qual.confirm.replace", { no: d.application.receipt_no })),
            dropped.length ? h("p", { class: "qdropped", "data-testid": "dropped" }, h("strong", {}, t("qual.confirm.dropped", { names: dropped.map((x) => x.name).join("、") }))) : null,
            dropped.length ? h("label", { class: "qchoice", for: "confirm-dropped" }, ok, t("qual.confirm.dropped_ok")) : null,
          )
        : null,
      h("dl", { class: "qconfirm", "data-testid": "confirm-list" }, rows.map(([k, val]) => [h("dt", {}, k), h("dd", {}, val || "―")])),
      h("h3", {}, t("qual.confirm.papers")),
      h("ul", { class: "qpapers", "data-testid": "papers" }, d.papers.map((p) => h("li", {}, `${p.no}. ${p.mark} ${p.title}`, p.note ? h("span", { class: "qhint" }, ` ${p.note}`) : null))),
      d.own_papers.length ? h("h3", {}, t("qual.confirm.own")) : null,
      d.own_papers.length ? h("ul", { "data-testid": "own-papers" }, d.own_papers.map((o) => h("li", {}, `${o.name}: ${o.documents.length ? o.documents.join("、") : "―"}`))) : null,
      status,
      h(
        "div",
        { class: "toolbar qactions" },
        h("button", { type: "button", class: "btn", "data-testid": "step-back", onclick: () => this.go("attachment") }, t("qual.back")),
        sendBtn,
      ),
    );
  }

  /**
   * 送信 → 経審 check → 送信完了 or 経審エラー (第2 6(2)).
   * @param {HTMLButtonElement} button
   * @param {boolean} confirmDropped
   * @param {HTMLElement} status
   */
  async send(button, confirmDropped, status) {
    button.disabled = true;
    try {
      await this.flush();
      /** @type {Kura.QualApplication} */
      const filed = await api.post(`/qualifications/drafts/${encodeURIComponent(this.draft.id)}/send`, {
        version: this.draft.version,
        confirm_dropped: confirmDropped,
      });
      sessionStorage.removeItem(MISMATCH_KEY);
      this.ctx.navigate(`#/qualifications/${encodeURIComponent(this.round.id)}/apply?step=done&app=${encodeURIComponent(filed.id)}`);
    } catch (e) {
      const err = ApiError.from(e);
      if (err.code === "review_mismatch") {
        sessionStorage.setItem(MISMATCH_KEY, JSON.stringify(err.problem.errors || []));
        this.ctx.navigate(`#/qualifications/${encodeURIComponent(this.round.id)}/apply?step=review`);
        return;
      }
      if (err.code === "validation_failed" && Array.isArray(err.problem.errors)) {
        this.showErrors = true;
        this.refreshErrors();
      }
      clear(status).append(h("div", { class: "qalert", role: "alert", "data-testid": "send-error" }, h("strong", {}, err.title), " ", err.detail !== err.title ? err.detail : ""));
    } finally {
      button.disabled = false;
    }
  }

  // -- 経審エラー (第2 6(2)イ) ---------------------------------------------------------------

  review() {
    /** @type {Kura.QualError[]} */
    const list = this.extra;
    return h(
      "div",
      { class: "qstep" },
      h("div", { class: "qalert", role: "alert" }, h("p", {}, t("qual.review.intro"))),
      h("ul", { class: "qmismatch", "data-testid": "mismatches" }, list.map((e) => h("li", {}, `${e.label}：${e.message}`))),
      h("div", { class: "toolbar qactions" }, h("button", { type: "button", class: "btn primary", "data-testid": "fix", onclick: () => {
        sessionStorage.setItem(`kura.qual.shown.${this.draft.id}.entry`, "1");
        this.ctx.navigate(`#/qualifications/${encodeURIComponent(this.round.id)}/apply?step=entry`);
      } }, t("qual.fix"))),
    );
  }
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  qualStyles();
  const roundId = String(params.roundId || "");
  const step = params.query.step || "entry";
  root.append(loading());
  /** @type {Kura.QualRound} */
  let round;
  /** @type {Kura.QualCatalog} */
  let catalog;
  try {
    [round, catalog] = await Promise.all([api.get(`/qualifications/rounds/${encodeURIComponent(roundId)}`), loadCatalog()]);
  } catch (e) {
    clear(root).append(errorBox(e));
    return undefined;
  }
  ctx.setTitle(t("qual.title"));
  if (step === "done") {
    await done(root, round, params.query.app || "");
    return undefined;
  }
  /** @type {Kura.QualDraft | null} */
  let draft = null;
  try {
    draft = await api.get(`/qualifications/rounds/${encodeURIComponent(roundId)}/draft`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) {
      clear(root).append(errorBox(e));
      return undefined;
    }
  }
  if (!draft) {
    startScreen(root, round, ctx);
    return undefined;
  }
  const page = new ApplyPage(root, round, catalog, draft, step, ctx);
  page.draw();
  return () => page.stop();
}

/**
 * No draft yet: start from the last filing (the default, zero re-typing) or empty.
 * @param {HTMLElement} root
 * @param {Kura.QualRound} round
 * @param {Kura.PageContext} ctx
 */
function startScreen(root, round, ctx) {
  const banner = windowBanner(round);
  const status = h("div", { role: "status", class: "qstatus" });
  /** @param {string} start */
  const begin = async (start) => {
    try {
      await api.post(`/qualifications/rounds/${encodeURIComponent(round.id)}/draft`, { start });
      ctx.navigate(`#/qualifications/${encodeURIComponent(round.id)}/apply?step=entry`, { replace: true });
    } catch (e) {
      clear(status).append(errorBox(e));
    }
  };
  clear(root).append(
    pageHeader(t("qual.title")),
    h("p", { class: "qround-name" }, round.name),
    banner,
    h(
      "section",
      { class: "card qstart" },
      h("h2", {}, t("qual.start.title")),
      h("p", {}, t("qual.autosave")),
      h(
        "div",
        { class: "toolbar" },
        h("button", { type: "button", class: "btn primary", "data-testid": "start-last", onclick: () => begin("last") }, t("qual.start.last")),
        h("button", { type: "button", class: "btn", "data-testid": "start-empty", onclick: () => begin("empty") }, t("qual.start.empty")),
      ),
      status,
    ),
  );
}

/**
 * The filing window now (第1 2(1)): open until 17:00, or the next open time.
 * @param {Kura.QualRound} round
 * @returns {HTMLElement}
 */
export function windowBanner(round) {
  const w = round.windows.apply;
  return h(
    "div",
    { class: `qwindow ${w.open ? "open" : "closed"}`, role: "status", "data-testid": "window-banner" },
    h("strong", {}, w.open ? t("qual.round.open") : t("qual.round.closed")),
    " ",
    w.message,
  );
}


/**
 * 送信完了 兼 受付票 (第2 6(2)ア): the receipt number, print, the papers to send.
 * @param {HTMLElement} root
 * @param {Kura.QualRound} round
 * @param {string} appId
 */
async function done(root, round, appId) {
  /** @type {Kura.QualApplication} */
  let app;
  try {
    app = await api.get(`/qualifications/applications/${encodeURIComponent(appId)}`);
  } catch (e) {
    clear(root).append(errorBox(e));
    return;
  }
  const pdf = `/api/v1/qualifications/applications/${encodeURIComponent(app.id)}/receipt.pdf`;
  clear(root).append(
    pageHeader(t("qual.step.done")),
    h("p", { class: "qround-name" }, round.name),
    h(
      "section",
      { class: "card qdone", "data-testid": "done" },
      h("p", {}, t("qual.done.intro")),
      h("p", { class: "qreceipt" }, `${t("qual.done.receipt_no")} `, h("strong", { "data-testid": "receipt-no" }, app.receipt_no)),
      h("p", {}, app.target_names.map((x) => x.name).join("、")),
      h("h2", {}, t("qual.confirm.papers")),
      h("ul", { class: "qpapers" }, app.papers.map((p) => h("li", {}, `${p.no}. ${p.mark} ${p.title}`))),
      h(
        "div",
        { class: "toolbar" },
        h("a", { class: "btn primary", href: pdf, target: "_blank", rel: "noopener", "data-testid": "print-receipt" }, t("qual.print")),
        h("a", { class: "btn", href: "#/qualifications", "data-testid": "finish" }, t("qual.finish")),
      ),
    ),
  );
}

/**
 * Upload the e-tax certificate through the shared attachments (tus creation with upload).
 * @param {File} file
 * @returns {Promise<string>} the staged attachment's id
 */
async function upload(file) {
  const tus = await loadTus();
  return new Promise((resolve, reject) => {
    /** @type {string} */
    let attachmentId = "";
    const up = new tus.Upload(file, {
      endpoint: "/api/v1/attachments/uploads",
      metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
      uploadDataDuringCreation: true,
      storeFingerprintForResuming: false,
      headers: { "X-CSRF-Token": csrfToken() },
      retryDelays: [0, 1000, 3000],
      onAfterResponse: (_req, res) => {
        const found = res.getHeader("Kura-Attachment-Id");
        if (found) attachmentId = found;
      },
      onError: (e) => reject(e),
      onSuccess: () => (attachmentId ? resolve(attachmentId) : reject(new Error("no attachment id"))),
    });
    up.start();
  });
}
