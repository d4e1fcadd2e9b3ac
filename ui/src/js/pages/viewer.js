// Documents in their own window (issue 4 item 4): #/view?ids=a,b shows each file in a pane,
// side by side, filling the window ("別ウィンドウで開く" from the browser opens this).

import { t } from "../i18n.js";
import { h, clear } from "../components/dom.js";
import { ensureArchiveStyles } from "../components/styles.js";
import { viewerPanes, MAX_PANES } from "../components/panes.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Partial<Kura.PageContext>} [ctx]
 */
export async function render(root, params, ctx = {}) {
  ensureArchiveStyles();
  (ctx.setTitle || ((/** @type {string} */ x) => (document.title = x)))(t("viewer.title"));
  const ids = String((params.query && params.query.ids) || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .slice(0, MAX_PANES);
  const panes = viewerPanes({ emptyText: t("viewer.noIds") });
  clear(root);
  root.append(h("div", { class: "view-page" }, h("h1", { class: "sr-only" }, t("viewer.title")), panes.el));
  for (const id of ids) panes.open(id, { beside: true });
  return () => panes.closeAll();
}
