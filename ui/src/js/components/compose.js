// compose.js: the form that writes a post (new or edited) or a reply: title, body (plain text;
// links become links when shown), importance, who reads it (scope: every member, roles, chosen
// members, one of my groups; seed 001 別表1-1 2(5)), whom to mail (2(8)) and files dropped on
// it or chosen (2(4)), uploaded resumably (tus, upload-queue.js) as staged attachments, each
// checked for personal identifiers before the post is sent (§3-2, collab.js warnIfPersonal).
//
//   const form = composeForm({ mode: "post", workId, audience, onSaved(post), onCancel });
//   composeForm({ mode: "edit", workId, audience, post, files, onSaved, onCancel })
//   composeForm({ mode: "reply", workId, postId, onSaved(reply) })
//   composeForm({ mode: "bulk", works, onSaved(bulk) })   // 別表1-2 2(8), no work: files staged
//                                                         // without one, scope members/roles
// Errors of the API are shown under their field (scope, notify, attachments, title, body).

import { api } from "../api.js";
import { fmtBytes, t } from "../i18n.js";
import { uploadQueue } from "./upload-queue.js";
import { warnIfPersonal } from "./collab.js";
import { busy, clear, clearFormErrors, control, field, formError, h, selectField, showFormErrors, uid } from "../ui.js";

const ROLES = ["supervisor", "inspector", "contractor_member", "viewer"];
// Programs and scripts are refused by the server; say so before uploading them.
const FORBIDDEN = /\.(exe|com|bat|cmd|scr|pif|msi|msp|msc|dll|cpl|sys|jar|js|jse|vbs|vbe|wsf|wsh|ws|ps1|psm1|hta|lnk|reg|sh|bash|csh|app|apk|appx|msix|scf|url|inf)$/i;
const MAX_FILES = 30;

/**
 * @typedef {object} ComposeOptions
 * @property {"post" | "edit" | "reply" | "bulk"} mode
 * @property {string} [workId]
 * @property {string} [postId] the post a reply answers
 * @property {Kura.Audience} [audience] members and groups (post, edit)
 * @property {Kura.Post} [post] the post being edited
 * @property {Kura.AttachmentBrief[]} [files] its files (edit)
 * @property {Kura.TreeWork[]} [works] the supervisor's works (bulk)
 * @property {(saved: any) => void} onSaved
 * @property {() => void} [onCancel]
 * @property {string} [me] the signed-in user's id (left out of choices)
 */

/**
 * @param {string} name
 * @param {string} legend
 * @param {...Kura.Child} children
 * @returns {HTMLDivElement}
 */
function group(name, legend, ...children) {
  return h(
    "div",
    { class: "field", "data-field": name },
    h("fieldset", { class: "compose-set" }, h("legend", {}, legend), ...children),
    h("p", { class: "field-error", role: "alert", hidden: true }),
  );
}

/**
 * @param {string} name
 * @param {string} value
 * @param {string} label
 * @param {{ checked?: boolean, type?: string, testid?: string }} [options]
 * @returns {HTMLLabelElement}
 */
function choice(name, value, label, { checked = false, type = "checkbox", testid } = {}) {
  const id = uid(name);
  return h("label", { class: "check", for: id }, h("input", { type, id, name, value, checked, "data-testid": testid }), " ", label);
}

/**
 * @param {ComposeOptions} options
 * @returns {HTMLFormElement}
 */
export function composeForm(options) {
  const { mode, workId, postId, audience, post, works, onSaved, onCancel, me } = options;
  const form = /** @type {HTMLFormElement} */ (h("form", { class: "form compose", novalidate: true, "data-testid": `compose-${mode}` }));
  const members = (audience ? audience.members : []).filter((m) => m.user_id !== me);
  /** @type {{ id: string, name: string, size: number }[]} */
  const attached = (options.files || []).map((f) => ({ id: f.id, name: f.name, size: f.size }));

  if (mode !== "reply") {
    form.append(field({ name: "title", label: t("board.f.title"), required: true, value: post ? post.title : "", testid: "compose-title", attrs: { maxlength: "200", autocomplete: "off" } }));
  }
  form.append(
    field({
      name: "body",
      label: mode === "reply" ? t("board.f.reply") : t("board.f.body"),
      type: "textarea",
      required: mode === "reply",
      value: post ? post.body : "",
      testid: "compose-body",
      hint: t("board.f.body_hint"),
      attrs: { rows: mode === "reply" ? "4" : "8", maxlength: "20000" },
    }),
  );
  if (mode !== "reply") {
    form.append(
      selectField({
        name: "importance",
        label: t("board.f.importance"),
        value: post ? post.importance : "normal",
        testid: "compose-importance",
        options: [
          { value: "normal", label: t("board.importance.normal") },
          { value: "important", label: t("board.importance.important") },
        ],
      }),
    );
  }

  // -- works (bulk) ---------------------------------------------------------------------------
  if (mode === "bulk") {
    const list = (works || []).map((w) => choice("work_ids", w.work.id, `${w.work.number} ${w.work.title}`, { checked: true, testid: "compose-bulk-work" }));
    const all = h("button", { type: "button", class: "btn small", onclick: () => list.forEach((l) => { const i = l.querySelector("input"); if (i) i.checked = true; }) }, t("board.f.select_all"));
    const none = h("button", { type: "button", class: "btn small", onclick: () => list.forEach((l) => { const i = l.querySelector("input"); if (i) i.checked = false; }) }, t("board.f.select_none"));
    form.append(group("work_ids", t("board.f.works"), h("div", { class: "toolbar" }, all, none), h("div", { class: "check-list" }, list)));
  }

  // -- scope ----------------------------------------------------------------------------------
  if (mode === "post" || mode === "edit" || mode === "bulk") {
    const kind = post ? post.scope.kind : "members";
    const kinds = mode === "bulk" ? ["members", "roles"] : ["members", "roles", "users", "group"];
    const groups = audience ? audience.groups : [];
    const rolesBox = h("div", { class: "check-list", "data-part": "roles" }, ROLES.map((r) => choice("scope_roles", r, t(`role.${r}`), { checked: Boolean(post && post.scope.roles.includes(r)), testid: `scope-role-${r}` })));
    const chosen = new Set(post ? post.scope.users.map((u) => u.id) : []);
    const usersBox = h("div", { class: "check-list", "data-part": "users" }, members.map((m) => choice("scope_users", m.user_id, `${m.name}（${m.org_name}・${t(`role.${m.role}`)}）`, { checked: chosen.has(m.user_id), testid: "scope-user" })));
    const groupSel = h("select", { name: "scope_group", "aria-label": t("board.scope.group"), "data-testid": "scope-group" }, groups.map((g) => h("option", { value: g.id, selected: post ? post.scope.group_id === g.id : false }, t("board.scope.group_option", { name: g.name, n: g.member_count }))));
    const groupBox = h("div", { "data-part": "group" }, groups.length ? groupSel : h("p", { class: "hint" }, t("board.scope.no_groups")));
    const radios = kinds.map((k) => choice("scope_kind", k, t(`board.scope.${k}`), { type: "radio", checked: k === kind, testid: `scope-${k}` }));
    const scopeSet = group("scope", t("board.f.scope"), h("div", { class: "check-row" }, radios), rolesBox, mode === "bulk" ? null : usersBox, mode === "bulk" ? null : groupBox);
    const show = () => {
      const current = scopeKind();
      rolesBox.hidden = current !== "roles";
      usersBox.hidden = current !== "users";
      groupBox.hidden = current !== "group";
    };
    scopeSet.addEventListener("change", show);
    form.append(scopeSet);
    show();
  }

  // -- mail (2(8)) ----------------------------------------------------------------------------
  if (mode === "post" || mode === "bulk") {
    const modes = mode === "bulk" ? ["none", "all"] : ["none", "all", "chosen"];
    const radios = modes.map((k) => choice("notify_mode", k, t(`board.notify.${k}`), { type: "radio", checked: k === "none", testid: `notify-${k}` }));
    const who = h("div", { class: "check-list", hidden: true, "data-part": "notify-users" }, members.map((m) => choice("notify_users", m.user_id, `${m.name}（${m.org_name}）`, { testid: "notify-user" })));
    const set = group("notify", t("board.f.notify"), h("div", { class: "check-row" }, radios), who);
    set.addEventListener("change", () => {
      who.hidden = checkedValue("notify_mode") !== "chosen";
    });
    form.append(set);
  }

  // -- files ----------------------------------------------------------------------------------
  const fileErrors = h("p", { class: "field-error", role: "alert", hidden: true });
  const attachedList = h("ul", { class: "compose-files", "data-testid": "compose-files" });
  const drawAttached = () => {
    clear(attachedList);
    for (const f of attached) {
      attachedList.append(
        h(
          "li",
          { "data-testid": "compose-file", "data-name": f.name },
          h("span", {}, f.name),
          h("span", { class: "muted small" }, fmtBytes(f.size)),
          h("button", { type: "button", class: "btn small", "aria-label": t("board.f.remove_named", { name: f.name }), onclick: () => { attached.splice(attached.indexOf(f), 1); drawAttached(); } }, t("board.f.remove")),
        ),
      );
    }
  };
  drawAttached();
  /** @type {Set<Promise<string>>} the personal-data checks still open (the post waits for them) */
  const checks = new Set();
  const queue = uploadQueue({
    endpoint: "/api/v1/attachments/uploads",
    metadata: workId && mode !== "bulk" ? { work_id: workId } : {},
    onFileDone: (entry) => {
      if (entry.attachmentId) {
        const file = { id: entry.attachmentId, name: entry.file.name, size: entry.file.size };
        attached.push(file);
        // §3-2 (seed 001): a file holding personal identifiers is warned about before it is
        // sent; removed, it leaves the post (the API deleted the staged file).
        const check = warnIfPersonal({
          kind: "attachment",
          id: file.id,
          name: file.name,
          onRemove: () => {
            const at = attached.indexOf(file);
            if (at >= 0) attached.splice(at, 1);
            drawAttached();
          },
        }).catch(() => "pending");
        checks.add(check);
        void check.finally(() => checks.delete(check));
      }
      drawAttached();
    },
  });
  const picker = h("input", { type: "file", multiple: true, id: uid("files"), class: "sr-only", "data-testid": "compose-file-input" });
  /** @param {File[]} files */
  const add = (files) => {
    fileErrors.hidden = true;
    const ok = [];
    for (const file of files) {
      if (FORBIDDEN.test(file.name)) {
        fileErrors.textContent = t("board.f.forbidden", { name: file.name });
        fileErrors.hidden = false;
      } else ok.push({ file });
    }
    if (attached.length + ok.length > MAX_FILES) {
      fileErrors.textContent = t("board.f.too_many", { n: MAX_FILES });
      fileErrors.hidden = false;
      return;
    }
    if (ok.length) void queue.add(ok);
  };
  picker.addEventListener("change", () => {
    add([...(picker.files || [])]);
    picker.value = "";
  });
  const drop = h(
    "div",
    { class: "drop-zone", "data-testid": "compose-drop" },
    h("p", {}, t("board.f.drop")),
    h("label", { class: "btn", for: picker.id }, t("board.f.choose")),
    picker,
  );
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    add([...((e.dataTransfer && e.dataTransfer.files) || [])]);
  });
  form.append(h("div", { class: "field", "data-field": "attachments" }, h("span", { class: "label" }, t("board.f.files")), drop, queue.el, attachedList, fileErrors, h("p", { class: "field-error", role: "alert", hidden: true })));

  // -- submit ---------------------------------------------------------------------------------
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "compose-submit" }, t(`board.f.submit_${mode}`));
  const cancel = onCancel ? h("button", { type: "button", class: "btn", "data-testid": "compose-cancel", onclick: onCancel }, t("common.cancel")) : null;
  form.append(formError(), h("div", { class: "form-actions" }, submit, cancel));

  /**
   * @param {string} name
   * @returns {string}
   */
  function checkedValue(name) {
    const el = form.querySelector(`input[name="${name}"]:checked`);
    return el instanceof HTMLInputElement ? el.value : "";
  }
  /**
   * @param {string} name
   * @returns {string[]}
   */
  function checkedValues(name) {
    return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((el) => (el instanceof HTMLInputElement ? el.value : ""));
  }
  function scopeKind() {
    return checkedValue("scope_kind") || "members";
  }
  function scope() {
    const kind = scopeKind();
    /** @type {Record<string, unknown>} */
    const out = { kind };
    if (kind === "roles") out.roles = checkedValues("scope_roles");
    if (kind === "users") out.user_ids = checkedValues("scope_users");
    const sel = form.querySelector("select[name=scope_group]");
    if (kind === "group") out.group_id = sel instanceof HTMLSelectElement ? sel.value : "";
    return out;
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (queue.entries.some((x) => x.state === "uploading" || x.state === "queued")) {
      fileErrors.textContent = t("board.f.wait_uploads");
      fileErrors.hidden = false;
      return;
    }
    void busy(submit, async () => {
      clearFormErrors(form);
      await Promise.all([...checks]);
      const body = control(form, "body").value;
      const ids = attached.map((f) => f.id);
      try {
        let saved;
        if (mode === "reply") {
          saved = await api.post(`/posts/${encodeURIComponent(postId || "")}/replies`, { body, attachment_ids: ids });
        } else {
          const common = { title: control(form, "title").value, body, importance: control(form, "importance").value };
          if (mode === "post") {
            const notifyMode = checkedValue("notify_mode");
            const notify = notifyMode === "all" ? { all: true } : notifyMode === "chosen" ? { user_ids: checkedValues("notify_users") } : {};
            saved = await api.post(`/works/${encodeURIComponent(workId || "")}/posts`, { ...common, scope: scope(), attachment_ids: ids, notify });
          } else if (mode === "edit" && post) {
            saved = await api.patch(`/posts/${encodeURIComponent(post.id)}`, { ...common, version: post.version, revision: post.revision, scope: scope(), attachment_ids: ids });
          } else {
            saved = await api.post("/bulletins/bulk", { ...common, work_ids: checkedValues("work_ids"), scope: scope(), attachment_ids: ids, notify_all: checkedValue("notify_mode") === "all" });
          }
        }
        onSaved(saved);
      } catch (err) {
        showFormErrors(form, err);
      }
    });
  });
  return form;
}
