// first-use.js: what to do first on a new installation (issue 8 §3 item 9). An operator sees
// the three steps (an organization, a user, a work), each marked done once the system has
// one, with a link to where it is done; the card goes once all three are done.
//
//   const card = await firstSteps(session);  if (card) root.append(card);

import { api } from "../api.js";
import { t } from "../i18n.js";
import { h } from "./dom.js";

/**
 * @param {string} path
 * @param {Record<string, unknown>} [query]
 * @returns {Promise<number>} how many items the first page has (0 on failure)
 */
async function some(path, query) {
  try {
    const page = await api.get(path, { limit: 5, ...query });
    return (page.items || []).length;
  } catch {
    return 0;
  }
}

/**
 * The first steps for an operator, or null when there is nothing left to do first.
 * @param {Kura.Session | null | undefined} session
 * @returns {Promise<HTMLElement | null>}
 */
export async function firstSteps(session) {
  if (!session || session.org_kind !== "operator") return null;
  const [orgs, users, works] = await Promise.all([some("/organizations"), some("/users"), some("/works")]);
  // the operator's own organization and account exist from the start
  const steps = [
    { key: "orgs", done: orgs > 1, href: "#/admin/orgs" },
    { key: "users", done: users > 1, href: "#/admin/users" },
    { key: "works", done: works > 0, href: "#/works" },
  ];
  if (steps.every((s) => s.done)) return null;
  return h(
    "section",
    { class: "card first-steps", "aria-labelledby": "first-steps", "data-testid": "first-steps" },
    h("h2", { id: "first-steps" }, t("first.title")),
    h("p", {}, t("first.lead")),
    h(
      "ol",
      {},
      steps.map((s) =>
        h(
          "li",
          { "data-testid": `first-step-${s.key}`, "data-done": String(s.done) },
          s.done ? h("span", { class: "badge ok" }, t("first.done")) : null,
          " ",
          h("a", { href: s.href }, t(`first.${s.key}`)),
          h("span", { class: "small muted" }, ` ${t(`first.${s.key}_why`)}`),
        ),
      ),
    ),
  );
}
