// The member editor on a work's page (for its managers): add a member (user picker over
// GET /users by login ID or name; people who may not list users type a login ID), change a
// member's role, remove a member. The API's Japanese messages appear by the control concerned.
//
//   memberEditor({ work, members, userNames, orgName, session, reload }) → <section>
import { api, ApiError } from "../api.js";
import { fmtDate, t, tk } from "../i18n.js";
import { isOperator } from "../router.js";
import { busy, clear, confirmDialog, control, empty, errorMessage, field, formError, h, selectField, toast } from "../ui.js";
import { showApiErrors } from "./work-form.js";

const ROLES = ["supervisor", "inspector", "contractor_member", "viewer", "archive_reader"];
/** @type {[string, string][]} */
const MEMBER_DETAILS = [
  ["監督員", "role"],
  ["受注者", "role"],
  ["利用者", "user"],
];

/**
 * @param {Kura.Session} session
 * @returns {boolean}
 */
function canListUsers(session) {
  return isOperator(session) || (session.grants || []).includes("users.manage");
}

/**
 * Users the picker offers: every user for operators, the own organization for users.manage.
 * @param {Kura.Session} session
 * @returns {Promise<Kura.User[]>}
 */
async function userPool(session) {
  if (!canListUsers(session)) return [];
  /** @type {Kura.User[]} */
  const out = [];
  let cursor;
  try {
    do {
      /** @type {Kura.Page<Kura.User>} */
      const page = await api.get("/users", { limit: 200, cursor, status: "active" });
      out.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && out.length < 2000);
  } catch {
    /* the picker falls back to a typed login ID */
  }
  return out;
}

/**
 * The user id for what was typed: a picked "login ID" or name, else an exact login-ID lookup.
 * @param {string} text
 * @param {Kura.User[]} pool
 * @returns {Promise<string | null>} null when nothing was typed
 */
async function resolveUser(text, pool) {
  const q = text.trim();
  if (!q) return null;
  const low = q.toLowerCase();
  const hit = pool.find((u) => u.login_id.toLowerCase() === low) || pool.find((u) => u.name === q) || pool.find((u) => `${u.login_id}（${u.name}）` === q);
  if (hit) return hit.id;
  try {
    /** @type {Kura.Page<Kura.User>} */
    const page = await api.get("/users", { login_id: q, limit: 1 });
    if (page.items.length) return page.items[0].id;
  } catch {
    /* may not list users: the API resolves (or refuses) the id itself */
  }
  return q;
}

/**
 * @typedef {object} MemberEditorOptions
 * @property {Kura.Work} work
 * @property {Kura.Member[]} members
 * @property {Map<string, string | null>} userNames user id → "name（役職）" (GET /works/{id}/parties)
 * @property {(orgId: string | null | undefined) => Kura.Child} orgName
 * @property {Kura.Session} session
 * @property {() => void} reload show the work page again
 */

/**
 * The member editor (see the top of this file).
 * @param {MemberEditorOptions} options
 * @returns {HTMLElement}
 */
export function memberEditor({ work, members, userNames, orgName, session, reload }) {
  const listId = `member-candidates-${work.id}`;
  const datalist = h("datalist", { id: listId, "data-testid": "member-candidates" });
  const listable = canListUsers(session);
  /** @type {Kura.User[]} */
  let pool = [];
  const poolReady = userPool(session).then((users) => {
    pool = users;
    for (const u of users) datalist.append(h("option", { value: u.login_id }, `${u.name}（${u.login_id}）`));
  });

  const addBtn = h("button", { type: "submit", class: "btn primary", "data-testid": "member-add" }, t("members.add"));
  const addTitle = h("h3", { class: "member-add-title" }, t("members.add"));
  const addForm = h(
    "form",
    { novalidate: true, "data-testid": "member-add-form", "aria-label": t("members.add") },
    addTitle,
    formError(),
    h(
      "div",
      { class: "form-grid" },
      field({
        name: "user",
        label: listable ? t("members.user_search") : t("members.user_login"),
        required: true,
        testid: "member-user",
        hint: listable ? t("members.user_search_hint") : t("members.user_login_hint"),
        attrs: { list: listable ? listId : null, autocomplete: "off" },
      }),
      selectField({ name: "role", label: t("work.member.role"), required: true, value: "viewer", options: ROLES.map((r) => ({ value: r, label: tk(`role.${r}`, work.kind) })), testid: "member-role-new" }),
    ),
    datalist,
    h("div", { class: "form-actions" }, addBtn),
  );
  addForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    await busy(addBtn, async () => {
      await poolReady;
      const userId = await resolveUser(control(addForm, "user").value, pool);
      if (!userId) {
        showApiErrors(addForm, { status: 422, code: "missing", title: t("error.form"), detail: t("error.form"), problem: {}, fields: new Map([["user", t("validation.missing")]]) });
        return;
      }
      try {
        await api.post(`/works/${encodeURIComponent(work.id)}/members`, { user_id: userId, role: control(addForm, "role").value });
        toast(t("members.added"), "ok");
        reload();
      } catch (caught) {
        const err = ApiError.from(caught);
        if (err.status === 422 && err.fields.has("user_id")) err.fields.set("user", t("members.user_unknown"));
        showApiErrors(addForm, err, { details: MEMBER_DETAILS, onReload: reload });
      }
    });
  });

  const rows = members.map((m) => {
    const name = userNames.get(m.user_id) || h("span", { class: "muted" }, t("work.name_unknown"));
    const sel = h(
      "select",
      { "aria-label": t("members.role_of", { name: typeof name === "string" ? name : m.user_id }), "data-testid": "member-role", "data-user": m.user_id },
      ROLES.map((r) => h("option", { value: r, selected: r === m.role }, tk(`role.${r}`, work.kind))),
    );
    const err = h("p", { class: "field-error", role: "alert", hidden: true, "data-testid": "member-error" });
    /** @param {unknown} e */
    const fail = (e) => {
      clear(err).append(errorMessage(e));
      if (e instanceof ApiError && e.code === "stale_version") err.append(" ", h("button", { type: "button", class: "btn small", "data-testid": "stale-reload", onclick: reload }, t("workform.reload")));
      err.hidden = false;
      sel.setAttribute("aria-invalid", "true");
    };
    const save = h("button", { type: "button", class: "btn small", "data-testid": "member-role-save", "data-user": m.user_id }, t("members.change"));
    save.addEventListener("click", () =>
      busy(save, async () => {
        if (sel.value === m.role) return;
        try {
          await api.patch(`/works/${encodeURIComponent(work.id)}/members/${encodeURIComponent(m.user_id)}`, { role: sel.value, version: m.version });
          toast(t("members.changed"), "ok");
          reload();
        } catch (e) {
          fail(e);
        }
      }),
    );
    const remove = h("button", { type: "button", class: "btn small danger", "data-testid": "member-remove", "data-user": m.user_id }, t("common.delete"));
    remove.addEventListener("click", async () => {
      if (!(await confirmDialog(t("members.remove_confirm", { name: typeof name === "string" ? name : m.user_id }), { danger: true, okLabel: t("common.delete") }))) return;
      await busy(remove, async () => {
        try {
          await api.del(`/works/${encodeURIComponent(work.id)}/members/${encodeURIComponent(m.user_id)}`);
          toast(t("members.removed"), "ok");
          reload();
        } catch (e) {
          fail(e);
        }
      });
    });
    return h(
      "tr",
      { "data-testid": "member-row", "data-user": m.user_id, "data-role": m.role },
      h("td", {}, name),
      h("td", {}, sel, err),
      h("td", {}, orgName(m.org_id)),
      h("td", { class: "nowrap" }, fmtDate(m.added_at)),
      h("td", {}, h("div", { class: "row-actions" }, save, remove)),
    );
  });

  addTitle.style.marginTop = "1.25rem";
  return h(
    "section",
    { class: "card", "aria-labelledby": "work-members" },
    h("h2", { id: "work-members" }, t("work.members")),
    members.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data", "data-testid": "work-members" },
            h("thead", {}, h("tr", {}, ["user", "role", "org", "added"].map((c) => h("th", { scope: "col" }, t(`work.member.${c}`))), h("th", { scope: "col" }, t("common.actions")))),
            h("tbody", {}, rows),
          ),
        )
      : empty(t("work.members_empty")),
    addForm,
  );
}
