// i18n.js: visible words. Japanese by default, English via the header switch (localStorage).
//
//   import { t, lang, setLang, fmtDate, fmtDateTime, fmtNumber, fmtBytes } from "../i18n.js";
//   t("nav.search")                      → "検索"
//   t("works.count", { n: 3 })           → "3件"   ({name} placeholders)
//   t("missing.key")                     → "missing.key" (the key itself: easy to spot)
// Dictionaries: js/i18n/ja.js and js/i18n/en.js, flat objects { "area.key": "text" }. Pages
// written by other helpers may add keys under their own prefix (search.*, browse.*, viewer.*,
// upload.*); a key missing from en falls back to ja.
// setLang(code) stores the choice and fires the window event "kura:lang" (app.js re-renders).

import ja from "./i18n/ja.js";
import en from "./i18n/en.js";
import archiveJa from "./i18n/archive.ja.js";
import archiveEn from "./i18n/archive.en.js";
import pagesJa from "./i18n/pages.ja.js";
import pagesEn from "./i18n/pages.en.js";
import schedulesJa from "./i18n/schedules.ja.js";
import schedulesEn from "./i18n/schedules.en.js";
import collabJa from "./i18n/collab.ja.js";
import collabEn from "./i18n/collab.en.js";
import bondsJa from "./i18n/bonds.ja.js";
import bondsEn from "./i18n/bonds.en.js";
import boardJa from "./i18n/board.ja.js";
import boardEn from "./i18n/board.en.js";
import proposalsJa from "./i18n/proposals.ja.js";
import proposalsEn from "./i18n/proposals.en.js";
import billingJa from "./i18n/billing.ja.js";
import billingEn from "./i18n/billing.en.js";
import qualJa from "./i18n/qual.ja.js";
import qualEn from "./i18n/qual.en.js";
import protectJa from "./i18n/protect.ja.js";
import protectEn from "./i18n/protect.en.js";

/** @typedef {Record<string, string>} Dict a dictionary: key → text with {name} placeholders */

/** @type {[Dict, Dict][]} */
const AREAS = [
  [ja, archiveJa],
  [en, archiveEn],
  [ja, pagesJa],
  [en, pagesEn],
  [ja, schedulesJa],
  [en, schedulesEn],
  [ja, collabJa],
  [en, collabEn],
  [ja, bondsJa],
  [en, bondsEn],
  [ja, boardJa],
  [en, boardEn],
  [ja, proposalsJa],
  [en, proposalsEn],
  [ja, billingJa],
  [en, billingEn],
  [ja, qualJa],
  [en, qualEn],
  [ja, protectJa],
  [en, protectEn],
];
// Merge hook: area dictionaries (archive pages) join the shell's; the shell's keys win.
for (const [base, extra] of AREAS) for (const k in extra) if (!(k in base)) base[k] = extra[k];

/** @type {Record<string, Dict>} */
const DICTS = { ja, en };
/** @type {Dict} */
const JA = ja;
const KEY = "kura.lang";
let current = (() => {
  try {
    const v = localStorage.getItem(KEY);
    return v && DICTS[v] ? v : "ja";
  } catch {
    return "ja";
  }
})();
document.documentElement.lang = current;

export const LANGS = [
  { code: "ja", label: "日本語" },
  { code: "en", label: "English" },
];

/** @returns {string} the language shown ("ja" or "en") */
export function lang() {
  return current;
}

/** @param {string} code a code of LANGS; others are ignored */
export function setLang(code) {
  if (!DICTS[code] || code === current) return;
  current = code;
  document.documentElement.lang = code;
  try {
    localStorage.setItem(KEY, code);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  window.dispatchEvent(new CustomEvent("kura:lang", { detail: code }));
}

/**
 * The text of `key` in the current language (ja when en lacks it; the key when both do),
 * with `{name}` placeholders filled from `params`.
 * @param {string} key
 * @param {Record<string, unknown>} [params]
 * @returns {string}
 */
export function t(key, params) {
  let s = DICTS[current][key];
  if (s === undefined) s = JA[key];
  if (s === undefined) return key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined ? m : String(params[k])));
  return s;
}

/**
 * The word for a kind of work: `key` + ".service" for a 業務 (履行場所, 履行期間, 履行中, 調査職員)
 * where the dictionary has one, else `key` (the 工事 word).
 * @param {string} key
 * @param {string | null | undefined} kind "construction" or "service"
 * @param {Record<string, unknown>} [params]
 * @returns {string}
 */
export function tk(key, kind, params) {
  return t(kind === "service" && JA[`${key}.service`] !== undefined ? `${key}.service` : key, params);
}

/**
 * Does the dictionary have this key (for optional labels such as status names)?
 * @param {string} key
 * @returns {boolean}
 */
export function has(key) {
  return JA[key] !== undefined;
}

const TZ = "Asia/Tokyo";

/**
 * "2026-04-01" or an ISO timestamp → 2026/04/01 (ja) or Apr 1, 2026 (en); "" for none.
 * @param {string | null | undefined} value
 * @returns {string}
 */
export function fmtDate(value) {
  if (!value) return "";
  const d = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00+09:00`) : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(current === "ja" ? "ja-JP" : "en-GB", {
    timeZone: TZ,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(d);
}

/**
 * An ISO timestamp → date and time in Japan time; "" for none.
 * @param {string | null | undefined} value
 * @returns {string}
 */
export function fmtDateTime(value) {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(current === "ja" ? "ja-JP" : "en-GB", {
    timeZone: TZ,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).format(d);
}

/**
 * 令和 era name for a date (ja only), e.g. "令和8年4月1日".
 * @param {string | null | undefined} value
 * @returns {string}
 */
export function fmtEra(value) {
  if (!value || current !== "ja") return fmtDate(value);
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00+09:00` : value);
  if (Number.isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat("ja-JP-u-ca-japanese", {
    timeZone: TZ,
    era: "long",
    year: "numeric",
    month: "long",
    day: "numeric",
  }).format(d);
}

/**
 * @param {number | null | undefined} n
 * @returns {string} "1,234"; "" for none
 */
export function fmtNumber(n) {
  if (n === null || n === undefined) return "";
  return new Intl.NumberFormat(current === "ja" ? "ja-JP" : "en-US").format(n);
}

/**
 * @param {number | null | undefined} n a size in bytes
 * @returns {string} "1.5 MB"; "" for none
 */
export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
