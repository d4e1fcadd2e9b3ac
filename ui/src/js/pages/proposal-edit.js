// Editing a proposal (#/proposals/<id>/edit): a draft (3(5)), one sent back or withdrawn
// (revised and submitted again, 4(16)). Others see the proposal's page instead.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { href } from "../router.js";
import { h } from "../ui.js";
import { proposalEditor } from "../components/proposal-editor.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { id: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  /** @type {Kura.ProposalDetail} */
  const d = await api.get(`/proposals/${encodeURIComponent(params.id)}`);
  ctx.setTitle(t("prop.edit.title_edit", { name: d.proposal.title || d.form.definition.name }));
  if (!d.actions.edit) {
    root.append(h("div", { class: "notice", role: "note", "data-testid": "proposal-not-editable" }, t("prop.edit.not_editable"), " ", h("a", { href: href("/proposals", d.proposal.id) }, t("prop.edit.open"))));
    return;
  }
  await proposalEditor(root, {
    work: { id: d.work.id, title: d.work.title, kind: d.work.kind },
    definition: d.form.definition,
    form: { id: d.form.id, version: d.form.version },
    proposal: d.proposal,
    values: d.proposal.values || {},
    bundle: d.bundle,
    session: ctx.session,
    navigate: ctx.navigate,
  });
}
