// Administration landing page (#/admin) and the shared admin layout.
//   import { adminLayout } from "./admin.js";
//   const content = adminLayout(root, ctx, "/admin/users");  // side menu + content element
import { t } from "../i18n.js";
import { canSee } from "../router.js";
import { h, pageHeader } from "../ui.js";
import { firstSteps } from "../components/first-use.js";

export const SECTIONS = [
  { pattern: "/admin/users", key: "admin.users", testid: "admin-nav-users", lead: "users.new" },
  { pattern: "/admin/orgs", key: "admin.orgs", testid: "admin-nav-orgs", lead: "orgs.offices" },
  { pattern: "/admin/grants", key: "admin.grants", testid: "admin-nav-grants", lead: "grants.title" },
  { pattern: "/admin/master", key: "admin.master", testid: "admin-nav-master", lead: "master.positions" },
  { pattern: "/admin/audit", key: "admin.audit", testid: "admin-nav-audit", lead: "audit.export_csv" },
  { pattern: "/admin/mail", key: "admin.mail", testid: "admin-nav-mail", lead: "mail.title" },
  { pattern: "/admin/proposal-forms", key: "admin.forms", testid: "admin-nav-forms", lead: "prop.forms.title" },
  { pattern: "/admin/collab", key: "admin.collab", testid: "admin-nav-collab", lead: "admincollab.title" },
  { pattern: "/admin/erasures", key: "admin.erasures", testid: "admin-nav-erasures", lead: "erase.title" },
  { pattern: "/admin/keys", key: "admin.keys", testid: "admin-nav-keys", lead: "keys.title" },
];

/**
 * The admin side menu (the sections this session may see) beside the content element.
 * @param {HTMLElement} root
 * @param {Kura.PageContext} ctx
 * @param {string} active the current section's pattern
 * @returns {HTMLDivElement} the content element
 */
export function adminLayout(root, ctx, active) {
  const nav = h(
    "nav",
    { class: "admin-nav", "aria-label": t("admin.menu") },
    h(
      "ul",
      {},
      SECTIONS.filter((s) => canSee(s.pattern, ctx.session)).map((s) =>
        h("li", {}, h("a", { href: `#${s.pattern}`, "data-testid": s.testid, "aria-current": s.pattern === active ? "page" : null }, t(s.key))),
      ),
    ),
  );
  const content = h("div", { class: "admin-content" });
  root.append(h("div", { class: "split" }, nav, content));
  return content;
}

/** @type {Record<string, string>} */
const DESCRIPTIONS = {
  "/admin/users": "admin.users.desc",
  "/admin/orgs": "admin.orgs.desc",
  "/admin/grants": "admin.grants.desc",
  "/admin/master": "admin.master.desc",
  "/admin/audit": "admin.audit.desc",
  "/admin/mail": "admin.mail.desc",
  "/admin/proposal-forms": "admin.forms.desc",
  "/admin/collab": "admin.collab.desc",
  "/admin/erasures": "admin.erasures.desc",
  "/admin/keys": "admin.keys.desc",
};

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  root.append(pageHeader(t("admin.title")));
  // the first steps come after a few counts: a slot keeps their place, and a page that was
  // left meanwhile (its slot gone with it) is not written into
  const slot = h("div", {});
  root.append(slot);
  void firstSteps(ctx.session).then((first) => {
    if (first && slot.isConnected) slot.replaceWith(first);
  });
  root.append(
    h(
      "div",
      { class: "admin-tiles", "data-testid": "admin-tiles" },
      SECTIONS.filter((s) => canSee(s.pattern, ctx.session)).map((s) => h("a", { href: `#${s.pattern}`, "data-testid": `${s.testid}-tile` }, h("strong", {}, t(s.key)), h("span", { class: "small muted" }, t(DESCRIPTIONS[s.pattern])))),
    ),
  );
}
