// map.js: the search page's map (issue 8 §1 item 9): the works whose 電子納品 package carries
// 境界座標 as rectangles on a map; a rectangle drawn on it (or the part of the map shown, for
// keyboards) becomes the search's bbox filter, and a municipality of the works shown can be
// picked. Leaflet (/vendor/leaflet) draws it; its background is the tile source an operator
// configured (GET /search/map), else Japan's outline shipped with the interface
// (/vendor/map/japan.geojson): nothing is fetched from elsewhere by default.
//
//   const map = workMap({ onBox(bbox), onMunicipality(code) });  section.append(map.el);
//   await map.open();  map.showWorks(hits, bbox)

import { api } from "../api.js";
import { t } from "../i18n.js";
import { href } from "../router.js";
import { h, clear } from "./dom.js";

/** @typedef {typeof import("leaflet")} Leaflet */
/** @typedef {[number, number, number, number]} Box 西, 南, 東, 北 in decimal degrees */

const JAPAN_BOUNDS = /** @type {[[number, number], [number, number]]} */ ([
  [24, 122.5],
  [45.6, 146],
]);

/** @type {Promise<Leaflet> | null} */
let leafletPromise = null;
/**
 * Leaflet's browser build and its stylesheet, loaded once.
 * @returns {Promise<Leaflet>}
 */
function loadLeaflet() {
  if (window.L) return Promise.resolve(window.L);
  if (!leafletPromise) {
    leafletPromise = new Promise((resolve, reject) => {
      if (!document.getElementById("leaflet-css")) {
        const link = document.createElement("link");
        link.id = "leaflet-css";
        link.rel = "stylesheet";
        link.href = "/vendor/leaflet/leaflet.css";
        document.head.append(link);
      }
      const s = document.createElement("script");
      s.src = "/vendor/leaflet/leaflet.js";
      s.onload = () => (window.L ? resolve(window.L) : reject(new Error("leaflet")));
      s.onerror = () => {
        leafletPromise = null;
        reject(new Error("leaflet"));
      };
      document.head.append(s);
    });
  }
  return leafletPromise;
}

/**
 * "広島県福山市春日町2丁目…" → "広島県福山市" (the municipality an address starts with).
 * @param {string | null | undefined} address
 * @returns {string}
 */
export function municipalityOf(address) {
  const m = /^(.{2,3}?[都道府県])?(.+?郡.+?[町村]|.+?市.+?区|.+?[市区町村])/.exec(String(address || ""));
  return m ? `${m[1] || ""}${m[2]}` : "";
}

/**
 * A bbox text ("132.45,34.38,132.47,34.40") as numbers, or null.
 * @param {string | null | undefined} text
 * @returns {Box | null}
 */
export function parseBox(text) {
  const v = String(text || "").split(",").map(Number);
  return v.length === 4 && v.every(Number.isFinite) ? /** @type {Box} */ (v) : null;
}

/**
 * @param {Box} box
 * @returns {string}
 */
export function boxText(box) {
  return box.map((v) => v.toFixed(5)).join(",");
}

/**
 * The map (see the top of this file).
 * @param {{ onBox: (box: Box | null) => void, onMunicipality: (code: string | null) => void }} options
 */
export function workMap({ onBox, onMunicipality }) {
  const canvas = h("div", { class: "map-canvas", "data-testid": "map-canvas", role: "application", "aria-label": t("map.canvas") });
  const status = h("p", { class: "map-status muted small", role: "status", "data-testid": "map-status" });
  const drawBtn = h("button", { type: "button", class: "btn small", "aria-pressed": "false", "data-testid": "map-draw" }, t("map.draw"));
  const viewBtn = h("button", { type: "button", class: "btn small", "data-testid": "map-use-view" }, t("map.useView"));
  const clearBtn = h("button", { type: "button", class: "btn small", "data-testid": "map-clear", disabled: true }, t("map.clear"));
  const muni = h("select", { id: "map-municipality", "data-testid": "map-municipality" }, h("option", { value: "" }, t("map.anyMunicipality")));
  const el = h(
    "section",
    { class: "map-panel", "aria-label": t("map.title"), "data-testid": "map-panel" },
    h(
      "div",
      { class: "map-tools", role: "toolbar", "aria-label": t("map.tools") },
      drawBtn,
      viewBtn,
      clearBtn,
      h("label", { for: "map-municipality", class: "map-muni-label" }, t("map.municipality")),
      muni,
    ),
    canvas,
    status,
  );

  /** @type {import("leaflet").Map | null} */
  let map = null;
  /** @type {Leaflet | null} */
  let L = null;
  /** @type {import("leaflet").LayerGroup | null} */
  let works = null;
  /** @type {import("leaflet").Rectangle | null} */
  let chosen = null;
  let drawing = false;

  /** @param {Box | null} box */
  function drawChosen(box) {
    if (!map || !L) return;
    if (chosen) chosen.remove();
    chosen = null;
    clearBtn.disabled = !box;
    if (box) {
      chosen = L.rectangle(
        [
          [box[1], box[0]],
          [box[3], box[2]],
        ],
        { color: "#b3261e", weight: 2, dashArray: "6 4", fill: false, interactive: false },
      ).addTo(map);
    }
  }

  function setDrawing(/** @type {boolean} */ on) {
    drawing = on;
    drawBtn.setAttribute("aria-pressed", on ? "true" : "false");
    canvas.classList.toggle("drawing", on);
    if (!map) return;
    if (on) map.dragging.disable();
    else map.dragging.enable();
    status.textContent = on ? t("map.drawHint") : "";
  }

  drawBtn.addEventListener("click", () => setDrawing(!drawing));
  viewBtn.addEventListener("click", () => {
    if (!map) return;
    const b = map.getBounds();
    onBox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
  });
  clearBtn.addEventListener("click", () => onBox(null));
  muni.addEventListener("change", () => onMunicipality(muni.value || null));

  /** Build the map once: background, and the rectangle drawing. */
  async function open() {
    if (map) {
      map.invalidateSize();
      return;
    }
    const lib = await loadLeaflet();
    L = lib;
    /** @type {Kura.MapSettings} */
    let settings = { tile_url: null, attribution: "", max_zoom: 18 };
    try {
      settings = await api.get("/search/map");
    } catch {
      /* the outline still shows */
    }
    const m = lib.map(canvas, { zoomSnap: 0.5, attributionControl: true, maxZoom: settings.max_zoom });
    map = m;
    m.fitBounds(JAPAN_BOUNDS);
    if (settings.tile_url) {
      lib.tileLayer(settings.tile_url, { attribution: settings.attribution, maxZoom: settings.max_zoom }).addTo(m);
    } else {
      canvas.classList.add("no-tiles");
      m.attributionControl.addAttribution(t("map.outlineSource"));
      try {
        const res = await fetch("/vendor/map/japan.geojson");
        if (res.ok) lib.geoJSON(await res.json(), { style: { color: "#6d7a73", weight: 1, fillColor: "#e4ebe6", fillOpacity: 1 }, interactive: false }).addTo(m);
      } catch {
        /* the rectangles still show */
      }
      status.textContent = t("map.noTiles");
    }
    works = lib.layerGroup().addTo(m);
    /** @type {import("leaflet").LatLng | null} */
    let start = null;
    /** @type {import("leaflet").Rectangle | null} */
    let rubber = null;
    m.on("mousedown", (e) => {
      if (!drawing) return;
      start = e.latlng;
      rubber = lib.rectangle(lib.latLngBounds(start, start), { color: "#1f5fa8", weight: 2, interactive: false }).addTo(m);
    });
    m.on("mousemove", (e) => {
      if (drawing && start && rubber) rubber.setBounds(lib.latLngBounds(start, e.latlng));
    });
    m.on("mouseup", (e) => {
      if (!drawing || !start || !rubber) return;
      const b = lib.latLngBounds(start, e.latlng);
      rubber.remove();
      rubber = null;
      start = null;
      setDrawing(false);
      if (b.getWest() === b.getEast() || b.getSouth() === b.getNorth()) return;
      onBox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]);
    });
  }

  return {
    el,
    open,
    /**
     * Show the works (hits of a type=work search) that carry 境界座標, and the chosen box.
     * @param {Kura.SearchHit[]} hits
     * @param {Box | null} box
     * @param {string | null} municipality the chosen municipality code
     */
    showWorks(hits, box, municipality) {
      if (!map || !L || !works) return;
      const lib = L;
      works.clearLayers();
      /** @type {Map<string, string>} */
      const munis = new Map();
      const placed = [];
      for (const hit of hits) {
        for (const code of hit.municipality_code || []) if (!munis.has(code)) munis.set(code, municipalityOf(hit.address));
        const b = hit.bbox;
        if (!b || b.length !== 4) continue;
        const rect = lib.rectangle(
          [
            [b[1], b[0]],
            [b[3], b[2]],
          ],
          { color: "#24584a", weight: 2, fillOpacity: 0.25 },
        );
        const link = h("a", { href: href("/works", hit.id) }, hit.title || "");
        rect.bindPopup(h("div", {}, link, hit.number ? h("div", { class: "mono small" }, hit.number) : null));
        rect.bindTooltip(hit.title || "");
        works.addLayer(rect);
        placed.push(rect.getBounds());
      }
      clear(muni).append(h("option", { value: "" }, t("map.anyMunicipality")));
      for (const [code, name] of [...munis].sort((a, b) => a[0].localeCompare(b[0]))) {
        muni.append(h("option", { value: code, selected: code === municipality }, name ? `${name}（${code}）` : code));
      }
      muni.value = municipality || "";
      drawChosen(box);
      status.textContent = placed.length ? t("map.count", { n: placed.length }) : t("map.none");
      el.dataset.works = String(placed.length);
      if (box) {
        map.fitBounds(
          [
            [box[1], box[0]],
            [box[3], box[2]],
          ],
          { padding: [20, 20], maxZoom: 14 },
        );
      } else if (placed.length) {
        const all = placed.reduce((acc, b) => acc.extend(b), lib.latLngBounds(placed[0].getSouthWest(), placed[0].getNorthEast()));
        map.fitBounds(all, { padding: [24, 24], maxZoom: 14 });
      }
    },
  };
}
