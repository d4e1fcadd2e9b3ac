// Master data (#/admin/master?tab=positions|calendar|mail): positions, holiday calendar days,
// mail templates (edit, reset to default). Positions are global (operators only); calendar days
// and mail templates are edited in the operator's global layer or the holder's own
// organization's layer, which overrides the global one for that organization.
import { api } from "../api.js";
import { fmtDate, t } from "../i18n.js";
import { navigate } from "../router.js";
import { adminLayout } from "./admin.js";
import { parseDate } from "../components/dates.js";
import { badge, busy, clear, confirmDialog, control, empty, errorBox, errorMessage, field, formError, h, pageHeader, selectField, showFormErrors, toast } from "../ui.js";

/** @typedef {{ id: string, name: string, rank: number, version: number }} Position */
/** @typedef {{ date: string, kind: string, name?: string | null, version: number, org_id?: string | null }} CalendarDay */
/**
 * @typedef {object} MailTemplate
 * @property {string} key
 * @property {string} [label]
 * @property {boolean} [customized]
 * @property {string} subject
 * @property {string} body
 * @property {string[]} [placeholders]
 * @property {number | null} [version]
 * @property {"organization" | "global" | "builtin"} [source] where the text shown comes from
 */

const TABS = [
  ["positions", "master.positions"],
  ["calendar", "master.calendar"],
  ["mail", "master.mail_templates"],
];

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const content = adminLayout(root, ctx, "/admin/master");
  const q = params.query || {};
  const tab = TABS.some(([k]) => k === q.tab) ? q.tab : "positions";
  const tabs = h(
    "div",
    { class: "tabs", role: "tablist" },
    TABS.map(([k, key]) => h("button", { type: "button", role: "tab", "aria-selected": String(k === tab), "data-testid": `master-tab-${k}`, onclick: () => navigate(`#/admin/master?tab=${k}`) }, t(key))),
  );
  const panel = h("div", { role: "tabpanel" });
  content.append(pageHeader(t("master.title")), tabs, panel);
  const operator = Boolean(ctx.session && ctx.session.org_kind === "operator");
  if (tab === "positions") await positions(panel, operator);
  else if (tab === "calendar") await calendar(panel, q, operator);
  else await mail(panel, q);
}

/**
 * @param {HTMLElement} panel
 * @param {boolean} operator
 */
async function positions(panel, operator) {
  const list = h("div", {});
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "position-add" }, t("common.create"));
  const form = h(
    "form",
    { class: "card", novalidate: true },
    formError(),
    h("div", { class: "form-grid" }, field({ name: "name", label: t("master.position_name"), required: true, testid: "position-name" }), field({ name: "rank", label: t("master.position_rank"), type: "number", testid: "position-rank" }), h("div", { class: "form-actions" }, submit)),
  );
  panel.append(list, operator ? form : h("p", { class: "hint" }, t("master.global_only")));
  async function refresh() {
    /** @type {Position[]} */
    const items = await api.get("/master/positions");
    clear(list).append(
      items.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "data", "data-testid": "positions-table" },
              h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("master.position_name")), h("th", { scope: "col" }, t("master.position_rank")), h("th", { scope: "col" }, t("common.actions")))),
              h(
                "tbody",
                {},
                items.map((p) => {
                  const del = h("button", { type: "button", class: "btn small danger" }, t("common.delete"));
                  del.addEventListener("click", async () => {
                    if (!(await confirmDialog(`${p.name}`, { danger: true, okLabel: t("common.delete") }))) return;
                    try {
                      await api.del(`/master/positions/${encodeURIComponent(p.id)}`, { version: p.version });
                      await refresh();
                    } catch (err) {
                      toast(errorMessage(err), "error");
                    }
                  });
                  return h("tr", {}, h("td", {}, p.name), h("td", { class: "num" }, String(p.rank)), h("td", {}, operator ? del : null));
                }),
              ),
            ),
          )
        : h("div", { class: "card" }, empty(t("common.none"))),
    );
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    /** @type {Record<string, unknown>} */
    const body = { name: control(form, "name").value.trim() };
    if (control(form, "rank").value !== "") body.rank = Number(control(form, "rank").value);
    await busy(submit, async () => {
      try {
        await api.post("/master/positions", body);
        form.reset();
        toast(t("common.saved"), "ok");
        await refresh();
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });
  await refresh();
}

/**
 * The day of the week of "YYYY-MM-DD" in the page's language ("（月）").
 * @param {string} day
 * @returns {string}
 */
function weekday(day) {
  const d = new Date(`${day}T00:00:00+09:00`);
  return `（${new Intl.DateTimeFormat(document.documentElement.lang === "en" ? "en-GB" : "ja-JP", { weekday: "short", timeZone: "Asia/Tokyo" }).format(d)}）`;
}

/**
 * @param {HTMLElement} panel
 * @param {Record<string, string>} q
 * @param {boolean} operator
 */
async function calendar(panel, q, operator) {
  const asked = Number(q.year);
  // any year the calendar knows (api/master/router.py: 1955-2100), not only this one's neighbours
  const year = Number.isInteger(asked) && asked >= 1955 && asked <= 2100 ? asked : new Date().getFullYear();
  /** @param {number} y */
  const goYear = (y) => navigate(`#/admin/master?tab=calendar&year=${Math.min(2100, Math.max(1955, y))}`);
  const yearInput = h("input", { type: "number", id: "calendar-year", min: "1955", max: "2100", value: String(year), class: "year-input", "data-testid": "calendar-year", inputmode: "numeric" });
  yearInput.addEventListener("change", () => goYear(Number(yearInput.value) || year));
  yearInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") goYear(Number(yearInput.value) || year);
  });
  const yearSel = h(
    "div",
    { class: "field year-field" },
    h("label", { for: "calendar-year" }, t("master.year")),
    h(
      "div",
      { class: "year-pick" },
      h("button", { type: "button", class: "btn small", "aria-label": t("master.prev_year"), "data-testid": "calendar-prev", onclick: () => goYear(year - 1) }, "‹"),
      yearInput,
      h("button", { type: "button", class: "btn small", "aria-label": t("master.next_year"), "data-testid": "calendar-next", onclick: () => goYear(year + 1) }, "›"),
    ),
  );
  const holidays = h("section", { class: "card", "aria-labelledby": "holidays-title" }, h("h2", { id: "holidays-title" }, t("master.holidays", { year })), h("p", { class: "loading", role: "status" }, t("app.loading")));
  const list = h("div", {});
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "calendar-add" }, t("master.add_day"));
  const form = h(
    "form",
    { class: "card", novalidate: true },
    formError(),
    h(
      "div",
      { class: "form-grid" },
      field({ name: "day", label: t("master.day"), required: true, testid: "calendar-day", hint: t("form.date_hint"), attrs: { class: "date-text" } }),
      selectField({ name: "kind", label: t("master.day_kind"), options: ["closed", "open"].map((k) => ({ value: k, label: t(`master.day_kind.${k}`) })), testid: "calendar-kind" }),
      field({ name: "name", label: t("master.day_name"), testid: "calendar-name" }),
      h("div", { class: "form-actions" }, submit),
    ),
  );
  panel.append(h("div", { class: "toolbar" }, yearSel), holidays, h("h2", {}, t("master.custom_days")), list, form);
  /** The national holidays and the year-end closure of the year (the holidays package). */
  async function showHolidays() {
    try {
      /** @type {{ days: { date: string, kind: string, name: string }[] }} */
      const answer = await api.get("/master/calendar", { year });
      const found = answer.days.filter((d) => d.kind === "holiday" || d.kind === "closure");
      const title = holidays.querySelector("h2");
      clear(holidays).append(
        title || "",
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data compact", "data-testid": "holidays-table" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("master.day")), h("th", { scope: "col" }, t("master.day_name")))),
            h("tbody", {}, found.map((d) => h("tr", {}, h("td", { class: "nowrap" }, fmtDate(d.date), " ", h("span", { class: "muted small" }, weekday(d.date))), h("td", {}, d.kind === "closure" ? t("master.closure") : d.name)))),
          ),
        ),
      );
    } catch (err) {
      clear(holidays).append(errorBox(err));
    }
  }
  void showHolidays();
  async function refresh() {
    /** @type {CalendarDay[]} */
    const days = await api.get("/master/calendar/days", { year });
    clear(list).append(
      days.length
        ? h(
            "div",
            { class: "table-wrap" },
            h(
              "table",
              { class: "data", "data-testid": "calendar-table" },
              h("thead", {}, h("tr", {}, ["day", "day_kind", "day_name"].map((k) => h("th", { scope: "col" }, t(`master.${k}`))), h("th", { scope: "col" }, t("common.actions")))),
              h(
                "tbody",
                {},
                days.map((d) => {
                  const del = h("button", { type: "button", class: "btn small danger" }, t("common.delete"));
                  del.addEventListener("click", async () => {
                    try {
                      await api.del(`/master/calendar/days/${d.date}`, { version: d.version });
                      await refresh();
                    } catch (err) {
                      toast(errorMessage(err), "error");
                    }
                  });
                  // a global day is the operators' (others see it, marked, without delete)
                  const mine = operator || d.org_id;
                  const scope = badge(t(d.org_id ? "master.scope_org" : "master.scope_global"), "info");
                  return h("tr", {}, h("td", { class: "nowrap" }, fmtDate(d.date)), h("td", {}, badge(t(`master.day_kind.${d.kind}`), d.kind === "closed" ? "warn" : "ok"), " ", scope), h("td", {}, d.name || ""), h("td", {}, mine ? del : null));
                }),
              ),
            ),
          )
        : h("div", { class: "card" }, empty(t("common.none"))),
    );
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    /** @param {string} name */
    const f = (name) => control(form, name);
    if (!f("day").value.trim()) {
      showFormErrors(form, { fields: new Map([["day", t("validation.missing")]]) });
      return;
    }
    const day = parseDate(f("day").value);
    if (!day) {
      showFormErrors(form, { fields: new Map([["day", t("form.date_invalid")]]) });
      return;
    }
    await busy(submit, async () => {
      try {
        await api.put(`/master/calendar/days/${day}`, { kind: f("kind").value, name: f("name").value.trim() });
        form.reset();
        toast(t("common.saved"), "ok");
        await refresh();
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });
  await refresh();
}

/**
 * @param {HTMLElement} panel
 * @param {Record<string, string>} q
 */
async function mail(panel, q) {
  /** @type {MailTemplate[]} */
  const templates = await api.get("/master/mail-templates");
  const current = templates.find((m) => m.key === q.key) || templates[0];
  const side = h(
    "ul",
    { class: "admin-nav-list" },
    templates.map((m) =>
      h(
        "li",
        {},
        h("a", { href: `#/admin/master?tab=mail&key=${encodeURIComponent(m.key)}`, "aria-current": current && m.key === current.key ? "page" : null, "data-testid": "mail-template" }, m.label || m.key, " ", m.source && m.source !== "builtin" ? badge(t(`master.source.${m.source}`), "info") : null),
      ),
    ),
  );
  if (!current) {
    panel.append(h("div", { class: "card" }, empty(t("common.none"))));
    return;
  }
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "mail-save" }, t("common.save"));
  const reset = current.customized ? h("button", { type: "button", class: "btn", "data-testid": "mail-reset" }, t("master.mail_reset")) : null;
  const form = h(
    "form",
    { class: "card", novalidate: true, "data-testid": "mail-form" },
    h("h2", {}, current.label || current.key, " ", h("span", { class: "mono small muted" }, current.key)),
    formError(),
    field({ name: "subject", label: t("master.mail_subject"), value: current.subject, required: true, testid: "mail-subject" }),
    field({ name: "body", label: t("master.mail_body"), type: "textarea", value: current.body, required: true, testid: "mail-body", attrs: { rows: "10" } }),
    current.placeholders && current.placeholders.length ? h("p", { class: "hint" }, `${t("master.mail_placeholders")}: `, current.placeholders.map((p) => h("code", {}, `{${p}} `))) : null,
    h("div", { class: "form-actions" }, submit, reset),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    await busy(submit, async () => {
      try {
        await api.put(`/master/mail-templates/${encodeURIComponent(current.key)}`, { subject: control(form, "subject").value, body: control(form, "body").value, version: current.version || null });
        toast(t("common.saved"), "ok");
        navigate(`#/admin/master?tab=mail&key=${encodeURIComponent(current.key)}`);
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });
  if (reset)
    reset.addEventListener("click", async () => {
      if (!(await confirmDialog(t("master.mail_reset")))) return;
      try {
        await api.del(`/master/mail-templates/${encodeURIComponent(current.key)}`, { version: current.version });
        navigate(`#/admin/master?tab=mail&key=${encodeURIComponent(current.key)}`);
      } catch (err) {
        toast(errorMessage(err), "error");
      }
    });
  panel.append(h("div", { class: "split mail-split" }, h("nav", { class: "admin-nav", "aria-label": t("master.mail_templates") }, side), form));
}
