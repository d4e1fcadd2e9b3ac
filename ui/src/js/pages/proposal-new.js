// A new proposal of a work (#/works/<id>/proposals/new?form=<form id>, seed 001 別表1-1 3(1)):
// without `form`, the forms usable on this work to choose from (system-wide and the orderer's,
// for the work's kind); with it, the proposal form filled from the work's information (3(3)).
// `?copy=<proposal id>` makes a draft from an earlier proposal (3(4): its content, route and
// documents) and opens it.
import { api } from "../api.js";
import { t } from "../i18n.js";
import { href } from "../router.js";
import { empty, h, pageHeader } from "../ui.js";
import { proposalEditor } from "../components/proposal-editor.js";
import { ensureProposalStyles } from "../components/proposal-kit.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { id: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureProposalStyles();
  const workId = params.id;
  const query = params.query || {};
  if (query.copy) {
    /** @type {Kura.Proposal} */
    const made = await api.post(`/works/${encodeURIComponent(workId)}/proposals`, { copy_from: query.copy });
    ctx.navigate(`${href("/proposals", made.id)}/edit`, { replace: true });
    return;
  }
  /** @type {Kura.Work} */
  const work = await api.get(`/works/${encodeURIComponent(workId)}`);
  if (!query.form) {
    /** @type {Kura.FormList} */
    const forms = await api.get("/proposal-forms", { org_id: work.orderer_org_id });
    const usable = forms.items.filter((f) => f.work_kinds.includes(work.kind));
    ctx.setTitle(t("prop.new.title"));
    root.append(
      h("nav", { class: "breadcrumb", "aria-label": t("prop.breadcrumb") }, h("a", { href: href("/works", workId) }, work.title), " › ", h("a", { href: `${href("/works", workId)}/proposals` }, t("prop.list.work_title"))),
      pageHeader(t("prop.new.title")),
      h(
        "section",
        { class: "card", "aria-labelledby": "pn-forms" },
        h("h2", { id: "pn-forms" }, t("prop.new.choose")),
        usable.length
          ? h(
              "ul",
              { class: "form-choices", "data-testid": "form-choices" },
              usable.map((f) => h("li", {}, h("a", { class: "btn", href: `${href("/works", workId)}/proposals/new?form=${encodeURIComponent(f.id)}`, "data-testid": "form-choice", "data-form": f.id }, f.name))),
            )
          : empty(t("prop.new.no_forms")),
      ),
    );
    return;
  }
  /** @type {Kura.NewProposal} */
  const fresh = await api.get(`/works/${encodeURIComponent(workId)}/proposals/new`, { form_id: query.form });
  ctx.setTitle(t("prop.edit.title_new", { name: fresh.definition.name }));
  await proposalEditor(root, {
    work: { id: work.id, title: work.title, kind: work.kind },
    definition: fresh.definition,
    form: { id: fresh.form.id, version: fresh.form_version },
    proposal: null,
    values: fresh.values,
    bundle: [],
    session: ctx.session,
    navigate: ctx.navigate,
  });
}
