// router.js: hash routes → page modules.
//
// A page is `js/pages/<page>.js` exporting
//   export async function render(root, params, ctx)   // required
//     root:   the <main> element, emptied for the page (fill it; it is yours)
//     params: route parameters (strings) plus `query` (object from the part after "?")
//     ctx:    { session, navigate(hash), setTitle(text) }; session = GET /auth/me answer
//             ({ user, org_kind, grants[], password_change_required }) or null
//   It may return a cleanup function, called before the next page renders (stop timers,
//   abort fetches, remove window listeners).
// A page whose module is missing or fails to load shows a calm "準備中" placeholder.
//
// Routes (keep in step with /work/helper-ui.md):
//   #/login  #/password  #/works  #/works/<id>  #/search  #/browse/<workId>[/<nodeId>]
//   #/view?ids=a,b  #/upload/<workId>  #/admin  #/admin/users  #/admin/orgs  #/admin/grants
//   #/admin/master  #/admin/audit  #/admin/mail  #/notifications  #/settings/notifications
//   #/calendar?work=<id>&view=<view>&date=<YYYY-MM-DD>
//   #/folders/<workId>[/<folderId>]  #/inspection/<workId>  #/handover/<workId>  #/admin/collab
//   #/bonds  #/bonds/<id>  #/bonds/new[?carry=<id>]  #/bonds/open  #/bonds/certificates
//   #/bonds/balances  #/bonds/security?work=<id>
//   #/home (the landing page)  #/board  #/works/<id>/board  #/works/<id>/board/<postId>
//   #/groups  #/groups/<id>
//   #/proposals  #/proposals/<id>[?tab=history]  #/proposals/<id>/edit  #/inbox  #/delegations
//   #/works/<id>/proposals  #/works/<id>/proposals/new[?form=<id>|?copy=<id>]
//   #/works/<id>/premeetings  #/premeetings/<id>  #/admin/proposal-forms[/<id>|/new]
//   #/billing?tab=<tab>
//   #/qualifications  #/qualifications/admin  #/qualifications/<roundId>/apply?step=<step>
//   #/qualifications/<roundId>/received
//   #/admin/erasures[?state=<state>|?scope=<scope>]  #/admin/keys   (operators only, issue 12)
// `can(session)` decides whether a route (and its header link) is shown to the user.
//
//   import { navigate, currentRoute, routes, canSee, href } from "./router.js";
//   navigate("#/works/123")            // or navigate("/works/123")
//   href("/browse", workId, nodeId)    // "#/browse/<workId>/<nodeId>" (parts URI-encoded)

export const ADMIN_GRANTS = ["users.manage", "grants.manage", "master.manage", "audit.read", "proposals.forms"];
// The admin landing page is also shown to operators for the sections only they have (送信メール).

/** @typedef {Kura.Session | null | undefined} MaybeSession */

/**
 * A route: `pattern` with `:name` parameters, the page module, and who may see it: everyone
 * (`public`, the sign-in page) or the sessions `can` accepts.
 * @typedef {{ pattern: string, page: string, public: true }
 *   | { pattern: string, page: string, public?: false, can: (session: MaybeSession) => boolean }} Route
 */

/** @type {(s: MaybeSession) => boolean} */
const isOperator = (s) => Boolean(s) && s?.org_kind === "operator";
/** @type {(s: MaybeSession, g: string) => boolean} */
const hasGrant = (s, g) => Boolean(s) && (isOperator(s) || (s?.grants || []).includes(g));
/** @type {(s: MaybeSession) => boolean} */
const signedIn = (s) => Boolean(s) && !s?.password_change_required;
/** @type {(s: MaybeSession) => boolean} the sides of the bond flows (operators read none) */
const bondSide = (s) => ["issuer", "contractor", "orderer"].includes(String(s?.org_kind)) && (s?.grants || []).some((g) => g.startsWith("bonds."));

/** @type {Route[]} */
export const routes = [
  { pattern: "/login", page: "login", public: true },
  { pattern: "/password", page: "password", can: (s) => Boolean(s) },
  { pattern: "/search", page: "search", can: signedIn },
  { pattern: "/works", page: "works", can: signedIn },
  { pattern: "/works/:id", page: "work", can: signedIn },
  { pattern: "/home", page: "home", can: signedIn },
  { pattern: "/board", page: "boards", can: signedIn },
  { pattern: "/works/:id/board", page: "board", can: signedIn },
  { pattern: "/works/:id/board/:postId", page: "post", can: signedIn },
  { pattern: "/groups", page: "groups", can: signedIn },
  { pattern: "/groups/:id", page: "groups", can: signedIn },
  { pattern: "/browse/:workId", page: "browse", can: signedIn },
  { pattern: "/browse/:workId/:nodeId", page: "browse", can: signedIn },
  { pattern: "/view", page: "viewer", can: signedIn },
  { pattern: "/upload/:workId", page: "upload", can: signedIn },
  { pattern: "/admin", page: "admin", can: (s) => signedIn(s) && ADMIN_GRANTS.some((g) => hasGrant(s, g)) },
  { pattern: "/admin/users", page: "admin-users", can: (s) => signedIn(s) && hasGrant(s, "users.manage") },
  { pattern: "/admin/orgs", page: "admin-orgs", can: (s) => signedIn(s) && (isOperator(s) || hasGrant(s, "users.manage")) },
  { pattern: "/admin/grants", page: "admin-grants", can: (s) => signedIn(s) && hasGrant(s, "grants.manage") },
  { pattern: "/admin/master", page: "admin-master", can: (s) => signedIn(s) && hasGrant(s, "master.manage") },
  { pattern: "/admin/audit", page: "admin-audit", can: (s) => signedIn(s) && hasGrant(s, "audit.read") },
  { pattern: "/admin/mail", page: "admin-mail", can: (s) => signedIn(s) && isOperator(s) },
  // data protection (issue 12): erasure by hand and the state of keys and backups, operators only
  { pattern: "/admin/erasures", page: "admin-erasures", can: (s) => signedIn(s) && isOperator(s) },
  { pattern: "/admin/keys", page: "admin-keys", can: (s) => signedIn(s) && isOperator(s) },
  { pattern: "/notifications", page: "notifications", can: signedIn },
  { pattern: "/settings/notifications", page: "notification-settings", can: signedIn },
  { pattern: "/calendar", page: "calendar", can: signedIn },
  { pattern: "/proposals", page: "proposals", can: signedIn },
  { pattern: "/proposals/:id", page: "proposal", can: signedIn },
  { pattern: "/proposals/:id/edit", page: "proposal-edit", can: signedIn },
  { pattern: "/works/:id/proposals", page: "proposals", can: signedIn },
  { pattern: "/works/:id/proposals/new", page: "proposal-new", can: signedIn },
  { pattern: "/works/:id/premeetings", page: "premeetings", can: signedIn },
  { pattern: "/premeetings/:id", page: "premeeting", can: signedIn },
  { pattern: "/inbox", page: "inbox", can: (s) => signedIn(s) && !isOperator(s) },
  { pattern: "/delegations", page: "delegations", can: (s) => signedIn(s) && !isOperator(s) },
  { pattern: "/admin/proposal-forms", page: "admin-forms", can: (s) => signedIn(s) && hasGrant(s, "proposals.forms") },
  { pattern: "/admin/proposal-forms/:id", page: "admin-forms", can: (s) => signedIn(s) && hasGrant(s, "proposals.forms") },
  // 書類管理, 電子検査, 電子納品・移管 (issue 10 §3-4), and the orderer's settings of them
  { pattern: "/folders/:workId", page: "folders", can: signedIn },
  { pattern: "/folders/:workId/:folderId", page: "folders", can: signedIn },
  { pattern: "/inspection/:workId", page: "inspection", can: signedIn },
  { pattern: "/handover/:workId", page: "handover", can: signedIn },
  { pattern: "/admin/collab", page: "admin-collab", can: (s) => signedIn(s) && (isOperator(s) || (hasGrant(s, "master.manage") && s?.org_kind === "orderer")) },
  // bonds (issue 11): the API decides each figure; these only pick which pages a side sees
  { pattern: "/bonds", page: "bonds", can: (s) => signedIn(s) && bondSide(s) },
  { pattern: "/bonds/new", page: "bond-new", can: (s) => signedIn(s) && s?.org_kind === "issuer" && hasGrant(s, "bonds.issue") },
  { pattern: "/bonds/open", page: "bond-open", can: (s) => signedIn(s) && s?.org_kind === "orderer" },
  { pattern: "/bonds/certificates", page: "bond-certificates", can: (s) => signedIn(s) && s?.org_kind === "issuer" && hasGrant(s, "bonds.certificates") },
  { pattern: "/bonds/balances", page: "bond-balances", can: (s) => signedIn(s) && (s?.org_kind === "issuer" || s?.org_kind === "orderer") },
  { pattern: "/bonds/security", page: "bond-security", can: (s) => signedIn(s) && s?.org_kind === "orderer" },
  { pattern: "/bonds/:id", page: "bond", can: (s) => signedIn(s) && bondSide(s) },
  // Billing (issue 13): the operator, municipalities and contractors; the API filters by party.
  { pattern: "/billing", page: "billing", can: (s) => signedIn(s) && (isOperator(s) || (s?.grants || []).includes("billing.manage")) },
  { pattern: "/qualifications", page: "qualifications", can: (s) => signedIn(s) && ["qualifications.apply", "qualifications.receive"].some((g) => hasGrant(s, g)) },
  { pattern: "/qualifications/admin", page: "qual-admin", can: (s) => signedIn(s) && isOperator(s) },
  { pattern: "/qualifications/:roundId/apply", page: "qual-apply", can: (s) => signedIn(s) && hasGrant(s, "qualifications.apply") },
  { pattern: "/qualifications/:roundId/received", page: "qual-received", can: (s) => signedIn(s) && hasGrant(s, "qualifications.receive") },
];

// Where sign-in lands: the home page with the unread posts of all one's works (seed 001
// 別表1-1 2(6): ログイン時に…未読の記事等のタイトル一覧を表示), notifications and schedule.
export const HOME = "#/home";

/**
 * Where a session lands after sign-in: an operator on the administration page (which says
 * what to do first, issue 8 §3 item 9), everyone else on HOME, contractors too: it lists
 * their works beside the unread posts the seed wants shown at sign-in (issue 8's "a
 * contractor lands on their works" met there, not by skipping that list).
 * @param {MaybeSession} session
 * @returns {string}
 */
export function homeFor(session) {
  if (session && session.org_kind === "operator") return "#/admin";
  return HOME;
}

export { hasGrant, isOperator };

/**
 * Is the route at `pattern` visible to this session?
 * @param {string} pattern
 * @param {MaybeSession} session
 * @returns {boolean}
 */
export function canSee(pattern, session) {
  const r = routes.find((x) => x.pattern === pattern);
  return !!r && (r.public || r.can(session));
}

/**
 * Build a hash link from parts: href("/works", id) → "#/works/<id>" (empty parts are left out).
 * @param {string} base
 * @param {...(string | null | undefined)} parts
 * @returns {string}
 */
export function href(base, ...parts) {
  const tail = parts.filter(/** @returns {p is string} */ (p) => p !== undefined && p !== null && p !== "");
  return `#${base}${tail.map((p) => `/${encodeURIComponent(p)}`).join("")}`;
}

/**
 * Go to `hash` ("#/works/1" or "/works/1"); `replace` keeps the history entry.
 * @param {string} hash
 * @param {{ replace?: boolean }} [options]
 */
export function navigate(hash, { replace = false } = {}) {
  const h = hash.startsWith("#") ? hash : `#${hash}`;
  if (replace) {
    history.replaceState(null, "", h);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else if (window.location.hash === h) {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = h;
  }
}

/**
 * Parse the current hash into { route, params } (route null when nothing matches).
 * @returns {{ route: Route | null, params: Kura.RouteParams, path: string }}
 */
export function currentRoute() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const [path, qs = ""] = raw.split("?");
  const query = Object.fromEntries(new URLSearchParams(qs));
  const segs = path.split("/").filter(Boolean);
  for (const r of routes) {
    const ps = r.pattern.split("/").filter(Boolean);
    if (ps.length !== segs.length) continue;
    /** @type {Record<string, string>} */
    const params = {};
    let ok = true;
    for (let i = 0; i < ps.length; i += 1) {
      if (ps[i].startsWith(":")) params[ps[i].slice(1)] = decodeURIComponent(segs[i]);
      else if (ps[i] !== segs[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return { route: r, params: { ...params, query }, path };
  }
  return { route: null, params: { query }, path };
}

/** @type {Map<string, Promise<Kura.PageModule | null>>} */
const loaded = new Map();

/**
 * Import a page module; null when it does not exist yet (placeholder shown).
 * @param {string} page
 * @returns {Promise<Kura.PageModule | null>}
 */
export async function loadPage(page) {
  let mod = loaded.get(page);
  if (!mod) {
    mod = import(`./pages/${page}.js`).catch((e) => {
      loaded.delete(page);
      console.warn(`page ${page} not available`, e);
      return null;
    });
    loaded.set(page, mod);
  }
  return mod;
}
