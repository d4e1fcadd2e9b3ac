// 電子納品・移管 (seed 001 §4, §3-6; seed 000). Route: #/handover/<workId>.
// 1. what the package says about the work (要領 → MLIT or 農水 check, 境界座標, 工事内容, …);
// 2. which package folder each document folder goes to;
// 3. the packages made from the work, each checked like `kura validate` (E/W/N, notes), with
//    its ZIP;
// 4. the move into the archive (the orderer, after inspection, with a package without errors);
// 5. the day the collaboration copy is erased (shown in advance; set by the orderer).

import { api } from "../api.js";
import { fmtBytes, fmtDate, fmtDateTime, t } from "../i18n.js";
import { href } from "../router.js";
import { badge, busy, clear, confirmDialog, control, empty, errorBox, errorMessage, field, formValues, h, selectField, showFormErrors, clearFormErrors, toast } from "../ui.js";
import { ensureCollabStyles } from "../components/collab.js";

const FIELDS = ["content", "orderer_major", "orderer_middle", "orderer_minor", "section", "contractor_code"];

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { workId: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureCollabStyles();
  const workId = params.workId;
  const enc = encodeURIComponent(workId);
  /** @type {Kura.HandoverOverview} */
  let data;
  try {
    data = await api.get(`/works/${enc}/handover`);
  } catch (err) {
    root.append(errorBox(err));
    return undefined;
  }
  ctx.setTitle(`${data.work.title} - ${t("handover.title")}`);
  const body = h("div", {});
  /** @type {number | null} */
  let timer = null;

  async function reload() {
    data = await api.get(`/works/${enc}/handover`);
    draw();
  }

  function draw() {
    clear(body).append(configCard(), mappingCard(), packagesCard(), transferCard(), erasureCard());
    const busyState = data.packages.some((p) => p.state === "queued" || p.state === "running") || ["queued", "running"].includes(data.handover.state || "");
    if (busyState && timer === null) {
      timer = window.setTimeout(() => {
        timer = null;
        reload();
      }, 1500);
    }
  }

  // 1. settings ---------------------------------------------------------------------------
  function configCard() {
    const c = data.config;
    const can = data.can.generate;
    const b = c.bounds || { west: "", east: "", north: "", south: "" };
    const form = h(
      "form",
      { class: "form", "data-testid": "handover-config" },
      h(
        "div",
        { class: "form-grid" },
        selectField({ name: "standard", label: t("handover.standard"), value: c.standard, options: data.standards.map((s) => ({ value: s.code, label: `${s.label}（${s.code}）` })), testid: "handover-standard", hint: t(`handover.profile.${c.profile}`) }),
        field({ name: "content", label: t(data.work.kind === "service" ? "handover.content_service" : "handover.content"), type: "textarea", value: c.content, testid: "handover-content" }),
        field({ name: "facilities", label: t("handover.facilities"), value: (c.facilities || []).join("、"), hint: t("handover.facilities_hint"), testid: "handover-facilities" }),
        field({ name: "west", label: t("handover.west"), value: b.west, hint: "dddmmss", testid: "handover-west", attrs: { inputmode: "numeric" } }),
        field({ name: "east", label: t("handover.east"), value: b.east, hint: "dddmmss", testid: "handover-east", attrs: { inputmode: "numeric" } }),
        field({ name: "north", label: t("handover.north"), value: b.north, hint: "ddmmss", testid: "handover-north", attrs: { inputmode: "numeric" } }),
        field({ name: "south", label: t("handover.south"), value: b.south, hint: "ddmmss", testid: "handover-south", attrs: { inputmode: "numeric" } }),
        field({ name: "orderer_major", label: t("handover.orderer_major"), value: c.orderer_major, testid: "handover-major" }),
        field({ name: "orderer_middle", label: t("handover.orderer_middle"), value: c.orderer_middle }),
        field({ name: "orderer_minor", label: t("handover.orderer_minor"), value: c.orderer_minor }),
        field({ name: "section", label: t("handover.section"), value: c.section }),
        field({ name: "contractor_code", label: t("handover.contractor_code"), value: c.contractor_code }),
      ),
      can ? h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn primary", "data-testid": "handover-config-save" }, t("common.save"))) : null,
    );
    if (!can) for (const el of form.elements) if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) el.disabled = true;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearFormErrors(form);
      const v = formValues(form);
      /** @type {Record<string, unknown>} */
      const payload = { standard: v.standard };
      for (const k of FIELDS) payload[k] = String(v[k] || "");
      payload.facilities = String(v.facilities || "").split(/[、,，\n]/).map((s) => s.trim()).filter(Boolean);
      const corners = ["west", "east", "north", "south"].map((k) => String(v[k] || "").trim());
      payload.bounds = corners.every(Boolean) ? { west: corners[0], east: corners[1], north: corners[2], south: corners[3] } : null;
      try {
        await api.request("PUT", `/works/${enc}/handover/config`, { body: payload });
        toast(t("common.saved"), "ok");
        await reload();
      } catch (err) {
        showFormErrors(form, err);
      }
    });
    return h("section", { class: "card", "aria-labelledby": "ho-config" }, h("h2", { id: "ho-config" }, t("handover.config")), h("p", { class: "muted" }, t("handover.config_lead")), form);
  }

  // 2. folder → package folder -------------------------------------------------------------
  function mappingCard() {
    const can = data.can.generate;
    const rows = data.folders.map((f) => {
      const sel = h("select", { "aria-label": t("handover.target_of", { name: f.path }), "data-testid": "handover-target", "data-path": f.path, disabled: !can }, data.targets.map((o) => h("option", { value: o.value, selected: o.value === f.delivery }, o.label)));
      sel.addEventListener("change", async () => {
        try {
          const current = data.folders.find((x) => x.id === f.id) || f;
          await api.request("PATCH", `/folders/${encodeURIComponent(f.id)}`, { body: { version: current.version, delivery: sel.value } });
          toast(t("common.saved"), "ok");
          await reload();
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      });
      return h("tr", {}, h("td", {}, h("span", { class: `indent-${Math.min(f.depth, 4)}` }, f.name)), h("td", {}, f.doc_type || "—"), h("td", { class: "num" }, String(f.total_files)), h("td", {}, sel));
    });
    return h(
      "section",
      { class: "card", "aria-labelledby": "ho-map" },
      h("h2", { id: "ho-map" }, t("handover.mapping")),
      h("p", { class: "muted" }, t("handover.mapping_lead")),
      rows.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "data", "data-testid": "handover-mapping" }, h("thead", {}, h("tr", {}, ["folder", "doc_type", "files", "target"].map((c) => h("th", { scope: "col" }, t(`handover.col.${c}`))))), h("tbody", {}, rows)))
        : empty(t("handover.no_folders")),
      h("p", {}, h("a", { href: href("/folders", workId) }, t("collab.folders"))),
    );
  }

  // 3. packages ---------------------------------------------------------------------------
  function packagesCard() {
    const gen = h("button", { type: "button", class: "btn primary", "data-testid": "handover-generate", disabled: !data.can.generate }, t("handover.generate"));
    gen.addEventListener("click", () =>
      busy(gen, async () => {
        try {
          await api.post(`/works/${enc}/handover/packages`);
          await reload();
        } catch (err) {
          toast(errorMessage(err), "error");
        }
      }),
    );
    return h(
      "section",
      { class: "card", "aria-labelledby": "ho-packages" },
      h("h2", { id: "ho-packages" }, t("handover.packages")),
      h("p", { class: "muted" }, t("handover.packages_lead")),
      data.can.generate ? gen : null,
      data.packages.length ? h("ul", { class: "packages", "data-testid": "handover-packages" }, data.packages.map(packageItem)) : empty(t("handover.no_packages")),
    );
  }

  /** @param {Kura.HandoverPackage} p */
  function packageItem(p) {
    const counts = p.counts || { E: 0, W: 0, N: 0 };
    const head = h(
      "div",
      { class: "package-head" },
      h("strong", {}, fmtDateTime(p.created_at)),
      " ",
      badge(t(`handover.state.${p.state}`), p.state === "done" ? (p.blocking ? "err" : "ok") : p.state === "failed" ? "err" : "info", { "data-testid": "package-state" }),
      p.state === "done" ? [" ", h("span", { "data-testid": "package-counts" }, t("handover.counts", { e: counts.E, w: counts.W, n: counts.N })), " ", p.blocking ? badge(t("handover.blocking", { n: p.blocking }), "err") : badge(t("handover.ready"), "ok", { "data-testid": "package-ready" })] : null,
    );
    const detail = h("div", { class: "package-detail", hidden: true });
    const toggle = h("button", { type: "button", class: "btn small", "aria-expanded": "false", "data-testid": "package-report" }, t("handover.report"));
    toggle.addEventListener("click", async () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      detail.hidden = !open;
      if (open && !detail.firstChild) {
        try {
          /** @type {Kura.HandoverPackage} */
          const full = await api.get(`/handover-packages/${encodeURIComponent(p.id)}`);
          detail.append(report(full));
        } catch (err) {
          detail.append(errorBox(err));
        }
      }
    });
    return h(
      "li",
      { "data-testid": "package", "data-state": p.state },
      head,
      p.state === "done" ? h("p", { class: "small muted" }, t("handover.package_facts", { files: p.files || 0, size: fmtBytes(p.size || 0), profile: t(`handover.profile.${p.profile}`), folders: (p.folders || []).join("・") })) : null,
      p.error ? h("p", { class: "field-error" }, p.error) : null,
      p.notes.length ? h("ul", { class: "notes" }, p.notes.map((n) => h("li", { class: `sev sev-${n.level}` }, `${t(`handover.sev.${n.level}`)}: ${n.message}`))) : null,
      p.state === "done" ? h("div", { class: "toolbar" }, toggle, h("a", { class: "btn small", href: `/api/v1/handover-packages/${encodeURIComponent(p.id)}/content`, "data-testid": "package-download" }, t("handover.download"))) : null,
      detail,
    );
  }

  /** @param {Kura.HandoverPackage} p */
  function report(p) {
    const findings = p.findings || [];
    if (!findings.length) return h("p", {}, t("handover.no_findings"));
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "data", "data-testid": "package-findings" },
        h("thead", {}, h("tr", {}, ["sev", "rule", "path", "message"].map((c) => h("th", { scope: "col" }, t(`handover.col.${c}`))))),
        h("tbody", {}, findings.map((f) => h("tr", {}, h("td", { class: `sev sev-${f.severity}` }, t(`handover.sev.${f.severity}`)), h("td", {}, `${f.rule} ${f.title || ""}`), h("td", { class: "mono small" }, f.path || ""), h("td", {}, f.message)))),
      ),
    );
  }

  // 4. transfer ---------------------------------------------------------------------------
  function transferCard() {
    const rec = data.handover;
    const ready = data.packages.filter((p) => p.state === "done" && !p.blocking);
    const card = h("section", { class: "card", "aria-labelledby": "ho-transfer", "data-testid": "handover-transfer" }, h("h2", { id: "ho-transfer" }, t("handover.transfer")));
    if (!data.settings.uses_archive) {
      card.append(h("p", {}, t("handover.no_archive")));
      return card;
    }
    if (rec.state === "transferred") {
      card.append(h("p", { "data-testid": "handover-transferred" }, t("handover.transferred", { at: fmtDateTime(rec.transferred_at || "") })));
      if (rec.root_node_id) card.append(h("a", { class: "btn", href: href("/browse", workId, rec.root_node_id), "data-testid": "handover-open-archive" }, t("handover.open_archive")));
      return card;
    }
    if (rec.state === "queued" || rec.state === "running") {
      card.append(h("p", { role: "status" }, t("handover.transferring")));
      return card;
    }
    if (rec.state === "failed") card.append(h("p", { class: "field-error", role: "alert" }, t("handover.transfer_failed", { error: rec.error || "" })));
    card.append(h("p", { class: "muted" }, t("handover.transfer_lead", { days: data.settings.erasure_days })));
    if (data.work.status !== "completed") {
      card.append(h("p", {}, t("handover.not_completed")));
      return card;
    }
    if (!data.can.transfer) return card;
    if (!ready.length) {
      card.append(h("p", {}, t("handover.no_ready")));
      return card;
    }
    const sel = selectField({ name: "package_id", label: t("handover.which"), options: ready.map((p) => ({ value: p.id, label: `${fmtDateTime(p.created_at)}（${t("handover.counts", { e: 0, w: p.counts ? p.counts.W : 0, n: p.counts ? p.counts.N : 0 })}）` })), testid: "handover-package" });
    const form = h("form", { class: "form" }, sel, h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn primary", "data-testid": "handover-transfer-submit" }, t("handover.transfer_go"))));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!(await confirmDialog(t("handover.transfer_confirm", { days: data.settings.erasure_days })))) return;
      try {
        await api.post(`/works/${enc}/handover/transfer`, { package_id: control(form, "package_id").value, version: data.work.version });
        await reload();
      } catch (err) {
        toast(errorMessage(err), "error");
      }
    });
    card.append(form);
    return card;
  }

  // 5. erasure ----------------------------------------------------------------------------
  function erasureCard() {
    const rec = data.handover;
    const card = h("section", { class: "card", "aria-labelledby": "ho-erasure", "data-testid": "handover-erasure" }, h("h2", { id: "ho-erasure" }, t("handover.erasure")));
    card.append(h("p", { class: "muted" }, t("handover.erasure_lead")));
    if (rec.erased_at) {
      card.append(h("p", { "data-testid": "handover-erased" }, t("handover.erased", { at: fmtDateTime(rec.erased_at) })));
      return card;
    }
    if (rec.erasure_on) {
      const days = Math.round((Date.parse(`${rec.erasure_on}T00:00:00+09:00`) - Date.now()) / 86400000);
      card.append(h("p", { class: "erasure-date", "data-testid": "handover-erasure-on" }, t("handover.erasure_on", { date: fmtDate(rec.erasure_on) }), days >= 0 ? h("span", { class: "muted" }, ` ${t("handover.days_left", { n: days })}`) : null));
    } else {
      card.append(h("p", {}, t("handover.erasure_unset")));
    }
    if (!data.can.erasure) return card;
    const form = h("form", { class: "form", "data-testid": "handover-erasure-form" }, field({ name: "erasure_on", label: t("handover.erasure_date"), type: "date", value: rec.erasure_on || "", testid: "handover-erasure-date", hint: t("handover.erasure_hint", { days: data.settings.erasure_days }) }), h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn", "data-testid": "handover-erasure-save" }, t("handover.erasure_set"))));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearFormErrors(form);
      const value = control(form, "erasure_on").value;
      try {
        await api.post(`/works/${enc}/handover/erasure`, { erasure_on: value || null });
        toast(t("handover.erasure_saved"), "ok");
        await reload();
      } catch (err) {
        showFormErrors(form, err);
      }
    });
    card.append(form);
    return card;
  }

  root.append(
    h("nav", { class: "breadcrumb", "aria-label": "breadcrumb" }, h("a", { href: href("/works", workId) }, data.work.title)),
    h("div", { class: "page-header" }, h("h1", { tabindex: "-1" }, t("handover.heading", { title: data.work.title })), h("div", { class: "page-actions" }, h("a", { class: "btn", href: href("/folders", workId) }, t("collab.folders")), h("a", { class: "btn", href: href("/inspection", workId) }, t("collab.inspection")))),
    body,
  );
  draw();
  return () => {
    if (timer !== null) window.clearTimeout(timer);
    timer = null;
  };
}
