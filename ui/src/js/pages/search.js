// Search, the home page for archive users (issue 4 item 3): one box, facets with counts, date
// ranges (和暦 accepted; the API parses them and its Japanese message shows by the field),
// highlighted snippets with their PDF page numbers, thumbnails, sort, cursor paging, CSV /
// Excel listing of the same search, ZIP export of the selected files.
// The search state lives in the hash (#/search?q=…&doc_class=PHOTO…), kept with replaceState,
// and in sessionStorage so the browser's "検索結果に戻る" finds it. A file hit names its work;
// a package's XML, DTDs and stylesheets show only when asked; a PDF hit's page opens the viewer
// at that page with the phrase marked (issue 8 §3 item 2).

import { api, apiUrl, ApiError, isAbort } from "../api.js";
import { t, has, fmtDate, fmtNumber, fmtBytes } from "../i18n.js";
import { href } from "../router.js";
import { h, clear, marked, fieldError, notice, errorText, download, typeIcon } from "../components/dom.js";
import { ensureArchiveStyles } from "../components/styles.js";
import { workMap, parseBox, boxText } from "../components/map.js";

const SEARCH_KEY = "kura.search.hash"; // read by browse.js ("検索結果に戻る")

const FACETS = ["category", "business_type", "doc_class", "orderer", "contractor", "work_kind", "status", "file_type", "fiscal_year", "work_field", "work_industry"];
const DATES = [
  ["period", "search.datePeriod"],
  ["doc", "search.dateDoc"],
  ["photo", "search.datePhoto"],
];
const SORTS = ["relevance", "date", "title"];
const FACET_SHOWN = 8;

/**
 * The search as the hash holds it.
 * @typedef {object} SearchState
 * @property {string} q
 * @property {string} type
 * @property {string} sort
 * @property {Record<string, string[]>} filters facet name → chosen values
 * @property {Record<string, string>} dates "<period|doc|photo>_<from|to>" → typed date
 * @property {boolean} management show a package's XML, DTDs and stylesheets too
 * @property {string} bbox the map filter: "西,南,東,北" ("" none)
 * @property {string[]} municipality municipality codes picked on the map
 */

/** @returns {SearchState} */
function readState() {
  const qs = (window.location.hash.split("?")[1] || "");
  const p = new URLSearchParams(qs);
  /** @type {SearchState} */
  const s = { q: p.get("q") || "", type: p.get("type") || "", sort: p.get("sort") || "", filters: {}, dates: {}, management: p.get("management") === "true", bbox: p.get("bbox") || "", municipality: p.getAll("municipality_code") };
  for (const f of FACETS) s.filters[f] = p.getAll(f);
  for (const [d] of DATES) {
    s.dates[`${d}_from`] = p.get(`${d}_from`) || "";
    s.dates[`${d}_to`] = p.get(`${d}_to`) || "";
  }
  return s;
}

/**
 * The API query of a search state (empty values left out).
 * @param {SearchState} s
 * @returns {Record<string, unknown>}
 */
function queryOf(s) {
  /** @type {Record<string, unknown>} */
  const q = { q: s.q.trim() || undefined, type: s.type || undefined, sort: s.sort || undefined };
  for (const f of FACETS) if (s.filters[f].length) q[f] = s.filters[f];
  for (const [k, v] of Object.entries(s.dates)) if (v.trim()) q[k] = v.trim();
  if (s.management) q.management = "true";
  if (s.bbox) q.bbox = s.bbox;
  if (s.municipality.length) q.municipality_code = s.municipality;
  return q;
}

/** @param {SearchState} s */
function writeState(s) {
  const url = apiUrl("", queryOf(s)).replace(/^\/api\/v1/, "");
  const hash = `#/search${url.startsWith("?") ? url : ""}`;
  history.replaceState(null, "", hash);
  try {
    sessionStorage.setItem(SEARCH_KEY, hash);
  } catch {
    /* private mode */
  }
}

/**
 * @param {string} name facet
 * @param {{ value: string, label?: string | null }} bucket
 * @returns {string}
 */
function facetLabel(name, bucket) {
  if (bucket.label) return bucket.label;
  const v = bucket.value;
  if (name === "status" && has(`status.${v}`)) return t(`status.${v}`);
  if (has(`search.${name}.${v}`)) return t(`search.${name}.${v}`);
  if (name === "file_type") return v.toUpperCase();
  return v;
}

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Partial<Kura.PageContext>} [ctx]
 */
export async function render(root, params, ctx = {}) {
  ensureArchiveStyles();
  (ctx.setTitle || ((/** @type {string} */ x) => (document.title = x)))(t("search.title"));
  const state = readState();
  /** @type {Map<string, string>} */
  const selected = new Map(); // node id → work id (files chosen for the ZIP export)
  /** @type {string | null | undefined} */
  let cursor = null;
  /** @type {Record<string, Kura.FacetBucket[]>} */
  let lastFacets = {};
  /** @type {AbortController | null} */
  let controller = null;
  let total = 0; // hits of the current search (the listing buttons wait for some)

  // ---- the box --------------------------------------------------------------------------
  const box = h("input", {
    type: "search",
    id: "search-q",
    name: "q",
    class: "search-input",
    value: state.q,
    placeholder: t("search.placeholder"),
    "aria-label": t("search.box"),
    autocomplete: "off",
    "data-testid": "search-box",
  });
  box.value = state.q;
  const sortSel = h(
    "select",
    { id: "search-sort", "data-testid": "search-sort", "aria-label": t("search.sort") },
    SORTS.map((s) => h("option", { value: s }, t(`search.sort.${s}`))),
  );
  sortSel.value = state.sort || (state.q ? "relevance" : "date");
  const typeSel = h(
    "select",
    { id: "search-type", "data-testid": "search-type", "aria-label": t("search.type") },
    h("option", { value: "" }, t("search.typeAll")),
    h("option", { value: "file" }, t("search.typeFile")),
    h("option", { value: "work" }, t("search.typeWork")),
    h("option", { value: "post" }, t("search.typePost")),
    h("option", { value: "reply" }, t("search.typeReply")),
    h("option", { value: "proposal" }, t("search.typeProposal")),
  );
  typeSel.value = state.type;
  const form = h(
    "form",
    { class: "search-form", role: "search", onsubmit: (e) => { e.preventDefault(); state.q = box.value; run(); } },
    box,
    h("button", { type: "submit", class: "btn primary", "data-testid": "search-submit" }, t("search.submit")),
  );
  sortSel.addEventListener("change", () => { state.sort = sortSel.value; run(); });
  typeSel.addEventListener("change", () => { state.type = typeSel.value; run(); });

  // ---- facets and dates -----------------------------------------------------------------
  const facetBox = h("div", { class: "facets" });
  /** @type {Record<string, HTMLInputElement>} */
  const dateInputs = {};
  const dateBox = h(
    "fieldset",
    { class: "date-ranges" },
    h("legend", {}, t("search.dates")),
    h("p", { class: "hint" }, t("search.dateHint")),
    DATES.map(([d, label]) => {
      const from = h("input", { type: "text", id: `date-${d}-from`, name: `${d}_from`, value: state.dates[`${d}_from`], placeholder: t("search.dateFromPh"), "data-testid": `date-${d}-from`, inputmode: "text" });
      const to = h("input", { type: "text", id: `date-${d}-to`, name: `${d}_to`, value: state.dates[`${d}_to`], placeholder: t("search.dateToPh"), "data-testid": `date-${d}-to` });
      from.value = state.dates[`${d}_from`];
      to.value = state.dates[`${d}_to`];
      dateInputs[`${d}_from`] = from;
      dateInputs[`${d}_to`] = to;
      return h(
        "div",
        { class: "date-range" },
        h("span", { class: "date-label", id: `date-${d}-label` }, t(label)),
        h("label", { class: "sr-only", for: from.id }, `${t(label)} ${t("search.dateFrom")}`),
        from,
        h("span", { "aria-hidden": "true" }, "〜"),
        h("label", { class: "sr-only", for: to.id }, `${t(label)} ${t("search.dateTo")}`),
        to,
      );
    }),
    h("button", { type: "button", class: "btn small", "data-testid": "date-apply", onclick: () => run() }, t("search.dateApply")),
  );
  const managementBox = h("input", { type: "checkbox", id: "search-management", "data-testid": "search-management" });
  managementBox.checked = state.management;
  managementBox.addEventListener("change", () => {
    state.management = managementBox.checked;
    run();
  });
  const managementField = h(
    "div",
    { class: "check-field search-management" },
    managementBox,
    h("label", { for: "search-management" }, t("search.management")),
    h("p", { class: "hint" }, t("search.managementHint")),
  );
  for (const input of Object.values(dateInputs)) {
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        run();
      }
    });
  }

  /** @param {Record<string, Kura.FacetBucket[]>} facets */
  function renderFacets(facets) {
    clear(facetBox);
    for (const name of FACETS) {
      const buckets = facets[name] || [];
      const chosen = state.filters[name];
      // Keep chosen values visible even when the current result has none of them.
      for (const v of chosen) if (!buckets.some((b) => b.value === v)) buckets.push({ value: v, count: 0 });
      if (!buckets.length) continue;
      const list = h("ul", { class: "facet-list" });
      buckets.forEach((b, i) => {
        const id = `facet-${name}-${i}`;
        const cb = h("input", { type: "checkbox", id, value: b.value, checked: chosen.includes(b.value) });
        cb.checked = chosen.includes(b.value);
        cb.addEventListener("change", () => {
          state.filters[name] = cb.checked ? [...chosen, b.value] : chosen.filter((v) => v !== b.value);
          run();
        });
        list.append(
          h(
            "li",
            { class: i >= FACET_SHOWN ? "extra" : null, hidden: i >= FACET_SHOWN && !chosen.includes(b.value) },
            cb,
            h("label", { for: id }, h("span", { class: "facet-value" }, facetLabel(name, b)), h("span", { class: "facet-count" }, fmtNumber(b.count))),
          ),
        );
      });
      const group = h("fieldset", { class: "facet", "data-testid": `facet-${name}` }, h("legend", {}, t(`search.facet.${name}`)), list);
      if (buckets.length > FACET_SHOWN) {
        group.append(
          h("button", { type: "button", class: "btn link small", onclick: (e) => { for (const li of list.querySelectorAll(".extra")) if (li instanceof HTMLElement) li.hidden = false; if (e.target instanceof Element) e.target.remove(); } }, t("search.facetMore", { n: buckets.length - FACET_SHOWN })),
        );
      }
      facetBox.append(group);
    }
  }

  // ---- the map (issue 8 §1 item 9) ------------------------------------------------------
  const map = workMap({
    onBox: (area) => {
      state.bbox = area ? boxText(area) : "";
      run();
      refreshMap();
    },
    onMunicipality: (code) => {
      state.municipality = code ? [code] : [];
      run();
    },
  });
  map.el.hidden = true;
  const mapBtn = h("button", { type: "button", class: "btn", "aria-expanded": "false", "aria-controls": "search-map", "data-testid": "search-map-toggle" }, t("map.toggle"));
  map.el.id = "search-map";
  const areaChip = h("p", { class: "area-chip", hidden: true, "data-testid": "search-area" });
  function showArea() {
    clear(areaChip);
    const parts = [];
    if (state.bbox) parts.push(t("map.filteredBox"));
    if (state.municipality.length) parts.push(t("map.filteredMunicipality", { code: state.municipality.join("、") }));
    areaChip.hidden = !parts.length;
    if (!parts.length) return;
    areaChip.append(
      parts.join(" ・ "),
      " ",
      h("button", { type: "button", class: "btn small link", "data-testid": "search-area-clear", onclick: () => { state.bbox = ""; state.municipality = []; run(); refreshMap(); } }, t("map.clearAll")),
    );
  }
  async function refreshMap() {
    if (map.el.hidden) return;
    // the works around the chosen area too: the map shows where the others lie
    const rest = queryOf({ ...state, bbox: "", municipality: [] });
    try {
      /** @type {Kura.SearchResponse} */
      const res = await api.get("/search", { ...rest, type: "work", sort: "date", limit: 100 });
      map.showWorks(res.hits, parseBox(state.bbox), state.municipality[0] || null);
    } catch {
      /* the results still show */
    }
  }
  mapBtn.addEventListener("click", async () => {
    const show = map.el.hidden;
    map.el.hidden = !show;
    mapBtn.setAttribute("aria-expanded", show ? "true" : "false");
    if (show) {
      await map.open();
      await refreshMap();
    }
  });

  // ---- results --------------------------------------------------------------------------
  const summary = h("p", { class: "search-summary", role: "status", "aria-live": "polite", "data-testid": "search-summary" });
  const notices = h("div", { class: "search-notices" });
  const results = h("ol", { class: "results", "data-testid": "search-results", "aria-label": t("search.results") });
  const more = h("button", { type: "button", class: "btn", "data-testid": "search-more", hidden: true, onclick: () => run({ append: true }) }, t("search.more"));
  const selCount = h("span", { class: "muted", "data-testid": "selected-count" });
  const zipBtn = h("button", { type: "button", class: "btn", "data-testid": "export-zip", disabled: true }, t("search.exportZip"));
  const csvBtn = h("button", { type: "button", class: "btn", "data-testid": "export-csv" }, t("search.exportCsv"));
  const xlsxBtn = h("button", { type: "button", class: "btn", "data-testid": "export-xlsx" }, t("search.exportXlsx"));
  const actionMsg = h("div", { class: "action-message" });

  function updateSelection() {
    selCount.textContent = selected.size ? t("search.selected", { n: fmtNumber(selected.size) }) : "";
    zipBtn.disabled = !selected.size;
  }

  /**
   * Run an export with `btn` busy; its outcome shows in the action message.
   * @param {HTMLButtonElement} btn
   * @param {() => Promise<unknown>} fn
   */
  async function withBusy(btn, fn) {
    btn.disabled = true;
    btn.setAttribute("aria-busy", "true");
    notice(actionMsg, t("search.preparing"), "info");
    try {
      await fn();
      notice(actionMsg, t("search.downloaded"), "ok");
    } catch (err) {
      notice(actionMsg, errorText(err));
    } finally {
      btn.removeAttribute("aria-busy");
      btn.disabled = btn === zipBtn ? !selected.size : !total;
    }
  }
  csvBtn.addEventListener("click", () => withBusy(csvBtn, () => download(apiUrl("/search/export.csv", queryOf(state)), { fallback: "search.csv" })));
  xlsxBtn.addEventListener("click", () => withBusy(xlsxBtn, () => download(apiUrl("/search/export.xlsx", queryOf(state)), { fallback: "search.xlsx" })));
  zipBtn.addEventListener("click", () =>
    withBusy(zipBtn, async () => {
      /** @type {Map<string, string[]>} */
      const byWork = new Map();
      for (const [id, work] of selected) byWork.set(work, [...(byWork.get(work) || []), id]);
      for (const [work, ids] of byWork) {
        await download(`/works/${encodeURIComponent(work)}/export`, { method: "POST", body: { node_ids: ids }, fallback: "export.zip" });
      }
    }),
  );

  /**
   * @param {Kura.SearchHit} hit
   * @returns {HTMLLIElement}
   */
  function hitEl(hit) {
    const isFile = hit.type === "file";
    // Posts and replies (the board) open on their thread.
    const board = hit.type === "post" || hit.type === "reply";
    const postId = hit.type === "reply" ? hit.parent_id : hit.id;
    // Proposals (発議書類) open on their page; their number is the 発議番号.
    const proposal = hit.type === "proposal";
    const link = isFile ? href("/browse", hit.work_id, hit.id) : board ? `${href("/works", hit.work_id)}/board/${encodeURIComponent(postId || "")}` : proposal ? href("/proposals", hit.id) : href("/works", hit.id);
    const kind = isFile ? t("search.typeFile") : board ? t(hit.type === "post" ? "search.typePost" : "search.typeReply") : proposal ? t("search.typeProposal") : t("search.typeWork");
    const thumb = hit.thumbnail_url
      ? h("img", { class: "thumb", src: hit.thumbnail_url, alt: "", loading: "lazy", decoding: "async", width: "96", height: "72" })
      : h("span", { class: "thumb thumb-glyph", "aria-hidden": "true" }, isFile ? typeIcon(hit) : h("span", { class: "ico ico-work" }, kind));
    if (thumb.tagName === "IMG") thumb.addEventListener("error", () => thumb.replaceWith(h("span", { class: "thumb thumb-glyph", "aria-hidden": "true" }, typeIcon(hit))));
    const title = h("a", { href: link, class: "hit-title" }, hit.title_highlight ? marked(hit.title_highlight) : hit.title || hit.path || t("work.name_unknown"));
    const workLine =
      isFile && hit.work_id && hit.work_title
        ? h("p", { class: "hit-work", "data-testid": "hit-work" }, h("span", { class: "muted" }, `${t("search.inWork")} `), h("a", { href: href("/works", hit.work_id) }, hit.work_title), hit.work_number ? h("span", { class: "muted mono" }, `（${hit.work_number}）`) : null)
        : null;
    const facts = [
      kind,
      hit.number,
      hit.doc_class ? facetLabel("doc_class", { value: hit.doc_class }) : null,
      hit.file_type ? hit.file_type.toUpperCase() : null,
      hit.size ? fmtBytes(hit.size) : null,
      hit.photo_date ? `${t("search.datePhoto")} ${fmtDate(hit.photo_date)}` : null,
      hit.doc_date ? `${t("search.dateDoc")} ${fmtDate(hit.doc_date)}` : null,
      !isFile && hit.period_start ? `${fmtDate(hit.period_start)}〜${fmtDate(hit.period_end)}` : null,
      hit.status ? facetLabel("status", { value: hit.status }) : null,
    ].filter(Boolean);
    const cb = isFile
      ? h("input", { type: "checkbox", class: "hit-select", "aria-label": t("search.select", { name: hit.title || hit.path }), "data-testid": "hit-select", checked: selected.has(hit.id) })
      : h("span", { class: "hit-select" });
    if (cb instanceof HTMLInputElement) {
      cb.checked = selected.has(hit.id);
      cb.addEventListener("change", () => {
        if (cb.checked) selected.set(hit.id, hit.work_id ?? "");
        else selected.delete(hit.id);
        updateSelection();
      });
    }
    const snippets = (hit.highlights || []).map((hl) =>
      h(
        "li",
        {},
        hl.page ? h("a", { class: "page-no", href: `${link}?${new URLSearchParams({ page: String(hl.page), q: state.q.trim() })}`, title: t("search.pageTitle", { n: hl.page }), "data-testid": "hit-page" }, t("search.page", { n: hl.page })) : null,
        h("span", { class: "snippet" }, marked(hl.snippet)),
      ),
    );
    return h(
      "li",
      { class: "hit", "data-testid": "search-hit", "data-id": hit.id },
      cb,
      thumb,
      h(
        "div",
        { class: "hit-body" },
        h("h2", { class: "hit-heading" }, title),
        workLine,
        isFile && hit.path ? h("p", { class: "hit-path" }, hit.path) : null,
        h("p", { class: "hit-facts" }, facts.join(" ・ ")),
        snippets.length ? h("ul", { class: "snippets" }, snippets) : null,
      ),
    );
  }

  /** @param {{ append?: boolean }} [options] append: the next page under the shown ones */
  async function run({ append = false } = {}) {
    state.q = box.value;
    state.sort = sortSel.value === "relevance" && !box.value.trim() ? "" : sortSel.value;
    for (const [k, input] of Object.entries(dateInputs)) {
      state.dates[k] = input.value;
      fieldError(input, "", input.closest(".date-range"));
    }
    if (!append) {
      cursor = null;
      writeState(state);
      showArea();
    }
    if (controller) controller.abort();
    controller = new AbortController();
    const query = { ...queryOf(state), limit: 20, cursor: append ? cursor : undefined };
    results.setAttribute("aria-busy", "true");
    more.disabled = true;
    const started = performance.now();
    /** @type {Kura.SearchResponse} */
    let res;
    try {
      res = await api.get("/search", query, { signal: controller.signal });
    } catch (err) {
      if (isAbort(err)) return;
      results.removeAttribute("aria-busy");
      more.disabled = false;
      const apiErr = err instanceof ApiError ? err : null;
      const param = apiErr ? apiErr.problem.param || [...apiErr.fields.keys()][0] : null;
      if (apiErr && param && dateInputs[param]) {
        fieldError(dateInputs[param], apiErr.detail, dateInputs[param].closest(".date-range"));
        dateInputs[param].focus();
        notice(notices, "");
      } else if (apiErr && param === "q") {
        fieldError(box, apiErr.detail);
      } else notice(notices, errorText(err));
      return;
    }
    fieldError(box, "");
    results.removeAttribute("aria-busy");
    results.dataset.ms = String(Math.round(performance.now() - started));
    if (!append) {
      clear(results);
      lastFacets = res.facets || {};
      renderFacets(lastFacets);
      summary.textContent = res.total
        ? t("search.total", { n: fmtNumber(res.total) })
        : state.q || Object.values(queryOf(state)).some(Boolean)
          ? t("search.none")
          : t("search.noneAtAll");
      // nothing to write out: the listing buttons wait for results (issue 8 §3 item 9)
      total = res.total;
      csvBtn.disabled = !total;
      xlsxBtn.disabled = !total;
      sortSel.value = res.sort;
    }
    notice(notices, res.notice || "", "info");
    for (const hit of res.hits) results.append(hitEl(hit));
    cursor = res.next_cursor;
    more.hidden = !cursor;
    more.disabled = false;
  }

  // ---- layout ---------------------------------------------------------------------------
  clear(root);
  root.append(
    h(
      "div",
      { class: "search-page" },
      h("div", { class: "page-header" }, h("h1", { tabindex: "-1" }, t("search.title"))),
      form,
      h(
        "div",
        { class: "search-layout" },
        h("aside", { class: "search-filters", "aria-label": t("search.filters") }, facetBox, dateBox, managementField),
        h(
          "section",
          { class: "search-main", "aria-label": t("search.results") },
          h("div", { class: "results-bar" }, summary, h("div", { class: "results-tools" }, mapBtn, h("label", { for: "search-type", class: "sr-only" }, t("search.type")), typeSel, h("label", { for: "search-sort" }, t("search.sort")), sortSel)),
          areaChip,
          map.el,
          h("div", { class: "results-actions" }, selCount, zipBtn, csvBtn, xlsxBtn),
          actionMsg,
          notices,
          results,
          h("div", { class: "more-row" }, more),
        ),
      ),
    ),
  );
  box.focus();
  await run();
  return () => controller && controller.abort();
}
