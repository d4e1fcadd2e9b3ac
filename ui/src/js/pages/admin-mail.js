// Outgoing mail (#/admin/mail?state=): the outbox for operators. Every mail Kura sends is kept
// here with its state; a row opens its raw message; a dead mail can be queued again.
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { navigate } from "../router.js";
import { adminLayout } from "./admin.js";
import { badge, busy, clear, empty, errorBox, h, loading, pageHeader, selectField, toast } from "../ui.js";

const STATES = ["queued", "sending", "sent", "stored", "dead"];
/** @type {Record<string, string>} */
const TONES = { queued: "info", sending: "info", sent: "ok", stored: "neutral", dead: "err" };

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const content = adminLayout(root, ctx, "/admin/mail");
  const state = (params.query || {}).state || "";
  content.append(pageHeader(t("mail.title")));
  const stats = h("p", { class: "muted", "data-testid": "mail-stats" });
  const filter = selectField({
    name: "state",
    label: t("mail.state"),
    value: state,
    blank: t("common.all"),
    testid: "mail-state-filter",
    options: STATES.map((s) => ({ value: s, label: t(`mail.state.${s}`) })),
  });
  const select = filter.querySelector("select");
  select?.addEventListener("change", () => navigate(select.value ? `#/admin/mail?state=${select.value}` : "#/admin/mail"));
  const results = h("div", {}, loading());
  content.append(stats, h("div", { class: "toolbar" }, filter), results);
  try {
    const s = await api.get("/mail/outbox/stats");
    stats.textContent = `${t(`mail.transport.${s.transport}`)} — ${STATES.map((x) => `${t(`mail.state.${x}`)} ${s.counts[x] ?? 0}`).join(" / ")}`;
    const body = h("tbody", {});
    const more = h("button", { type: "button", class: "btn", hidden: true, "data-testid": "mail-more" }, t("common.more"));
    /** @param {Kura.OutboxMail} m */
    const row = (m) => {
      const retry = h("button", { type: "button", class: "btn small", "data-testid": "mail-retry" }, t("mail.retry"));
      retry.addEventListener("click", () =>
        busy(retry, async () => {
          await api.post(`/mail/outbox/${encodeURIComponent(m.id)}/retry`);
          toast(t("mail.retried"), "ok");
          retry.remove();
        }),
      );
      const raw = h("pre", { class: "detail", "data-testid": "mail-raw" });
      const details = h("details", { "data-testid": "mail-details" }, h("summary", {}, m.subject), raw);
      details.addEventListener("toggle", async () => {
        if (!details.open || raw.textContent) return;
        raw.textContent = t("app.loading");
        const full = await api.get(`/mail/outbox/${encodeURIComponent(m.id)}`);
        raw.textContent = String(full.raw || "").replace(/\r\n/g, "\n");
      });
      return h(
        "tr",
        { "data-testid": "mail-row" },
        h("td", { class: "nowrap small" }, fmtDateTime(m.created_at)),
        h("td", {}, m.to_name ? `${m.to_name} <${m.to_address}>` : m.to_address),
        h("td", {}, details, m.last_error ? h("div", { class: "small err-text" }, m.last_error) : null),
        h("td", {}, badge(t(`mail.state.${m.state}`), TONES[m.state] || "neutral"), " ", h("span", { class: "small muted" }, t("mail.attempts", { n: m.attempts }))),
        h("td", {}, m.state === "dead" ? retry : null),
      );
    };
    /** @param {string | null | undefined} cursor */
    const load = async (cursor) => {
      /** @type {Kura.Page<Kura.OutboxMail>} */
      const page = await api.get("/mail/outbox", { state: state || undefined, limit: 50, cursor });
      body.append(...page.items.map(row));
      more.hidden = !page.next_cursor;
      return page;
    };
    let page = await load(undefined);
    clear(results);
    if (!page.items.length) {
      results.append(h("div", { class: "card", "data-testid": "mail-empty" }, empty(t("mail.empty"))));
      return;
    }
    results.append(
      h("div", { class: "table-wrap" }, h("table", { class: "data", "data-testid": "mail-table" }, h("thead", {}, h("tr", {}, ["created", "to", "subject", "state", "actions"].map((c) => h("th", { scope: "col" }, t(`mail.col.${c}`))))), body)),
      h("div", { class: "table-foot" }, h("span", {}), more),
    );
    more.addEventListener("click", () =>
      busy(more, async () => {
        page = await load(page.next_cursor);
      }),
    );
  } catch (err) {
    clear(results);
    results.append(errorBox(err));
  }
}
