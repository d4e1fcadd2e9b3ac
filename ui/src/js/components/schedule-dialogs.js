// schedule-dialogs.js: the calendar page's dialogs (pages/calendar.js).
//
//   openDialog(title, testid)            → { dlg, body, actions, close, done } a modal <dialog>
//   importDialog({ works, onDone })      iCalendar import: file, options, progress, report
//   feedsDialog({ works })               subscription URLs: make one (shown once), revoke
// Every answer of the API is shown in Japanese where it comes; nothing is lost from a form on error.

import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { busy, clear, errorBox, field, formError, h, selectField, showFormErrors, uid } from "../ui.js";

/**
 * A modal dialog the caller fills; closes on Escape or close().
 * @param {string} title
 * @param {string} testid
 * @returns {{ dlg: HTMLDialogElement, body: HTMLDivElement, actions: HTMLDivElement, close: () => void, done: Promise<void> }}
 */
export function openDialog(title, testid) {
  const titleId = uid("dlg");
  const dlg = h("dialog", { class: "dialog schedule-dialog", "aria-labelledby": titleId, "data-testid": testid });
  const body = h("div", { class: "dialog-body" });
  const actions = h("div", { class: "dialog-actions" });
  dlg.append(h("h2", { id: titleId }, title), body, actions);
  /** @type {() => void} */
  let resolveDone = () => {};
  const done = new Promise((resolve) => {
    resolveDone = () => resolve(undefined);
  });
  const close = () => {
    if (dlg.open) dlg.close();
    dlg.remove();
    resolveDone();
  };
  dlg.addEventListener("cancel", (e) => {
    e.preventDefault();
    close();
  });
  document.body.append(dlg);
  dlg.showModal();
  return { dlg, body, actions, close, done };
}

/**
 * @param {{ value: string, label: string }[]} works
 * @returns {{ value: string, label: string }[]}
 */
function workOptions(works) {
  return works.map((w) => ({ value: w.value, label: w.label }));
}

/**
 * The import dialog: choose a file, send it, follow the job, show its report.
 * @param {{ works: { value: string, label: string }[], onDone: () => void }} options
 */
export function importDialog({ works, onDone }) {
  const { body, actions, close } = openDialog(t("schedules.import_title"), "import-dialog");
  const file = h("input", { type: "file", accept: ".ics,text/calendar", "data-testid": "import-file" });
  const form = h(
    "form",
    { class: "form", novalidate: true },
    h("p", { class: "hint" }, t("schedules.import_hint")),
    formError(),
    field({ name: "file", label: t("schedules.import_file"), control: /** @type {any} */ (file), required: true }),
    selectField({
      name: "visibility",
      label: t("schedules.import_visibility"),
      options: [
        { value: "public", label: t("schedules.public") },
        { value: "private", label: t("schedules.private") },
      ],
      value: "public",
      testid: "import-visibility",
    }),
    selectField({ name: "work_id", label: t("schedules.import_work"), options: workOptions(works), blank: t("schedules.import_work_none"), testid: "import-work" }),
  );
  const status = h("div", { class: "import-status", "aria-live": "polite", "data-testid": "import-status" });
  body.append(form, status);
  const submit = h("button", { type: "button", class: "btn primary", "data-testid": "import-submit" }, t("schedules.import_submit"));
  const closeBtn = h("button", { type: "button", class: "btn", "data-testid": "import-close", onclick: close }, t("common.close"));
  actions.append(closeBtn, submit);

  submit.addEventListener("click", () =>
    busy(submit, async () => {
      const chosen = file.files && file.files[0];
      if (!chosen) {
        showFormErrors(form, { fields: new Map([["file", t("schedules.import_choose")]]) });
        return;
      }
      const visibility = /** @type {HTMLSelectElement} */ (form.elements.namedItem("visibility")).value;
      const workId = /** @type {HTMLSelectElement} */ (form.elements.namedItem("work_id")).value;
      /** @type {Kura.ScheduleImport} */
      let job;
      try {
        job = await api.request("POST", "/schedules/imports", {
          query: { filename: chosen.name, visibility, work_id: workId || undefined },
          body: chosen,
          headers: { "Content-Type": "text/calendar" },
        });
      } catch (err) {
        showFormErrors(form, err);
        return;
      }
      form.hidden = true;
      submit.hidden = true;
      await follow(job, status);
      onDone();
    }),
  );
}

/**
 * Poll the job until it ends, showing progress, then its report.
 * @param {Kura.ScheduleImport} job
 * @param {HTMLElement} status
 */
async function follow(job, status) {
  const bar = h("progress", { max: "1", value: "0", "data-testid": "import-progress", "aria-label": t("schedules.import_title") });
  const line = h("p", {}, t("schedules.import_queued"));
  clear(status);
  status.append(line, bar);
  let current = job;
  for (let i = 0; i < 3000 && (current.state === "queued" || current.state === "running"); i += 1) {
    await new Promise((r) => {
      setTimeout(r, 400);
    });
    try {
      current = await api.get(`/schedules/imports/${encodeURIComponent(job.id)}`);
    } catch (err) {
      clear(status);
      status.append(errorBox(err));
      return;
    }
    const total = current.progress.total || 0;
    const done = current.progress.processed || 0;
    if (current.state === "running" && total) {
      bar.max = total;
      bar.value = done;
      line.textContent = t("schedules.import_running", { done, total });
    }
  }
  clear(status);
  if (current.state === "failed") {
    status.append(h("div", { class: "error-box", role: "alert", "data-testid": "import-failed" }, t("schedules.import_failed", { error: current.error || "" })));
    return;
  }
  status.append(report(current));
}

/**
 * @param {Kura.ScheduleImport} job
 * @returns {HTMLElement}
 */
function report(job) {
  const r = job.report;
  const counts = h(
    "dl",
    { class: "import-counts" },
    ["imported", "updated", "skipped", "deleted"].map((k) => [
      h("dt", {}, t(`schedules.report_${k}`)),
      h("dd", { "data-testid": `import-count-${k}` }, String(/** @type {Record<string, unknown>} */ (r)[k] ?? 0)),
    ]),
  );
  const items = (r.items || []).filter((i) => i.outcome !== "imported");
  return h(
    "div",
    { class: "import-report", "data-testid": "import-report" },
    h("p", { class: "ok-text" }, t("schedules.import_done")),
    counts,
    (r.warnings || []).length
      ? h("div", {}, h("h3", {}, t("schedules.report_warnings")), h("ul", {}, (r.warnings || []).map((w) => h("li", {}, w))))
      : null,
    items.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "table", "data-testid": "import-items" },
            h("caption", {}, t("schedules.report_items")),
            h("thead", {}, h("tr", {}, ["report_col_title", "report_col_outcome", "report_col_reason"].map((k) => h("th", { scope: "col" }, t(`schedules.${k}`))))),
            h("tbody", {}, items.map((i) => h("tr", {}, h("td", {}, i.title), h("td", {}, t(`schedules.outcome_${i.outcome}`)), h("td", {}, i.reason)))),
          ),
        )
      : null,
  );
}

/**
 * Subscription URLs: the user's feeds with revoke; make one for oneself or a work.
 * @param {{ works: { value: string, label: string }[] }} options
 */
export function feedsDialog({ works }) {
  const { body, actions, close } = openDialog(t("schedules.feeds_title"), "feeds-dialog");
  const list = h("div", { "data-testid": "feed-list" });
  const created = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "form inline-form", novalidate: true },
    formError(),
    selectField({
      name: "scope",
      label: t("schedules.feed_scope"),
      options: [{ value: "", label: t("schedules.feed_scope_user") }, ...workOptions(works)],
      testid: "feed-scope",
    }),
    field({ name: "name", label: t("schedules.feed_name"), testid: "feed-name", attrs: { maxlength: "100" } }),
  );
  const make = h("button", { type: "button", class: "btn primary", "data-testid": "feed-create" }, t("schedules.feed_create"));
  form.append(make);
  body.append(h("p", { class: "hint" }, t("schedules.feeds_hint")), form, created, list);
  actions.append(h("button", { type: "button", class: "btn", onclick: close, "data-testid": "feeds-close" }, t("common.close")));

  async function load() {
    clear(list);
    try {
      /** @type {Kura.ScheduleFeed[]} */
      const feeds = await api.get("/schedules/feeds");
      if (!feeds.length) {
        list.append(h("p", { class: "muted" }, t("schedules.feed_none")));
        return;
      }
      const names = new Map(works.map((w) => [w.value, w.label]));
      list.append(
        h(
          "ul",
          { class: "feed-list" },
          feeds.map((f) => {
            const revoke = h("button", { type: "button", class: "btn small", "data-testid": "feed-revoke" }, t("schedules.feed_revoke"));
            revoke.addEventListener("click", () =>
              busy(revoke, async () => {
                await api.del(`/schedules/feeds/${encodeURIComponent(f.id)}`);
                await load();
              }),
            );
            const what = f.scope === "work" ? names.get(f.work_id || "") || t("schedules.works") : t("schedules.feed_scope_user");
            return h(
              "li",
              { "data-testid": "feed-item" },
              h("span", {}, f.name || what),
              h("span", { class: "muted small" }, ` ${what} · ${fmtDateTime(f.created_at)}`),
              f.revoked_at ? h("span", { class: "badge" }, t("schedules.feed_revoked")) : revoke,
            );
          }),
        ),
      );
    } catch (err) {
      list.append(errorBox(err));
    }
  }

  make.addEventListener("click", () =>
    busy(make, async () => {
      const scope = /** @type {HTMLSelectElement} */ (form.elements.namedItem("scope")).value;
      const name = /** @type {HTMLInputElement} */ (form.elements.namedItem("name")).value;
      try {
        /** @type {Kura.ScheduleFeed} */
        const feed = await api.post("/schedules/feeds", scope ? { scope: "work", work_id: scope, name } : { scope: "user", name });
        clear(created);
        created.append(h("p", {}, t("schedules.feed_created")), h("div", { class: "secret", "data-testid": "feed-url" }, feed.url || ""));
        await load();
      } catch (err) {
        showFormErrors(form, err);
      }
    }),
  );
  void load();
}
