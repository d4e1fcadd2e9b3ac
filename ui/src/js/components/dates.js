// dates.js: dates and amounts as people type them (issue 8 §3 item 8): Western dates in any
// usual notation and 和暦 (令和8年4月1日, R8.4.1, 平成31/4/30), amounts with commas or
// full-width digits (12,500,000 / １２，５００，０００円).
//
//   parseDate("R8.4.1") → "2026-04-01"   (null: not a date)
//   parseAmount("12,500,000円") → 12500000   (null: not an amount)

// Era start years (the era's year 1 is this year): 令和 2019, 平成 1989, 昭和 1926.
const ERAS = /** @type {Record<string, [number, string]>} */ ({
  令和: [2019, "2019-05-01"],
  R: [2019, "2019-05-01"],
  平成: [1989, "1989-01-08"],
  H: [1989, "1989-01-08"],
  昭和: [1926, "1926-12-25"],
  S: [1926, "1926-12-25"],
});

/**
 * Full-width digits and signs as ASCII (NFKC), spaces trimmed.
 * @param {string} text
 * @returns {string}
 */
function ascii(text) {
  return String(text || "").normalize("NFKC").trim();
}

/**
 * @param {number} y
 * @param {number} m
 * @param {number} d
 * @returns {string | null} "YYYY-MM-DD" when it is a real calendar date
 */
function isoDate(y, m, d) {
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/**
 * A typed date as "YYYY-MM-DD": 2026-04-01, 2026/4/1, 2026.4.1, 2026年4月1日, 20260401,
 * 令和8年4月1日, 令和元年5月1日, R8.4.1, R8/4/1, H31.4.30; null when it is none of these or no
 * real date (2026-02-30, 令和1年4月1日 before the era began).
 * @param {string} text
 * @returns {string | null}
 */
export function parseDate(text) {
  const s = ascii(text).replace(/\s+/g, "");
  if (!s) return null;
  let m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(s) || /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (m) return isoDate(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(令和|平成|昭和|[RHS])(元|\d{1,2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/i.exec(s);
  if (!m) return null;
  const era = ERAS[m[1].toUpperCase()] || ERAS[m[1]];
  if (!era) return null;
  const year = era[0] + (m[2] === "元" ? 1 : Number(m[2])) - 1;
  const iso = isoDate(year, Number(m[3]), Number(m[4]));
  return iso && iso >= era[1] ? iso : null;
}

/**
 * A typed amount in yen: 12500000, 12,500,000, １２，５００，０００, 12,500,000円, ¥12,500,000;
 * null when it is not a whole non-negative number.
 * @param {string} text
 * @returns {number | null}
 */
export function parseAmount(text) {
  const s = ascii(text).replace(/^[¥\\]/, "").replace(/円$/, "").replace(/\s+/g, "");
  if (!s) return null;
  if (!/^\d{1,3}(,\d{3})*$|^\d+$/.test(s)) return null;
  const n = Number(s.replace(/,/g, ""));
  return Number.isSafeInteger(n) ? n : null;
}
