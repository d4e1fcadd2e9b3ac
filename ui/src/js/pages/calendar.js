// Calendar (#/calendar?work=<id>&view=<view>&date=YYYY-MM-DD): one's schedule, or every member
// of one or all of one's works on one screen (seed 001 別表1-1 7(2)), in month, week, day and
// list views (FullCalendar, vendored by build.mjs). Entries of others the reader may not see
// come as "予定あり" (7(4)(5): the API leaves their titles out). Holidays and the 12/29-1/3
// closure of the master calendar are marked. Dialogs: an entry (new, edit one occurrence or the
// series, delete), the iCalendar import with its report, subscription URLs.

import { api } from "../api.js";
import { fmtDate, lang, t } from "../i18n.js";
import { busy, clear, confirmDialog, errorBox, field, formError, h, pageHeader, selectField, showFormErrors, toast } from "../ui.js";
import { feedsDialog, importDialog, openDialog } from "../components/schedule-dialogs.js";

/** @typedef {import("fullcalendar").Calendar} FcCalendar */
/** @typedef {import("fullcalendar").EventInput} FcEvent */
/** @typedef {{ value: string, label: string }} Option */

/** @type {Promise<NonNullable<Window["FullCalendar"]>> | null} */
let loading = null;

/** FullCalendar's bundle, its Japanese locale and stylesheet, loaded once. */
function loadCalendar() {
  if (window.FullCalendar) return Promise.resolve(window.FullCalendar);
  if (!loading) {
    for (const [id, href] of [
      ["fullcalendar-css", "vendor/fullcalendar/fullcalendar.css"],
      ["schedules-css", "css/schedules.css"],
    ]) {
      if (!document.getElementById(id)) document.head.append(h("link", { id, rel: "stylesheet", href }));
    }
    /** @param {string} src */
    const script = (src) =>
      new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = src;
        s.onload = resolve;
        s.onerror = reject;
        document.head.append(s);
      });
    loading = script("vendor/fullcalendar/fullcalendar.js")
      .then(() => script("vendor/fullcalendar/ja.js"))
      .then(() => {
        if (!window.FullCalendar) throw new Error("FullCalendar");
        return window.FullCalendar;
      })
      .catch((e) => {
        loading = null;
        throw e;
      });
  }
  return loading;
}

/** @param {Date} d @returns {string} YYYY-MM-DD in local time */
function ymd(d) {
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** @param {Date} d @returns {string} HH:MM in local time */
function hm(d) {
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const query = params.query || {};
  const me = ctx.session ? ctx.session.user.id : "";
  const newBtn = h("button", { type: "button", class: "btn primary", "data-testid": "calendar-new" }, t("schedules.new"));
  const importBtn = h("button", { type: "button", class: "btn", "data-testid": "calendar-import" }, t("schedules.import"));
  const feedsBtn = h("button", { type: "button", class: "btn", "data-testid": "calendar-feeds" }, t("schedules.feeds"));
  root.append(pageHeader(t("schedules.title"), newBtn, importBtn, feedsBtn));

  /** @type {Option[]} */
  let works = [];
  try {
    /** @type {Kura.Page<Kura.Work>} */
    const page = await api.get("/works", { limit: 200, status: undefined });
    works = page.items.filter((w) => w.status === "registered" || w.status === "in_progress").map((w) => ({ value: w.id, label: w.title }));
  } catch {
    works = []; // the calendar still works for one's own entries
  }
  const scopeSel = selectField({
    name: "scope",
    label: t("schedules.scope"),
    options: [
      { value: "", label: t("schedules.scope_own") },
      { value: "all", label: t("schedules.scope_all") },
      ...works.map((w) => ({ value: w.value, label: t("schedules.scope_work", { title: w.label }) })),
    ],
    value: query.work || "",
    testid: "calendar-scope",
  });
  const personSel = selectField({ name: "person", label: t("schedules.person"), options: [], blank: t("schedules.person_all"), testid: "calendar-person" });
  const notice = h("div", { "aria-live": "polite" });
  const legend = h(
    "ul",
    { class: "calendar-legend" },
    h("li", {}, h("span", { class: "swatch holiday", "aria-hidden": "true" }), t("schedules.legend_holiday")),
    h("li", {}, h("span", { class: "swatch busy", "aria-hidden": "true" }), t("schedules.legend_busy")),
  );
  const host = h("div", { class: "calendar-host", "data-testid": "calendar" });
  root.append(h("div", { class: "calendar-filters" }, scopeSel, personSel, legend), notice, host);
  const scope = /** @type {HTMLSelectElement} */ (scopeSel.querySelector("select"));
  const person = /** @type {HTMLSelectElement} */ (personSel.querySelector("select"));
  personSel.hidden = !scope.value;

  let FC;
  try {
    FC = await loadCalendar();
  } catch {
    host.append(errorBox({ title: t("schedules.calendar_missing") }));
    return;
  }
  /** @type {Map<string, string>} date → holiday name */
  const holidays = new Map();
  /** @type {Map<string, string>} */
  const people = new Map();

  /**
   * @param {{ startStr: string, endStr: string }} info
   * @returns {Promise<FcEvent[]>}
   */
  async function entries(info) {
    /** @type {Record<string, unknown>} */
    const q = { from: info.startStr, to: info.endStr };
    if (scope.value === "all") q.all_works = "true";
    else if (scope.value) q.work_id = scope.value;
    if (scope.value && person.value) q.user_id = person.value;
    clear(notice);
    /** @type {Response} */
    const res = await api.request("GET", "/schedules/entries", { query: q, raw: true });
    /** @type {Kura.Occurrence[]} */
    const rows = await res.json();
    if (res.headers.get("Kura-Truncated")) notice.append(h("p", { class: "warn-box", role: "status" }, t("schedules.truncated")));
    for (const o of rows) people.set(o.owner_id, o.owner_name);
    refreshPeople();
    return rows.map((o) => {
      const mine = o.owner_id === me;
      const label = o.busy_only ? t("schedules.busy") : o.title || "";
      return {
        id: o.id,
        title: mine ? label : `${o.owner_name}: ${label}`,
        start: o.start,
        end: o.end,
        allDay: o.all_day,
        classNames: [o.busy_only ? "kura-busy" : mine ? "kura-mine" : "kura-other"],
        extendedProps: { occurrence: o },
      };
    });
  }

  /**
   * @param {{ startStr: string, endStr: string }} info
   * @returns {Promise<FcEvent[]>}
   */
  async function holidayEvents(info) {
    /** @type {Kura.Holiday[]} */
    const days = await api.get("/schedules/holidays", { from: info.startStr.slice(0, 10), to: info.endStr.slice(0, 10) });
    for (const d of days) holidays.set(d.date, d.name);
    return days.map((d) => ({ start: d.date, allDay: true, display: "background", title: d.name, classNames: ["kura-holiday"] }));
  }

  function refreshPeople() {
    const chosen = person.value;
    clear(person);
    person.append(h("option", { value: "" }, t("schedules.person_all")));
    for (const [id, name] of [...people].sort((a, b) => a[1].localeCompare(b[1], "ja"))) {
      person.append(h("option", { value: id, selected: id === chosen }, name));
    }
  }

  /** @type {FcCalendar} */
  const calendar = new FC.Calendar(host, {
    locale: lang() === "en" ? "en" : "ja",
    timeZone: "local",
    initialView: query.view || "dayGridMonth",
    initialDate: query.date || undefined,
    buttonIcons: false,
    headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay,listMonth" },
    height: "auto",
    nowIndicator: true,
    dayMaxEvents: 4,
    eventSources: [
      {
        id: "entries",
        events: (info, ok, fail) => {
          entries(info).then(ok, (err) => {
            clear(notice);
            notice.append(errorBox(err));
            fail(err);
          });
        },
      },
      {
        id: "holidays",
        events: (info, ok, fail) => {
          holidayEvents(info).then(ok, fail);
        },
      },
    ],
    // FullCalendar names a day cell by its date link only, while the cell also holds the
    // entries: axe-core (label-content-name-mismatch) wants the visible text in the name, so
    // the cell keeps its role and drops the partial name.
    dayCellDidMount: (arg) => arg.el.removeAttribute("aria-labelledby"),
    eventClick: (arg) => {
      arg.jsEvent.preventDefault();
      const o = /** @type {Kura.Occurrence | undefined} */ (arg.event.extendedProps.occurrence);
      if (o && !o.busy_only) void entryDialog(o);
    },
    eventDidMount: (arg) => {
      const o = /** @type {Kura.Occurrence | undefined} */ (arg.event.extendedProps.occurrence);
      if (!o) return;
      arg.el.dataset.testid = o.busy_only ? "calendar-busy" : "calendar-event";
      arg.el.setAttribute("title", arg.event.title);
      if (o.busy_only) arg.el.setAttribute("aria-disabled", "true");
      else {
        arg.el.setAttribute("role", "button");
        arg.el.setAttribute("tabindex", "0");
        arg.el.addEventListener("keydown", (e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            void entryDialog(o);
          }
        });
      }
    },
    // A day of the month view opens a timed entry at 9:00; the all-day row of a week or day
    // view an all-day one.
    dateClick: (arg) => void entryDialog(null, arg.date, arg.allDay && !arg.view.type.startsWith("dayGrid")),
    datesSet: (arg) => {
      const q = new URLSearchParams();
      if (scope.value) q.set("work", scope.value);
      q.set("view", arg.view.type);
      q.set("date", ymd(calendar ? calendar.getDate() : arg.start));
      history.replaceState(null, "", `#/calendar?${q}`);
    },
  });
  calendar.render();
  scope.addEventListener("change", () => {
    personSel.hidden = !scope.value;
    person.value = "";
    people.clear();
    calendar.refetchEvents();
  });
  person.addEventListener("change", () => calendar.refetchEvents());
  newBtn.addEventListener("click", () => void entryDialog(null, calendar.getDate(), false));
  importBtn.addEventListener("click", () => importDialog({ works, onDone: () => calendar.refetchEvents() }));
  feedsBtn.addEventListener("click", () => feedsDialog({ works }));

  /**
   * The entry dialog: a new entry (at `day`), or an occurrence of one (edit, delete).
   * @param {Kura.Occurrence | null} occ
   * @param {Date} [day]
   * @param {boolean} [allDay]
   */
  async function entryDialog(occ, day, allDay = false) {
    /** @type {Kura.ScheduleEntry | null} */
    let entry = null;
    if (occ && occ.series_id) {
      try {
        entry = await api.get(`/schedules/entries/${encodeURIComponent(occ.series_id)}`);
      } catch (err) {
        toast(/** @type {Error} */ (err).message, "error");
        return;
      }
    }
    const editable = !entry || entry.editable;
    const title = !entry ? t("schedules.entry_new") : editable ? t("schedules.entry_edit") : t("schedules.entry_view");
    const { body, actions, close } = openDialog(title, "entry-dialog");
    const start = occ ? new Date(occ.start.length === 10 ? `${occ.start}T00:00` : occ.start) : day || new Date();
    const end = occ ? new Date(occ.end.length === 10 ? `${occ.end}T00:00` : occ.end) : new Date(start.getTime() + 3600_000);
    const isAllDay = occ ? occ.all_day : allDay;
    if (isAllDay && occ) end.setDate(end.getDate() - 1); // shown inclusive
    if (!occ && !allDay && day && day.getHours() === 0) {
      start.setHours(9, 0, 0, 0);
      end.setTime(start.getTime() + 3600_000);
    }
    if (!editable && entry && occ) {
      body.append(viewOf(entry, occ));
      actions.append(h("button", { type: "button", class: "btn primary", onclick: close }, t("common.close")));
      return;
    }
    const form = entryForm(entry, occ, start, end, isAllDay);
    body.append(form);
    const save = h("button", { type: "button", class: "btn primary", "data-testid": "entry-save" }, t("common.save"));
    const cancel = h("button", { type: "button", class: "btn", onclick: close }, t("common.cancel"));
    if (entry && occ) {
      const del = h("button", { type: "button", class: "btn danger", "data-testid": "entry-delete" }, entry.rrule && occ.recurrence_id ? t("schedules.delete_one") : t("common.delete"));
      del.addEventListener("click", () =>
        busy(del, async () => {
          if (!(await confirmDialog(t("schedules.delete_confirm"), { danger: true }))) return;
          const one = Boolean(entry && entry.rrule && occ.recurrence_id && applyTo(form) === "one");
          try {
            if (one) await api.del(`/schedules/entries/${encodeURIComponent(entry.id)}/occurrences/${encodeURIComponent(occ.recurrence_id || "")}`, { version: entry.version });
            else await api.del(`/schedules/entries/${encodeURIComponent(entry.id)}`, { version: entry.version });
          } catch (err) {
            showFormErrors(form, err);
            return;
          }
          toast(t("schedules.deleted"), "ok");
          close();
          calendar.refetchEvents();
        }),
      );
      actions.append(del);
    }
    actions.append(cancel, save);
    save.addEventListener("click", () =>
      busy(save, async () => {
        try {
          await submit(form, entry, occ);
        } catch (err) {
          showFormErrors(form, err);
          return;
        }
        toast(t("schedules.saved"), "ok");
        close();
        calendar.refetchEvents();
      }),
    );
  }

  /**
   * @param {HTMLFormElement} form
   * @returns {string} "one" or "all"
   */
  function applyTo(form) {
    const chosen = form.querySelector("input[name=apply]:checked");
    return chosen instanceof HTMLInputElement ? chosen.value : "all";
  }

  /**
   * @param {Kura.ScheduleEntry} entry
   * @param {Kura.Occurrence} occ
   */
  function viewOf(entry, occ) {
    return h(
      "dl",
      { class: "kv", "data-testid": "entry-view" },
      h("dt", {}, t("schedules.f_title")),
      h("dd", {}, occ.title || entry.title),
      h("dt", {}, t("schedules.when")),
      h("dd", {}, occ.all_day ? fmtDate(occ.start) : `${fmtDate(occ.start)} ${hm(new Date(occ.start))}–${hm(new Date(occ.end))}`),
      h("dt", {}, t("schedules.f_location")),
      h("dd", {}, occ.location || "—"),
      h("dt", {}, t("schedules.owner")),
      h("dd", {}, entry.owner_name),
      h("dt", {}, t("schedules.works")),
      h("dd", {}, entry.works.map((w) => w.title).join("、") || "—"),
      entry.description ? [h("dt", {}, t("schedules.f_description")), h("dd", { class: "pre" }, entry.description)] : null,
    );
  }

  /**
   * @param {Kura.ScheduleEntry | null} entry
   * @param {Kura.Occurrence | null} occ
   * @param {Date} start
   * @param {Date} end
   * @param {boolean} allDay
   * @returns {HTMLFormElement}
   */
  function entryForm(entry, occ, start, end, allDay) {
    const rule = entry && entry.rrule ? entry.rrule : "";
    const freq = (/FREQ=([A-Z]+)/.exec(rule) || [])[1] || "";
    const simple = !rule || /^FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)(;(COUNT=\d+|UNTIL=[0-9TZ]+))?$/.test(rule);
    const allDayBox = h("input", { type: "checkbox", name: "all_day", checked: allDay, "data-testid": "entry-all-day" });
    const holidayNote = h("p", { class: "hint warn-text", "aria-live": "polite", "data-testid": "entry-holiday" });
    const repeatOptions = [{ value: "", label: t("schedules.repeat_none") }, ...["DAILY", "WEEKLY", "MONTHLY", "YEARLY"].map((f) => ({ value: f, label: t(`schedules.repeat_${f}`) }))];
    if (!simple) repeatOptions.push({ value: "keep", label: t("schedules.repeat_keep", { rule }) });
    const count = (/COUNT=(\d+)/.exec(rule) || [])[1] || "";
    const until = (/UNTIL=(\d{4})(\d{2})(\d{2})/.exec(rule) || []).slice(1).join("-");
    const chosenWorks = new Set(entry ? entry.work_ids : scope.value && scope.value !== "all" ? [scope.value] : []);
    const form = h(
      "form",
      { class: "form entry-form", novalidate: true, "data-testid": "entry-form" },
      formError(),
      field({ name: "title", label: t("schedules.f_title"), required: true, value: occ ? occ.title || "" : "", testid: "entry-title", attrs: { maxlength: "200" } }),
      h("div", { class: "field check" }, h("label", {}, allDayBox, " ", t("schedules.f_all_day"))),
      h(
        "div",
        { class: "field-row" },
        field({ name: "start_date", label: t("schedules.f_start_date"), type: "date", required: true, value: ymd(start), testid: "entry-start-date" }),
        field({ name: "start_time", label: t("schedules.f_start_time"), type: "time", value: hm(start), testid: "entry-start-time" }),
        field({ name: "end_date", label: t("schedules.f_end_date"), type: "date", required: true, value: ymd(end), testid: "entry-end-date" }),
        field({ name: "end_time", label: t("schedules.f_end_time"), type: "time", value: hm(end), testid: "entry-end-time" }),
      ),
      holidayNote,
      field({ name: "location", label: t("schedules.f_location"), value: occ ? occ.location || "" : "", testid: "entry-location", attrs: { maxlength: "200" } }),
      field({ name: "description", label: t("schedules.f_description"), type: "textarea", value: entry ? entry.description : "", testid: "entry-description" }),
      selectField({
        name: "visibility",
        label: t("schedules.f_visibility"),
        options: [
          { value: "public", label: t("schedules.public") },
          { value: "private", label: t("schedules.private") },
        ],
        value: entry ? entry.visibility : "public",
        testid: "entry-visibility",
        hint: t("schedules.f_visibility_hint"),
      }),
      h(
        "fieldset",
        { class: "field works-field", "data-field": "work_ids" },
        h("legend", {}, t("schedules.f_works")),
        works.length
          ? works.map((w) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "work", value: w.value, checked: chosenWorks.has(w.value), "data-testid": "entry-work" }), " ", w.label))
          : h("p", { class: "muted" }, t("schedules.f_works_none")),
        h("p", { class: "field-error", role: "alert", hidden: true }),
      ),
      occ && occ.recurrence_id && entry && entry.rrule
        ? h(
            "fieldset",
            { class: "field apply-field" },
            h("legend", {}, t("schedules.f_apply")),
            h("label", { class: "check" }, h("input", { type: "radio", name: "apply", value: "one", checked: true, "data-testid": "entry-apply-one" }), " ", t("schedules.apply_one")),
            h("label", { class: "check" }, h("input", { type: "radio", name: "apply", value: "all", "data-testid": "entry-apply-all" }), " ", t("schedules.apply_all")),
          )
        : null,
      h(
        "div",
        { class: "field-row repeat-row" },
        selectField({ name: "repeat", label: t("schedules.f_repeat"), options: repeatOptions, value: simple ? freq : "keep", testid: "entry-repeat" }),
        field({ name: "count", label: t("schedules.f_count"), type: "number", value: count, testid: "entry-count", attrs: { min: "1", max: "10000" } }),
        field({ name: "until", label: t("schedules.f_until"), type: "date", value: until, testid: "entry-until", hint: t("schedules.f_repeat_end_hint") }),
      ),
    );
    const startDate = /** @type {HTMLInputElement} */ (form.elements.namedItem("start_date"));
    const times = [...form.querySelectorAll("input[type=time]")];
    const sync = () => {
      for (const el of times) /** @type {HTMLInputElement} */ (el).disabled = allDayBox.checked;
      const name = holidays.get(startDate.value);
      holidayNote.textContent = name ? t("schedules.holiday_on", { date: fmtDate(startDate.value), name }) : "";
    };
    allDayBox.addEventListener("change", sync);
    startDate.addEventListener("change", sync);
    sync();
    return form;
  }

  /**
   * Send the form: a new entry, the series, or one occurrence.
   * @param {HTMLFormElement} form
   * @param {Kura.ScheduleEntry | null} entry
   * @param {Kura.Occurrence | null} occ
   */
  async function submit(form, entry, occ) {
    /** @param {string} n */
    const val = (n) => /** @type {HTMLInputElement} */ (form.elements.namedItem(n)).value;
    const allDay = /** @type {HTMLInputElement} */ (form.elements.namedItem("all_day")).checked;
    let start = allDay ? val("start_date") : `${val("start_date")}T${val("start_time") || "00:00"}`;
    let end = allDay ? val("end_date") : `${val("end_date")}T${val("end_time") || "00:00"}`;
    if (allDay && end) {
      const d = new Date(`${end}T00:00`);
      d.setDate(d.getDate() + 1); // the API's all-day end is exclusive
      end = ymd(d);
    }
    if (!allDay) {
      // Wall time of the browser, sent with its offset (the server keeps it in Asia/Tokyo).
      start = new Date(start).toISOString();
      end = new Date(end).toISOString();
    }
    const body = {
      title: val("title").trim(),
      start,
      end,
      all_day: allDay,
      location: val("location"),
      description: val("description"),
      visibility: val("visibility"),
      work_ids: [...form.querySelectorAll("input[name=work]:checked")].map((el) => /** @type {HTMLInputElement} */ (el).value),
    };
    const repeat = val("repeat");
    /** @type {string | null | undefined} */
    let rrule = null;
    if (repeat === "keep") rrule = undefined;
    else if (repeat) {
      rrule = `FREQ=${repeat}`;
      if (val("count")) rrule += `;COUNT=${Number(val("count"))}`;
      else if (val("until")) rrule += allDay ? `;UNTIL=${val("until").replaceAll("-", "")}` : `;UNTIL=${new Date(`${val("until")}T23:59:59`).toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "")}`;
    }
    if (!entry) {
      await api.post("/schedules/entries", { ...body, rrule });
      return;
    }
    if (occ && occ.recurrence_id && entry.rrule && applyTo(form) === "one") {
      const one = { version: entry.version, title: body.title, location: body.location, start, end };
      await api.put(`/schedules/entries/${encodeURIComponent(entry.id)}/occurrences/${encodeURIComponent(occ.recurrence_id)}`, one);
      return;
    }
    /** @type {Record<string, unknown>} */
    const change = { ...body, version: entry.version };
    if (occ && occ.recurrence_id && entry.rrule) {
      // The whole series: keep its first date, take the times of the form.
      delete change.start;
      delete change.end;
      if (!allDay) {
        change.start = `${entry.start.slice(0, 10)}T${val("start_time") || "00:00"}`;
        const length = new Date(end).getTime() - new Date(start).getTime();
        const first = new Date(`${entry.start.slice(0, 10)}T${val("start_time") || "00:00"}`);
        change.end = new Date(first.getTime() + length).toISOString();
        change.start = first.toISOString();
      }
    }
    if (rrule !== undefined && (rrule || entry.rrule)) change.rrule = rrule || "";
    await api.patch(`/schedules/entries/${encodeURIComponent(entry.id)}`, change);
  }
}
