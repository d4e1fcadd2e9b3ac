// A work's page (#/works/<id>): details, dates, status, retention / legal hold, members, and its
// top-level folders linking to the tree browser (#/browse/<workId>/<nodeId>).
// Names of organizations and users are looked up when the viewer may read them; otherwise ids.
import { api } from "../api.js";
import { fmtDate, fmtDateTime, fmtEra, fmtNumber, t } from "../i18n.js";
import { href } from "../router.js";
import { badge, empty, h, pageHeader, statusBadge } from "../ui.js";

async function nameOf(path, pick) {
  try {
    return pick(await api.get(path));
  } catch {
    return null;
  }
}

export async function render(root, params, ctx) {
  const id = params.id;
  const work = await api.get(`/works/${encodeURIComponent(id)}`);
  ctx.setTitle(work.title);
  const [members, tree] = await Promise.all([
    api.get(`/works/${encodeURIComponent(id)}/members`).catch(() => null),
    api.get(`/works/${encodeURIComponent(id)}/tree`, { limit: 100 }).catch(() => null),
  ]);
  const memberList = members ? (Array.isArray(members) ? members : members.items || []) : [];

  const orgIds = [work.orderer_org_id, ...(work.contractor_org_ids || []), ...memberList.map((m) => m.org_id)].filter(Boolean);
  const orgNames = new Map();
  await Promise.all([...new Set(orgIds)].map(async (o) => orgNames.set(o, await nameOf(`/organizations/${encodeURIComponent(o)}`, (x) => x.name))));
  const userNames = new Map();
  await Promise.all(memberList.map(async (m) => userNames.set(m.user_id, await nameOf(`/users/${encodeURIComponent(m.user_id)}`, (x) => `${x.name}（${x.login_id}）`))));
  const org = (o) => (o ? orgNames.get(o) || h("span", { class: "mono" }, o) : "—");

  const actions = [h("a", { class: "btn primary", href: href("/browse", id), "data-testid": "work-open-browser" }, t("work.open_browser"))];
  actions.push(h("a", { class: "btn", href: href("/upload", id), "data-testid": "work-upload" }, t("work.upload")));

  const hold = work.legal_hold;
  const props = [
    ["work.number", h("span", { class: "mono" }, work.number)],
    ["work.kind", t(`kind.${work.kind}`)],
    ["work.status", statusBadge(work.status)],
    ["work.orderer", org(work.orderer_org_id)],
    ["work.contractors", (work.contractor_org_ids || []).length ? work.contractor_org_ids.map((o, i) => [i ? "、" : "", org(o)]) : "—"],
    ["work.period", h("span", { "data-testid": "work-period" }, `${fmtDate(work.period_start)} 〜 ${fmtDate(work.period_end)}`, h("span", { class: "muted small" }, `（${fmtEra(work.period_start)} 〜 ${fmtEra(work.period_end)}）`))],
    ["work.location", work.location && work.location.address ? work.location.address : "—"],
    ["work.business_type", work.business_type || "—"],
    ["work.category", work.category || "—"],
    ["work.planned_price", work.planned_price !== null && work.planned_price !== undefined ? t("work.yen", { n: fmtNumber(work.planned_price) }) : "—"],
    ["work.contract_price", work.contract_price !== null && work.contract_price !== undefined ? t("work.yen", { n: fmtNumber(work.contract_price) }) : "—"],
  ];
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
  const dl = (rows) => h("dl", { class: "props" }, rows.map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));

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
                h("tr", {}, h("td", {}, userNames.get(m.user_id) || h("span", { class: "mono" }, m.user_id)), h("td", {}, t(`role.${m.role}`)), h("td", {}, org(m.org_id)), h("td", { class: "nowrap" }, fmtDate(m.added_at))),
              ),
            ),
          ),
        )
      : empty(members ? t("work.members_empty") : t("error.load")),
  );

  root.append(
    h("nav", { class: "breadcrumb", "aria-label": "breadcrumb" }, h("a", { href: "#/works" }, t("work.back"))),
    h("div", { class: "work-head" }, pageHeader(work.title, ...actions), h("div", { class: "meta" }, statusBadge(work.status), h("span", { class: "mono" }, work.number), h("span", {}, t(`kind.${work.kind}`)))),
    h(
      "div",
      { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "work-details", "data-testid": "work-details" }, h("h2", { id: "work-details" }, t("work.details")), dl(props)),
      h("section", { class: "card", "aria-labelledby": "work-archive" }, h("h2", { id: "work-archive" }, t("work.archive")), dl(archive)),
    ),
    folderCard,
    memberCard,
  );
}
