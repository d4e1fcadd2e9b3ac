// route-editor.js: the route of a proposal (seed 001 別表1-1 4(8)): approvers and viewers in a
// chosen order, a step with several approvers being a parallel step (合議: all of them approve
// before the route moves on), and saved route templates of the work and of one's organization.
//
//   const r = routeEditor({ workId, route, people, templates, users, session, onChange });
//   r.steps() → [{ kind, assignees }] (empty steps left out)
//
// The API checks the route again at submission (members only, approvers in a role that may
// approve, nobody twice, not the proposer) and its message shows under `[data-field=route]`.
// Test ids: route-editor, route-step (data-kind), route-kind, route-person, route-add-person,
// route-step-up, route-step-down, route-step-remove, route-add-step, route-template,
// route-template-apply, route-template-save, route-template-delete.

import { api } from "../api.js";
import { t } from "../i18n.js";
import { busy, clear, confirmDialog, dialog, errorMessage, h, toast, uid } from "../ui.js";

/**
 * @typedef {object} StepState
 * @property {"approve" | "view"} kind
 * @property {string[]} assignees
 */

/**
 * @param {{ workId: string, route: Kura.RouteStep[], people: Kura.RoutePerson[],
 *   templates: Kura.RouteTemplate[], users: Record<string, Kura.PersonName>,
 *   session: Kura.Session | null, onChange?: () => void }} options
 */
export function routeEditor({ workId, route, people, templates, users, session, onChange }) {
  /** @type {StepState[]} */
  let steps = route.length ? route.map((s) => ({ kind: s.kind, assignees: [...s.assignees] })) : [{ kind: "approve", assignees: [] }];
  let saved = [...templates];
  const byId = new Map(people.map((p) => [p.user_id, p]));
  const list = h("ol", { class: "route-steps", "data-testid": "route-steps" });
  const live = h("p", { class: "sr-only", "aria-live": "polite" });

  /** @param {string} id */
  const label = (id) => {
    const p = byId.get(id);
    if (p) return `${p.name}（${p.org_name}・${p.role_label}）`;
    const u = users[id];
    return u ? `${u.name}（${t("prop.route.not_member")}）` : t("prop.route.unknown");
  };

  const changed = () => {
    draw();
    if (onChange) onChange();
  };

  function draw() {
    clear(list);
    const used = new Set(steps.flatMap((s) => s.assignees));
    steps.forEach((step, i) => {
      const kindId = uid("route-kind");
      const kind = h(
        "select",
        { id: kindId, "data-testid": "route-kind" },
        h("option", { value: "approve", selected: step.kind === "approve" }, t("prop.route.approve")),
        h("option", { value: "view", selected: step.kind === "view" }, t("prop.route.view")),
      );
      kind.addEventListener("change", () => {
        step.kind = kind.value === "view" ? "view" : "approve";
        if (step.kind === "approve") step.assignees = step.assignees.filter((a) => (byId.get(a) || { can_approve: true }).can_approve);
        changed();
      });
      const chips = step.assignees.map((a) =>
        h(
          "li",
          { class: "route-person", "data-testid": "route-person", "data-user": a },
          h("span", {}, label(a)),
          h("button", {
            type: "button",
            class: "btn small link",
            "aria-label": t("prop.route.remove_person", { name: label(a) }),
            onclick: () => {
              step.assignees = step.assignees.filter((x) => x !== a);
              changed();
            },
          }, "×"),
        ),
      );
      const addId = uid("route-add");
      const candidates = people.filter((p) => !used.has(p.user_id) && (step.kind === "view" || p.can_approve));
      const addSel = h(
        "select",
        { id: addId, "data-testid": "route-add-person" },
        h("option", { value: "" }, candidates.length ? t("prop.route.add_person") : t("prop.route.nobody_left")),
        candidates.map((p) => h("option", { value: p.user_id }, `${p.name}（${p.org_name}・${p.role_label}）`)),
      );
      addSel.addEventListener("change", () => {
        if (!addSel.value) return;
        step.assignees.push(addSel.value);
        live.textContent = t("prop.route.added", { name: label(addSel.value), n: i + 1 });
        changed();
        const again = list.querySelectorAll("[data-testid=route-add-person]")[i];
        if (again instanceof HTMLElement) again.focus();
      });
      /** @param {number} by */
      const move = (by) => {
        const j = i + by;
        if (j < 0 || j >= steps.length) return;
        const [s] = steps.splice(i, 1);
        steps.splice(j, 0, s);
        live.textContent = t("prop.route.moved", { n: j + 1 });
        changed();
      };
      const parallel = step.kind === "approve" && step.assignees.length > 1;
      list.append(
        h(
          "li",
          { class: "route-step", "data-testid": "route-step", "data-kind": step.kind },
          h(
            "div",
            { class: "route-step-head" },
            h("strong", {}, t("prop.route.step", { n: i + 1 })),
            h("label", { for: kindId, class: "sr-only" }, t("prop.route.kind", { n: i + 1 })),
            kind,
            parallel ? h("span", { class: "badge info", "data-testid": "route-parallel" }, t("prop.route.parallel")) : null,
            h(
              "span",
              { class: "route-step-buttons" },
              h("button", { type: "button", class: "btn small", "data-testid": "route-step-up", disabled: i === 0, "aria-label": t("prop.route.up", { n: i + 1 }), onclick: () => move(-1) }, "↑"),
              h("button", { type: "button", class: "btn small", "data-testid": "route-step-down", disabled: i === steps.length - 1, "aria-label": t("prop.route.down", { n: i + 1 }), onclick: () => move(1) }, "↓"),
              h("button", {
                type: "button",
                class: "btn small",
                "data-testid": "route-step-remove",
                "aria-label": t("prop.route.remove_step", { n: i + 1 }),
                onclick: () => {
                  steps.splice(i, 1);
                  changed();
                },
              }, t("common.delete")),
            ),
          ),
          chips.length ? h("ul", { class: "route-people" }, chips) : h("p", { class: "small muted" }, t("prop.route.no_people")),
          h("div", { class: "route-add" }, h("label", { for: addId, class: "sr-only" }, t("prop.route.add_person_to", { n: i + 1 })), addSel),
        ),
      );
    });
  }

  const addStep = h("button", { type: "button", class: "btn small", "data-testid": "route-add-step" }, t("prop.route.add_step"));
  addStep.addEventListener("click", () => {
    steps.push({ kind: "approve", assignees: [] });
    changed();
  });

  // Saved routes of the work and of the organization.
  const tplId = uid("route-template");
  const tplSel = h("select", { id: tplId, "data-testid": "route-template" });
  const drawTemplates = () => {
    clear(tplSel).append(
      h("option", { value: "" }, saved.length ? t("prop.route.template_choose") : t("prop.route.template_none")),
      ...saved.map((tp) => h("option", { value: tp.id }, `${tp.name}（${tp.scope === "work" ? t("prop.route.scope_work") : t("prop.route.scope_org")}）`)),
    );
  };
  drawTemplates();
  const apply = h("button", { type: "button", class: "btn small", "data-testid": "route-template-apply" }, t("prop.route.template_apply"));
  apply.addEventListener("click", () => {
    const tp = saved.find((x) => x.id === tplSel.value);
    if (!tp) return;
    steps = tp.steps.map((s) => ({ kind: s.kind, assignees: [...s.assignees] }));
    live.textContent = t("prop.route.template_applied", { name: tp.name });
    changed();
  });
  const save = h("button", { type: "button", class: "btn small", "data-testid": "route-template-save" }, t("prop.route.template_save"));
  save.addEventListener("click", async () => {
    const nameId = uid("tpl-name");
    const name = h("input", { id: nameId, type: "text", maxlength: "100", "data-testid": "route-template-name" });
    const scopeId = uid("tpl-scope");
    const scope = h(
      "select",
      { id: scopeId, "data-testid": "route-template-scope" },
      h("option", { value: "work" }, t("prop.route.scope_work")),
      session && session.user.org_id ? h("option", { value: "org" }, t("prop.route.scope_org")) : null,
    );
    const ok = await dialog({
      title: t("prop.route.template_save"),
      body: h("div", { class: "form" }, h("div", { class: "field" }, h("label", { for: nameId }, t("prop.route.template_name")), name), h("div", { class: "field" }, h("label", { for: scopeId }, t("prop.route.template_scope")), scope)),
      testid: "route-template-dialog",
      actions: [
        { label: t("common.cancel"), value: false },
        { label: t("common.save"), value: true, primary: true, testid: "route-template-confirm" },
      ],
    });
    if (!ok) return;
    await busy(save, async () => {
      try {
        const body = { scope: scope.value, owner_id: scope.value === "work" ? workId : session?.user.org_id, name: name.value.trim(), steps: current() };
        /** @type {Kura.RouteTemplate} */
        const made = await api.post("/route-templates", body);
        saved = [...saved, made].sort((a, b) => a.name.localeCompare(b.name, "ja"));
        drawTemplates();
        tplSel.value = made.id;
        toast(t("prop.route.template_saved", { name: made.name }), "ok");
      } catch (err) {
        toast(errorMessage(err), "error");
      }
    });
  });
  const remove = h("button", { type: "button", class: "btn small", "data-testid": "route-template-delete" }, t("prop.route.template_delete"));
  remove.addEventListener("click", async () => {
    const tp = saved.find((x) => x.id === tplSel.value);
    if (!tp || !(await confirmDialog(t("prop.route.template_delete_confirm", { name: tp.name }), { danger: true }))) return;
    await busy(remove, async () => {
      try {
        await api.del(`/route-templates/${encodeURIComponent(tp.id)}`);
        saved = saved.filter((x) => x.id !== tp.id);
        drawTemplates();
      } catch (err) {
        toast(errorMessage(err), "error");
      }
    });
  });

  /** @returns {Kura.RouteStep[]} */
  function current() {
    return steps.filter((s) => s.assignees.length).map((s) => ({ kind: s.kind, assignees: [...s.assignees] }));
  }

  draw();
  const el = h(
    "div",
    { class: "route-editor field", "data-field": "route", "data-testid": "route-editor" },
    h("p", { class: "small muted" }, t("prop.route.help")),
    list,
    h("div", { class: "route-tools" }, addStep),
    h(
      "div",
      { class: "route-templates" },
      h("label", { for: tplId }, t("prop.route.templates")),
      tplSel,
      apply,
      remove,
      save,
    ),
    h("p", { class: "field-error", role: "alert", hidden: true }),
    live,
  );
  return { el, steps: current };
}
