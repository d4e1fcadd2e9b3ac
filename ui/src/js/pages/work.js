// A work's page (#/works/<id>): details, dates, status, retention / legal hold, members, and its
// top-level folders linking to the tree browser (#/browse/<workId>/<nodeId>).
// Names of the orderer, office, contractors and members come from GET /works/{id}/parties,
// which every reader of the work may call (never ids); words follow the kind of work (工事 /
// 業務: 施工場所 / 履行場所 …). The 電子納品 check record (components/checks.js) shows for both
// sides; moving to the archive shows its latest result first.
// Managers (operators, the orderer's works.manage holders, supervisors) also get "編集" (the
// work form), the status steps (登録済 → 施工中 → 完成 → 保管, one step forward, confirmed) and
// the member editor (work-members.js). Its imports (unpacked ZIPs, `kura import`) with state
// and reason are listed under the folders (components/imports.js).
import { api, ApiError } from "../api.js";
import { fmtDate, fmtDateTime, fmtEra, fmtNumber, t, tk } from "../i18n.js";
import { href, navigate } from "../router.js";
import { badge, busy, clear, control, dialog, empty, errorMessage, h, pageHeader, statusBadge, toast } from "../ui.js";
import { canManageWork, workForm } from "./work-form.js";
import { memberEditor } from "./work-members.js";
import { archiveNotice, checkRecord, loadChecks } from "../components/checks.js";
import { importList } from "../components/imports.js";

const STEPS = ["registered", "in_progress", "completed", "archived"];

function reload() {
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { id: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const id = params.id;
  /** @type {Kura.Work} */
  const work = await api.get(`/works/${encodeURIComponent(id)}`);
  ctx.setTitle(work.title);
  /** @type {[Kura.Member[] | Kura.Page<Kura.Member> | null, Kura.Page<Kura.ArchiveNode> | null]} */
  /** @type {[Kura.Member[] | Kura.Page<Kura.Member> | null, Kura.Page<Kura.ArchiveNode> | null, Kura.Parties | null]} */
  const [members, tree, parties] = await Promise.all([
    api.get(`/works/${encodeURIComponent(id)}/members`).catch(() => null),
    api.get(`/works/${encodeURIComponent(id)}/tree`, { limit: 100 }).catch(() => null),
    api.get(`/works/${encodeURIComponent(id)}/parties`).catch(() => null),
  ]);
  const memberList = members ? (Array.isArray(members) ? members : members.items || []) : [];

  /** @type {Map<string, string>} */
  const orgNames = new Map();
  /** @type {Map<string, string>} */
  const userNames = new Map();
  if (parties) {
    for (const o of [parties.orderer, ...parties.contractors]) if (o && o.name) orgNames.set(o.id, o.name);
    for (const m of parties.members) {
      if (m.org_id && m.org_name) orgNames.set(m.org_id, m.org_name);
      if (m.name) userNames.set(m.user_id, m.position ? `${m.name}（${m.position}）` : m.name);
    }
  }
  const unknown = () => h("span", { class: "muted" }, t("work.name_unknown"));
  /** @param {string | null | undefined} o */
  const org = (o) => (o ? orgNames.get(o) || unknown() : "—");

  const session = ctx.session;
  const me = session && session.user ? memberList.find((m) => m.user_id === session.user.id) : null;
  const manage = canManageWork(ctx.session, work, me && me.role);
  const formSlot = h("div", {});
  /** @type {HTMLElement[]} */
  const actions = [h("a", { class: "btn primary", href: href("/browse", id), "data-testid": "work-open-browser" }, t("work.open_browser"))];
  actions.push(h("a", { class: "btn", href: href("/upload", id), "data-testid": "work-upload" }, t("work.upload")));
  actions.push(h("a", { class: "btn", href: `#/calendar?work=${encodeURIComponent(id)}`, "data-testid": "work-calendar" }, t("nav.calendar")));
  // 書類管理, 電子検査, 電子納品・移管 (issue 10 §3-4: pages/folders.js, inspection.js, handover.js)
  actions.push(h("a", { class: "btn", href: href("/folders", id), "data-testid": "work-folders-page" }, t("collab.folders")));
  actions.push(h("a", { class: "btn", href: href("/inspection", id), "data-testid": "work-inspection" }, t("collab.inspection")));
  actions.push(h("a", { class: "btn", href: href("/handover", id), "data-testid": "work-handover" }, t("collab.handover")));
  actions.push(h("a", { class: "btn", href: `${href("/works", id)}/board`, "data-testid": "work-board" }, t("board.title")));
  actions.push(h("a", { class: "btn", href: `${href("/works", id)}/proposals`, "data-testid": "work-proposals" }, t("prop.list.work_title")));
  if (manage && session) {
    const editBtn = h("button", { type: "button", class: "btn", "data-testid": "work-edit", "aria-expanded": "false" }, t("common.edit"));
    editBtn.addEventListener("click", async () => {
      if (formSlot.firstChild) {
        clear(formSlot);
        editBtn.setAttribute("aria-expanded", "false");
        return;
      }
      editBtn.setAttribute("aria-expanded", "true");
      const wf = await workForm({
        work,
        session,
        onCancel: () => {
          clear(formSlot);
          editBtn.setAttribute("aria-expanded", "false");
          editBtn.focus();
        },
        onSaved: () => {
          toast(t("common.saved"), "ok");
          navigate(href("/works", id));
        },
      });
      clear(formSlot).append(wf);
      control(wf, "title").focus();
    });
    actions.push(editBtn);
  }

  const hold = work.legal_hold;
  const kind = work.kind;
  /** @type {[string, Kura.Child][]} */
  const props = [
    [tk("work.number", kind), h("span", { class: "mono" }, work.number)],
    [t("work.kind"), t(`kind.${work.kind}`)],
    [t("work.status"), statusBadge(work.status, kind)],
    [t("work.orderer"), org(work.orderer_org_id)],
    [t("work.office"), h("span", { "data-testid": "work-office" }, parties && parties.office ? parties.office.name : "—")],
    [t("work.contractors"), (work.contractor_org_ids || []).length ? (work.contractor_org_ids || []).map((o, i) => [i ? "、" : "", org(o)]) : "—"],
    [tk("work.period", kind), h("span", { "data-testid": "work-period" }, `${fmtDate(work.period_start)} 〜 ${fmtDate(work.period_end)}`, h("span", { class: "muted small" }, `（${fmtEra(work.period_start)} 〜 ${fmtEra(work.period_end)}）`))],
    [tk("work.location", kind), work.location && work.location.address ? work.location.address : "—"],
    [t("work.business_type"), parties && parties.business_type ? parties.business_type.name : work.business_type || "—"],
    [t("work.category"), work.category || "—"],
    [t("work.planned_price"), work.planned_price !== null && work.planned_price !== undefined ? t("work.yen", { n: fmtNumber(work.planned_price) }) : "—"],
    [t("work.contract_price"), work.contract_price !== null && work.contract_price !== undefined ? t("work.yen", { n: fmtNumber(work.contract_price) }) : "—"],
  ];
  /** @type {[string, Kura.Child][]} */
  const archive = [
    ["work.archived_at", work.archived_at ? fmtDateTime(work.archived_at) : "—"],
    ["work.retention_years", work.retention_years ? t("work.years", { n: work.retention_years }) : "—"],
    ["work.retention", work.retention_until ? fmtDate(work.retention_until) : "—"],
    [
      "work.legal_hold",
      hold
        ? h("span", { "data-testid": "work-legal-hold" }, badge(t("work.legal_hold_on"), "warn"), h("div", { class: "small" }, hold.reason), h("div", { class: "small muted" }, fmtDateTime(hold.placed_at)))
        : h("span", { "data-testid": "work-legal-hold" }, t("work.legal_hold_none")),
    ],
    ["work.created_at", fmtDateTime(work.created_at)],
    ["work.updated_at", fmtDateTime(work.updated_at)],
  ];
  /** @param {[string, Kura.Child][]} rows */
  const dl = (rows) => h("dl", { class: "props" }, rows.map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));
  /** @param {[string, Kura.Child][]} rows labels already in words */
  const dlWords = (rows) => h("dl", { class: "props" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

  const folders = tree ? (tree.items || []).filter((n) => n.kind === "folder") : [];
  const files = tree ? (tree.items || []).filter((n) => n.kind !== "folder") : [];
  const folderCard = h(
    "section",
    { class: "card", "aria-labelledby": "work-folders" },
    h("h2", { id: "work-folders" }, t("work.folders")),
    folders.length || files.length
      ? h(
          "ul",
          { class: "folders", "data-testid": "work-folders" },
          [...folders, ...files].map((n) =>
            h(
              "li",
              {},
              h(
                "a",
                { href: href("/browse", id, n.id), "data-testid": "work-folder", "data-id": n.id },
                h("span", { class: "folder-icon", "aria-hidden": "true" }, n.kind === "folder" ? "📁" : "📄"),
                h("span", {}, n.name),
              ),
            ),
          ),
        )
      : empty(tree ? t("work.folders_empty") : t("error.load")),
  );

  const next = STEPS[STEPS.indexOf(work.status) + 1];
  const stepError = h("p", { class: "field-error", role: "alert", hidden: true, "data-testid": "work-transition-error" });
  const stepCard = h(
    "section",
    { class: "card", "aria-labelledby": "work-steps" },
    h("h2", { id: "work-steps" }, t("workform.steps")),
    h(
      "ol",
      { class: "check-row", "data-testid": "work-steps" },
      STEPS.map((s, i) => {
        const here = s === work.status;
        const done = i < STEPS.indexOf(work.status);
        if (manage && s === next) {
          const btn = h("button", { type: "button", class: "btn small primary", "data-testid": "work-transition", "data-to": s }, t("workform.move_to", { status: tk(`status.${s}`, kind) }));
          btn.addEventListener("click", async () => {
            const question = h("p", {}, t("workform.move_confirm", { from: tk(`status.${work.status}`, kind), to: tk(`status.${s}`, kind) }));
            const checks = s === "archived" ? await loadChecks(id) : null;
            // the orderer blocks archiving while the latest check has errors: nothing to confirm
            const blocked = !!(checks && checks.block_archive_on_errors && checks.latest && checks.latest.counts.E);
            const body = s === "archived" ? h("div", {}, archiveNotice(checks), blocked ? null : question) : question;
            const ok = await dialog({
              title: t(blocked ? "checks.archive_blocked_title" : "common.confirm"),
              body,
              testid: "confirm-dialog",
              actions: blocked
                ? [{ label: t("common.close"), value: false, primary: true, testid: "confirm-cancel" }]
                : [
                    { label: t("common.cancel"), value: false, testid: "confirm-cancel" },
                    { label: t("common.yes"), value: true, primary: true, testid: "confirm-ok" },
                  ],
            });
            if (ok !== true) return;
            await busy(btn, async () => {
              try {
                await api.post(`/works/${encodeURIComponent(id)}/transition`, { to: s, version: work.version });
                toast(t("workform.moved", { status: tk(`status.${s}`, kind) }), "ok");
                reload();
              } catch (err) {
                clear(stepError).append(errorMessage(err));
                if (err instanceof ApiError && err.code === "stale_version") stepError.append(" ", h("button", { type: "button", class: "btn small", "data-testid": "stale-reload", onclick: reload }, t("workform.reload")));
                stepError.hidden = false;
              }
            });
          });
          return h("li", {}, btn);
        }
        return h("li", { "aria-current": here ? "step" : null }, here ? statusBadge(s, kind) : h("span", { class: done ? "" : "muted" }, `${done ? "✓ " : ""}${tk(`status.${s}`, kind)}`));
      }).flatMap((li, i) => (i ? [h("li", { "aria-hidden": "true", class: "muted" }, "→"), li] : [li])),
    ),
    stepError,
  );
  // No stylesheet of ours: CSSOM (allowed by the CSP, unlike style attributes) drops the numbers.
  const stepList = stepCard.querySelector("ol");
  if (stepList) Object.assign(stepList.style, { listStyle: "none", paddingLeft: "0", alignItems: "center" });

  const memberCard = h(
    "section",
    { class: "card", "aria-labelledby": "work-members" },
    h("h2", { id: "work-members" }, t("work.members")),
    memberList.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data", "data-testid": "work-members" },
            h("thead", {}, h("tr", {}, ["user", "role", "org", "added"].map((c) => h("th", { scope: "col" }, t(`work.member.${c}`))))),
            h(
              "tbody",
              {},
              memberList.map((m) =>
                h("tr", { "data-testid": "member-row", "data-user": m.user_id }, h("td", {}, userNames.get(m.user_id) || unknown()), h("td", {}, tk(`role.${m.role}`, kind)), h("td", {}, org(m.org_id)), h("td", { class: "nowrap" }, fmtDate(m.added_at))),
              ),
            ),
          ),
        )
      : empty(members ? t("work.members_empty") : t("error.load")),
  );

  root.append(
    h("nav", { class: "breadcrumb", "aria-label": "breadcrumb" }, h("a", { href: "#/works" }, t("work.back"))),
    h("div", { class: "work-head" }, pageHeader(work.title, ...actions), h("div", { class: "meta" }, statusBadge(work.status, kind), h("span", { class: "mono" }, work.number), h("span", {}, t(`kind.${work.kind}`)))),
    formSlot,
    h(
      "div",
      { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "work-details", "data-testid": "work-details" }, h("h2", { id: "work-details" }, t("work.details")), dlWords(props)),
      h("section", { class: "card", "aria-labelledby": "work-archive" }, h("h2", { id: "work-archive" }, t("work.archive")), dl(archive)),
    ),
    stepCard,
    checkRecord(work, { reload }),
    folderCard,
    importList(id),
    manage && session ? memberEditor({ work, members: memberList, userNames, orgName: org, session, reload }) : memberCard,
  );
}
