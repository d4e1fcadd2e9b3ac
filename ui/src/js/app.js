// app.js: the shell. Loads the session (GET /auth/me), draws the header (navigation showing
// only reachable pages, language switch, user menu with logout) and renders the page for the
// current hash into <main id="main">.
//
//   import { session, refreshSession, logout } from "../app.js";
//   session()          → the current /auth/me answer or null
//   refreshSession()   → reloads it and redraws the header (after login / password change)
//   logout()           → POST /auth/logout, then #/login
// Redirects: no session → #/login?next=<hash>; password_change_required → #/password;
// a route the user cannot see → a calm "権限がありません" message (never a broken page).

import { api, ApiError } from "./api.js";
import { LANGS, lang, setLang, t } from "./i18n.js";
import { HOME, canSee, currentRoute, homeFor, loadPage, navigate } from "./router.js";
import { clear, errorBox, h, loading } from "./ui.js";

/** @type {Kura.Session | null} */
let current = null; // /auth/me answer
/** @type {void | null | (() => void)} */
let cleanup = null;
let renderSeq = 0;

/**
 * An element of index.html (the shell's fixed frame).
 * @param {string} id
 * @returns {HTMLElement}
 */
function frame(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el;
}

/** @returns {Kura.Session | null} the current /auth/me answer (null: signed out) */
export function session() {
  return current;
}

/**
 * Reload the session (after login / password change) and redraw the header.
 * @returns {Promise<Kura.Session | null>}
 */
export async function refreshSession() {
  try {
    current = await api.get("/auth/me", undefined, { quiet401: true });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    current = null;
  }
  drawHeader();
  if (bellTimer === null) bellTimer = setInterval(refreshBell, 60_000);
  void refreshBell();
  return current;
}

/** POST /auth/logout, then #/login. */
export async function logout() {
  try {
    await api.post("/auth/logout", undefined, { quiet401: true });
  } catch {
    /* the session may be gone already */
  }
  current = null;
  drawHeader();
  navigate("#/login?bye=1");
}

/** @type {number | null} */
let unread = null;
/** @type {ReturnType<typeof setInterval> | null} */
let bellTimer = null;

/** Reload the unread count under the bell (after reading, on each page, every minute). */
export async function refreshBell() {
  if (!current || current.password_change_required) {
    unread = null;
    return;
  }
  try {
    const res = await api.get("/notifications/unread-count", undefined, { quiet401: true });
    unread = Number(res.unread) || 0;
  } catch {
    return; // the bell keeps its last count; the page itself reports errors
  }
  const el = document.querySelector("[data-testid=nav-bell]");
  if (el) el.replaceWith(bell());
  void refreshInbox();
}

/** @type {number | null} */
let waiting = null;

/** Reload the count of the header's 承認待ち (what waits for me, GET /proposals/inbox/count). */
export async function refreshInbox() {
  if (!current || current.password_change_required || !canSee("/inbox", current)) return;
  try {
    const res = await api.get("/proposals/inbox/count", undefined, { quiet401: true });
    waiting = Number(res.count) || 0;
  } catch {
    return;
  }
  const el = document.querySelector("[data-testid=nav-inbox-count]");
  if (el) el.replaceWith(inboxCount());
}

/** The count beside 承認待ち (hidden at zero). */
function inboxCount() {
  const n = waiting || 0;
  return h("span", { class: "nav-count", "data-testid": "nav-inbox-count", hidden: !n }, n > 99 ? "99+" : String(n), h("span", { class: "sr-only" }, t("nav.inbox_unit")));
}

/**
 * The bell: a link to the notifications with the unread count. Its name is its text (the
 * count is visible, so it must be part of the name: axe label-content-name-mismatch).
 */
function bell() {
  const n = unread || 0;
  const label = n ? t("notifications.bell_unread", { n }) : t("notifications.bell");
  return h(
    "a",
    // The name is the text of an sr-only span, not an aria-label: the visible icon and count
    // would not be part of an aria-label (axe label-content-name-mismatch).
    { href: "#/notifications", class: "bell", "data-testid": "nav-bell", title: label },
    h("span", { class: "sr-only" }, label),
    h("span", { class: "bell-icon", "aria-hidden": "true" }, "🔔"),
    h("span", { class: "sr-only" }, n ? t("notifications.bell_unread_before") : t("notifications.bell")),
    n ? h("span", { class: "bell-count", "data-testid": "bell-count" }, n > 99 ? "99+" : String(n)) : null,
    n ? h("span", { class: "sr-only" }, t("notifications.bell_unread_after")) : null,
  );
}

const NAV = [
  { pattern: "/home", hash: "#/home", key: "nav.home", testid: "nav-homepage" },
  { pattern: "/board", hash: "#/board", key: "nav.board", testid: "nav-board" },
  { pattern: "/search", hash: "#/search", key: "nav.search", testid: "nav-search" },
  { pattern: "/works", hash: "#/works", key: "nav.works", testid: "nav-works" },
  { pattern: "/calendar", hash: "#/calendar", key: "nav.calendar", testid: "nav-calendar" },
  { pattern: "/inbox", hash: "#/inbox", key: "nav.inbox", testid: "nav-inbox" },
  { pattern: "/bonds", hash: "#/bonds", key: "nav.bonds", testid: "nav-bonds" },
  { pattern: "/billing", hash: "#/billing", key: "nav.billing", testid: "nav-billing" },
  { pattern: "/qualifications", hash: "#/qualifications", key: "nav.qualifications", testid: "nav-qualifications" },
  { pattern: "/admin", hash: "#/admin", key: "nav.admin", testid: "nav-admin" },
];

function drawHeader() {
  const header = frame("header");
  clear(header);
  const here = currentRoute().path || "";
  const brand = h(
    "a",
    { class: "brand", href: current ? HOME : "#/login", "data-testid": "nav-home" },
    h("span", { class: "brand-mark", "aria-hidden": "true" }, "蔵"),
    h("span", { class: "brand-text" }, h("span", { class: "brand-name" }, t("app.name")), h("span", { class: "brand-sub" }, t("app.subtitle"))),
  );
  const nav =
    current && !current.password_change_required
      ? h(
          "nav",
          { class: "main-nav", "aria-label": t("nav.main") },
          h(
            "ul",
            {},
            NAV.filter((n) => canSee(n.pattern, current)).map((n) =>
              h(
                "li",
                {},
                h(
                  "a",
                  {
                    href: n.hash,
                    "data-testid": n.testid,
                    "aria-current": here === n.pattern || here.startsWith(`${n.pattern}/`) ? "page" : null,
                  },
                  t(n.key),
                  n.testid === "nav-inbox" ? inboxCount() : null,
                ),
              ),
            ),
          ),
        )
      : null;
  /** @type {HTMLSelectElement} */
  const langSel = h(
    "select",
    { id: "lang-switch", class: "lang", "aria-label": t("nav.lang"), "data-testid": "lang-switch", onchange: () => setLang(langSel.value) },
    LANGS.map((l) => h("option", { value: l.code, selected: l.code === lang() }, l.label)),
  );
  const signed = current && !current.password_change_required;
  const tools = h("div", { class: "header-tools" }, langSel, signed ? bell() : null, current ? userMenu(current) : null);
  header.append(h("div", { class: "header-inner" }, brand, nav, tools));
}

/** @param {Kura.Session} me */
function userMenu(me) {
  const u = me.user;
  const menuId = "user-menu-list";
  const btn = h(
    "button",
    { type: "button", class: "user-button", "aria-haspopup": "true", "aria-expanded": "false", "aria-controls": menuId, "data-testid": "user-menu", title: t("nav.user_menu") },
    h("span", { class: "avatar", "aria-hidden": "true" }, (u.name || u.login_id || "?").slice(0, 1)),
    h("span", { class: "user-name" }, u.name || u.login_id),
  );
  const list = h(
    "ul",
    { id: menuId, class: "menu", role: "menu", hidden: true },
    h("li", { role: "none" }, h("span", { class: "menu-note" }, u.login_id)),
    h("li", { role: "none" }, h("a", { role: "menuitem", href: "#/settings/notifications", "data-testid": "nav-notification-settings" }, t("notifications.settings"))),
    h("li", { role: "none" }, h("a", { role: "menuitem", href: "#/password", "data-testid": "nav-password" }, t("nav.password"))),
    h("li", { role: "none" }, h("button", { type: "button", role: "menuitem", "data-testid": "logout", onclick: () => logout() }, t("nav.logout"))),
  );
  const menuItems = () => [...list.querySelectorAll("[role=menuitem]")].filter((x) => x instanceof HTMLElement);
  const close = () => {
    list.hidden = true;
    btn.setAttribute("aria-expanded", "false");
  };
  btn.addEventListener("click", (e) => {
    e.stopPropagation();
    const open = list.hidden;
    list.hidden = !open;
    btn.setAttribute("aria-expanded", String(open));
    if (open) menuItems()[0].focus();
  });
  list.addEventListener("keydown", (e) => {
    const items = menuItems();
    const i = items.findIndex((x) => x === document.activeElement);
    if (e.key === "Escape") {
      close();
      btn.focus();
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      items[(i + 1) % items.length].focus();
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length].focus();
    }
  });
  list.addEventListener("click", close);
  document.addEventListener("click", (e) => {
    if (!(e.target instanceof Node) || !list.contains(e.target)) close();
  });
  return h("div", { class: "user" }, btn, list);
}

async function render() {
  const seq = (renderSeq += 1);
  const main = frame("main");
  const { route, params, path } = currentRoute();
  if (!path || path === "/") {
    navigate(current ? homeFor(current) : "#/login", { replace: true });
    return;
  }
  if (route && !route.public && !current) {
    const next = encodeURIComponent(window.location.hash);
    navigate(`#/login?next=${next}`, { replace: true });
    return;
  }
  if (current && current.password_change_required && route && route.page !== "password" && route.page !== "login") {
    navigate("#/password", { replace: true });
    return;
  }
  if (typeof cleanup === "function") {
    try {
      cleanup();
    } catch (e) {
      console.warn(e);
    }
  }
  cleanup = null;
  drawHeader();
  void refreshBell();
  clear(main);
  document.body.dataset.page = route ? route.page : "none";
  if (!route) {
    // a way back from a page that does not exist (issue 8 §3 item 9)
    main.append(errorBox({ title: t("error.not_found_page") }), h("p", { class: "way-back", "data-testid": "not-found-links" }, h("a", { href: current ? homeFor(current) : "#/login" }, t("error.to_home")), " ", h("a", { href: "#/works" }, t("error.to_works"))));
    return;
  }
  if (!route.public && !route.can(current)) {
    main.append(errorBox({ title: t("error.forbidden_page") }));
    return;
  }
  main.append(loading());
  const mod = await loadPage(route.page);
  if (seq !== renderSeq) return;
  clear(main);
  if (!mod || typeof mod.render !== "function") {
    main.append(h("div", { class: "placeholder", "data-testid": "page-placeholder" }, h("h1", {}, t(`nav.${route.page}`) === `nav.${route.page}` ? route.page : t(`nav.${route.page}`)), h("p", {}, t("page.placeholder"))));
    return;
  }
  /** @type {Kura.PageContext} */
  const ctx = {
    session: current,
    navigate,
    refreshSession,
    setTitle: (text) => {
      document.title = text ? `${text} — ${t("app.name")}` : t("app.name");
    },
  };
  ctx.setTitle("");
  try {
    const out = await mod.render(main, params, ctx);
    if (seq !== renderSeq) {
      if (typeof out === "function") out();
      return;
    }
    cleanup = out;
    const h1 = main.querySelector("h1");
    if (h1 && !document.title.includes(h1.textContent ?? "")) ctx.setTitle(h1.textContent ?? "");
  } catch (e) {
    // The API's own answers below 500 (another organization's work: 404, a refusal: 403) are
    // the page's message below; anything else is a fault, for the console too.
    if (!(e instanceof ApiError && e.status > 0 && e.status < 500)) console.error(e);
    if (seq !== renderSeq) return;
    if (e instanceof ApiError && e.status === 401) return; // the unauthenticated handler redirects
    clear(main);
    main.append(errorBox(e));
  }
}

window.addEventListener("hashchange", render);
window.addEventListener("kura:lang", render);
window.addEventListener("kura:unauthenticated", () => {
  const had = current !== null;
  current = null;
  if (currentRoute().path !== "/login") {
    navigate(`#/login?next=${encodeURIComponent(window.location.hash)}${had ? "&expired=1" : ""}`, { replace: true });
  }
});
window.addEventListener("kura:password-change", async () => {
  await refreshSession();
  navigate("#/password", { replace: true });
});

(async function start() {
  try {
    await refreshSession();
  } catch (e) {
    console.error(e);
  }
  await render();
})();

// The skip link focuses <main> without changing the hash (the hash is the route).
document.getElementById("skip-link")?.addEventListener("click", (e) => {
  e.preventDefault();
  frame("main").focus();
});
