// 電子検査 (seed 001 §5): the inspection view. Route: #/inspection/<workId>. The archive
// browser's parts (components/tree.js, listing.js, panes.js): the work's folders as a tree
// (§5(4) フォルダ構成をツリー構造で表示), the chosen folder's documents, several documents side by
// side (ウィンドウの切り替え等で複数の資料の閲覧) or in a window of their own; beside them the
// decided proposals with their approval stamps (別表1-1 5(8)), opened as documents once filed;
// the offline package for poor connections (§5(2)); the contractor prepares the inspection
// by filing the decided proposals (§5(3)).

import { api } from "../api.js";
import { fmtDate, t } from "../i18n.js";
import { href } from "../router.js";
import { badge, busy, clear, empty, errorBox, errorMessage, h, toast } from "../ui.js";
import { download as downloadPost } from "../components/dom.js";
import { ensureArchiveStyles } from "../components/styles.js";
import { folderTree } from "../components/tree.js";
import { folderListing } from "../components/listing.js";
import { viewerPanes } from "../components/panes.js";
import { ensureCollabStyles, stampList } from "../components/collab.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { workId: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureArchiveStyles();
  ensureCollabStyles();
  const workId = params.workId;
  const enc = encodeURIComponent(workId);
  /** @type {Kura.Inspection} */
  let data;
  try {
    data = await api.get(`/works/${enc}/inspection`);
  } catch (err) {
    root.append(errorBox(err));
    return undefined;
  }
  ctx.setTitle(`${data.work.title} - ${t("inspection.title")}`);

  const popOut = h("button", { type: "button", class: "btn", "data-testid": "inspection-window", disabled: true, onclick: () => panes.popOut() }, t("browse.openWindow"));
  const panes = viewerPanes({ onChange: (ids) => (popOut.disabled = !ids.length) });
  const list = folderListing({
    onOpen: (node, { beside }) => {
      if (node.kind === "folder") go(node.id);
      else panes.open(node.id, { beside });
    },
  });
  const tree = folderTree({ workId, workTitle: data.work.title, onSelect: (node) => go(node.id), label: t("inspection.tree") });

  /** @param {string} id */
  async function go(id) {
    try {
      if (id !== workId) {
        /** @type {Kura.NodeDetail} */
        const node = await api.get(`/nodes/${encodeURIComponent(id)}`);
        tree.reveal(node.breadcrumbs);
      }
      await list.load(id === workId ? `/works/${enc}/tree` : `/nodes/${encodeURIComponent(id)}/children`);
    } catch (err) {
      toast(errorMessage(err), "error");
    }
  }

  const proposalsBox = h("section", { class: "card inspection-proposals", "aria-labelledby": "insp-proposals" });
  function drawProposals() {
    clear(proposalsBox).append(h("h2", { id: "insp-proposals" }, t("inspection.proposals")));
    if (!data.proposals.length) {
      proposalsBox.append(empty(t("inspection.no_proposals")));
      return;
    }
    proposalsBox.append(
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "data", "data-testid": "inspection-proposals" },
          h("thead", {}, h("tr", {}, ["number", "title", "decided", "stamps", "open"].map((c) => h("th", { scope: "col" }, t(`inspection.col.${c}`))))),
          h(
            "tbody",
            {},
            data.proposals.map((p) => {
              const open = p.node_id
                ? h("button", { type: "button", class: "btn small", "data-testid": "inspection-open", onclick: (/** @type {MouseEvent} */ e) => panes.open(String(p.node_id), { beside: !e.altKey }) }, t("inspection.open"))
                : h("a", { class: "btn small", href: `/api/v1/proposals/${encodeURIComponent(p.id)}/pdf`, target: "_blank", rel: "noopener" }, t("inspection.pdf"));
              return h(
                "tr",
                { "data-testid": "inspection-proposal", "data-number": String(p.number) },
                h("td", { class: "num" }, String(p.number)),
                h("td", {}, p.title, p.form_name ? h("div", { class: "muted small" }, p.form_name) : null, p.node_id && !p.filed_current ? badge(t("inspection.outdated"), "warn") : null),
                h("td", { class: "nowrap" }, p.decided_on ? fmtDate(p.decided_on) : "—"),
                h("td", { "data-testid": "inspection-stamps" }, stampList(p.stamps)),
                h("td", {}, open),
              );
            }),
          ),
        ),
      ),
    );
  }

  const offline = h("button", { type: "button", class: "btn", "data-testid": "inspection-offline" }, t("inspection.offline"));
  offline.addEventListener("click", () =>
    busy(offline, async () => {
      try {
        await downloadPost(`/works/${enc}/inspection/offline`, { method: "POST", fallback: "inspection.zip" });
      } catch (err) {
        toast(errorMessage(err), "error");
      }
    }),
  );
  const prepare = h("button", { type: "button", class: "btn primary", "data-testid": "inspection-prepare" }, t("inspection.prepare"));
  prepare.addEventListener("click", () =>
    busy(prepare, async () => {
      try {
        await api.post(`/works/${enc}/folders/file-proposals`);
        for (let i = 0; i < 30; i += 1) {
          data = await api.get(`/works/${enc}/inspection`);
          if (!data.filing || data.filing.state === "done" || data.filing.state === "failed") break;
          await new Promise((resolve) => {
            setTimeout(resolve, 1000);
          });
        }
        if (data.filing && data.filing.state === "failed") toast(data.filing.detail || t("error.generic"), "error");
        else toast(t("inspection.prepared"), "ok");
        drawProposals();
        await go(workId);
      } catch (err) {
        toast(errorMessage(err), "error");
      }
    }),
  );

  root.append(
    h("nav", { class: "breadcrumb", "aria-label": "breadcrumb" }, h("a", { href: href("/works", workId) }, data.work.title)),
    h(
      "div",
      { class: "page-header" },
      h("h1", { tabindex: "-1" }, t("inspection.heading", { title: data.work.title })),
      h("div", { class: "page-actions" }, data.can_prepare ? prepare : null, offline, popOut, h("a", { class: "btn", href: href("/folders", workId) }, t("collab.folders"))),
    ),
    h("p", { class: "muted" }, t("inspection.lead")),
    h(
      "div",
      { class: "browse" },
      h("div", { class: "browse-body" }, h("aside", { class: "browse-tree", "aria-label": t("inspection.tree") }, tree.el), h("div", { class: "browse-main" }, list.el, panes.el)),
    ),
    proposalsBox,
  );
  drawProposals();
  await go(workId);
  return () => panes.closeAll();
}
