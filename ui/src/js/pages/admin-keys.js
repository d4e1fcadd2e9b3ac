// 鍵とバックアップ (#/admin/keys): the operators' read-only view of data protection (issue 12
// §1, §3-4; seed 001 別表3 8, 10):
// - the values operators alert on (GET /backups/watch: backup age, failed jobs, dead letters,
//   disk free, the KEK's age, certificate expiry), each 正常 / 注意 / 異常 in plain words with
//   what to do;
// - the key-encryption key (keyring file or HSM, since when, how many) and the data keys;
// - the backup generations of the data and of the keys, the retention policy.
// Backups run from cron or by hand (`kura backup`): the page says so with the commands.

import { api } from "../api.js";
import { fmtBytes, fmtDate, fmtDateTime, fmtNumber, t } from "../i18n.js";
import { adminLayout } from "./admin.js";
import { ensureProtectStyles } from "./admin-erasures.js";
import { badge, clear, empty, errorBox, h, loading, pageHeader } from "../ui.js";

/** @type {Record<string, string>} */
const TONES = { ok: "ok", warn: "warn", error: "err", unknown: "neutral" };

/**
 * A duration in words: "5分", "3時間", "12日".
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
function age(seconds) {
  if (seconds === null || seconds === undefined) return t("keys.unknown");
  const s = Math.max(0, seconds);
  if (s < 3600) return t("keys.age.minutes", { n: Math.floor(s / 60) });
  if (s < 48 * 3600) return t("keys.age.hours", { n: Math.floor(s / 3600) });
  return t("keys.age.days", { n: Math.floor(s / 86400) });
}

/**
 * "3時間前", or "たった今" under a minute.
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
function ago(seconds) {
  if (seconds === null || seconds === undefined) return t("keys.unknown");
  return seconds < 60 ? t("keys.just_now") : t("keys.ago", { age: age(seconds) });
}

/**
 * What a check says, in plain words.
 * @param {Kura.WatchCheck} c
 * @returns {string}
 */
function message(c) {
  if (c.key === "certificate") {
    if (!c.kind) return t("keys.msg.certificate.none");
    const what = `${t(`keys.cert.${c.kind}`)}${c.file ? `（${c.file}）` : ""}`;
    const level = c.level === "unknown" ? "ok" : c.level;
    return t(`keys.msg.certificate.${level}`, { what, date: fmtDate(c.expires_at), days: Math.floor((c.value ?? 0) / 86400) });
  }
  if (c.level === "unknown") return t("keys.msg.unknown");
  if (c.key === "backup_age") {
    if (c.reason) return t(`keys.msg.backup_age.${c.reason}`);
    return t(`keys.msg.backup_age.${c.level}`, { age: age(c.value), ago: ago(c.value) });
  }
  if (c.key === "disk_free") return t(`keys.msg.disk_free.${c.level}`, { size: fmtBytes(c.value) });
  if (c.key === "kek_age") return t(`keys.msg.kek_age.${c.level}`, { age: age(c.value), ago: ago(c.value) });
  return t(`keys.msg.${c.key}.${c.level}`, { n: fmtNumber(c.value ?? 0) });
}

/**
 * @param {string} headId
 * @param {string} title
 * @param {string} testid
 * @param {...Kura.Child} children
 */
function card(headId, title, testid, ...children) {
  return h("section", { class: "card", "aria-labelledby": headId, "data-testid": testid }, h("h2", { id: headId }, title), ...children);
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} _params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, _params, ctx) {
  ensureProtectStyles();
  ctx.setTitle(t("keys.title"));
  const content = adminLayout(root, ctx, "/admin/keys");
  content.append(pageHeader(t("keys.title")), h("p", { class: "muted lead-text" }, t("keys.lead")));
  const body = h("div", {}, loading());
  content.append(body);
  try {
    /** @type {[{ checks: Kura.WatchCheck[] }, Kura.BackupsState]} */
    const [watch, state] = await Promise.all([api.get("/backups/watch"), api.get("/backups")]);
    clear(body).append(watchCard(watch.checks), keysCard(state), backupsCard(state), commandsCard());
  } catch (err) {
    clear(body).append(errorBox(err));
  }
}

/**
 * @param {Kura.WatchCheck[]} checks
 * @returns {HTMLElement}
 */
function watchCard(checks) {
  const rows = checks.map((c) =>
    h(
      "tr",
      { "data-testid": "watch-row", "data-key": c.key, "data-level": c.level },
      h("th", { scope: "row" }, t(`keys.item.${c.key}`)),
      h("td", {}, badge(t(`keys.level.${c.level}`), TONES[c.level] || "neutral", { "data-testid": "watch-level" })),
      h("td", {}, message(c)),
    ),
  );
  return card(
    "keys-watch-head",
    t("keys.watch"),
    "keys-watch",
    h("p", { class: "muted" }, t("keys.watch_lead")),
    h("div", { class: "table-wrap" }, h("table", { class: "data", "data-testid": "watch-table" }, h("thead", {}, h("tr", {}, ["item", "level", "detail"].map((k) => h("th", { scope: "col" }, t(`keys.col.${k}`))))), h("tbody", {}, rows))),
  );
}

/**
 * @param {Kura.BackupsState} state
 * @returns {HTMLElement}
 */
function keysCard(state) {
  const k = state.keys;
  /** @type {[string, string][]} */
  const props = [
    [t("keys.kek"), t(`keys.kek.${k.kek}`)],
    [t("keys.where"), k.where],
    [t("keys.kek_id"), k.current_id || t("keys.unknown")],
    [t("keys.kek_created"), k.created_at ? `${fmtDateTime(k.created_at)}（${ago(k.age_s)}）` : t("keys.unknown")],
    [t("keys.kek_count"), t("keys.kek_count_value", { n: k.count })],
    [t("keys.encryption"), t(k.encryption ? "keys.encryption.on" : "keys.encryption.off")],
    [t("keys.scopes"), t("keys.scopes_value", { active: fmtNumber(k.scopes_active), destroyed: fmtNumber(k.scopes_destroyed) })],
  ];
  return card("keys-kek-head", t("keys.kek_title"), "keys-kek", h("dl", { class: "props" }, props.map(([a, b]) => [h("dt", {}, a), h("dd", { class: a === t("keys.where") || a === t("keys.kek_id") ? "mono wrap-any" : null }, b)])));
}

/**
 * @param {Kura.BackupsState} state
 * @returns {HTMLElement}
 */
function backupsCard(state) {
  const out = card("keys-backups-head", t("keys.backups_title"), "keys-backups");
  if (!state.configured) {
    out.append(h("p", { class: "notice warn", "data-testid": "backups-not-set" }, t("keys.not_set")));
    return out;
  }
  const p = state.policy;
  /** @type {[string, string][]} */
  const props = [
    [t("keys.target"), state.target || ""],
    [t("keys.keys_target"), state.keys_target || ""],
    [t("keys.policy"), t("keys.policy_value", { last: p.keep_last, daily: p.keep_daily, weekly: p.keep_weekly, monthly: p.keep_monthly })],
    [t("keys.key_policy"), t("keys.key_policy_value", { n: p.keep_keys })],
    [t("keys.newest"), state.newest_at ? `${fmtDateTime(state.newest_at)}（${ago(state.newest_age_s)}）` : t("keys.unknown")],
  ];
  out.append(h("dl", { class: "props" }, props.map(([a, b], i) => [h("dt", {}, a), h("dd", { class: i < 2 ? "mono wrap-any" : null }, b)])));
  if (state.records_backend === "mongodb") out.append(h("p", { class: "notice" }, t("keys.mongo")));
  if (state.error) {
    out.append(h("div", { class: "notice warn", role: "alert", "data-testid": "backups-error" }, t("keys.list_error", { error: state.error })));
    return out;
  }
  out.append(h("h3", {}, t("keys.generations")));
  if (!state.generations.length) {
    out.append(h("div", { "data-testid": "backups-empty" }, empty(t("keys.no_generations"))));
  } else {
    const rows = state.generations.map((g) =>
      h(
        "tr",
        { "data-testid": "backup-row", "data-kind": g.kind || "" },
        h("td", { class: "nowrap" }, fmtDateTime(g.created_at) || g.name),
        g.damaged
          ? h("td", { colspan: "4" }, badge(t("keys.damaged"), "err"))
          : [
              h("td", {}, g.kind ? t(`keys.kind.${g.kind}`) : ""),
              h("td", { class: "num" }, fmtNumber(g.objects ?? 0)),
              h("td", { class: "num" }, fmtBytes(g.bytes ?? 0)),
              h("td", { class: "num" }, g.copied_bytes === null || g.copied_bytes === undefined ? "—" : fmtBytes(g.copied_bytes)),
            ],
      ),
    );
    out.append(h("div", { class: "table-wrap" }, h("table", { class: "data", "data-testid": "backup-table" }, h("thead", {}, h("tr", {}, ["created", "kind", "objects", "bytes", "copied"].map((k) => h("th", { scope: "col" }, t(`keys.col.${k}`))))), h("tbody", {}, rows))));
  }
  out.append(
    h("h3", {}, t("keys.key_generations")),
    state.key_generations.length ? h("ul", { class: "plain-list", "data-testid": "key-generations" }, state.key_generations.map((g) => h("li", { "data-testid": "key-generation" }, fmtDateTime(g.created_at) || g.name))) : empty(t("keys.no_generations")),
  );
  return out;
}

/** @returns {HTMLElement} the commands that do what this page only shows */
function commandsCard() {
  const cmds = [
    ["kura backup", "keys.cmd.backup"],
    ["kura backup --list", "keys.cmd.list"],
    ["kura restore [GENERATION]", "keys.cmd.restore"],
    ["kura keys rotate-kek --rewrap", "keys.cmd.rotate"],
  ];
  return card("keys-cmd-head", t("keys.commands"), "keys-commands", h("dl", { class: "props" }, cmds.map(([c, k]) => [h("dt", {}, h("code", {}, c)), h("dd", {}, t(k))])));
}
