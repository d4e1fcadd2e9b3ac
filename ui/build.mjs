// Build the web interface: copy ui/src to ui/dist and the vendor browser builds (from
// node_modules, installed by `npm ci --prefix ui`) to ui/dist/vendor/. No bundler: the app is
// plain ES modules. Run from anywhere: `node ui/build.mjs`.
//
// Vendor layout (pages import these paths):
//   /vendor/tus.min.js             tus-js-client UMD build; load with a <script>, sets window.tus
//   /vendor/pdfjs/pdf.min.mjs      pdfjs-dist ES module
//   /vendor/pdfjs/pdf.worker.min.mjs
//   /vendor/pdfjs/cmaps/           CMaps (Japanese PDFs need them: cMapUrl, cMapPacked: true)
//   /vendor/pdfjs/standard_fonts/
//   /vendor/fullcalendar/fullcalendar.js   FullCalendar's standard bundle (sets window.FullCalendar)
//   /vendor/fullcalendar/fullcalendar.css  its styles, taken out of the bundle (see below)
//   /vendor/fullcalendar/ja.js             its Japanese locale (FullCalendar.globalLocales)
//   /vendor/leaflet/leaflet.js     Leaflet's browser build (sets window.L), leaflet.css, images/
//   /vendor/map/japan.geojson      Japan's outline from Natural Earth 1:50m (world-atlas), the
//                                  map's background when no tile source is configured
//   /vendor/uplot/uPlot.esm.js             uPlot ES module (billing dashboard, bond balances)
//   /vendor/uplot/uPlot.min.css            its stylesheet
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const dist = join(here, "dist");
const modules = join(here, "node_modules");

const vendor = [
  ["tus-js-client/dist/tus.min.js", "tus.min.js"],
  ["pdfjs-dist/build/pdf.min.mjs", "pdfjs/pdf.min.mjs"],
  ["pdfjs-dist/build/pdf.worker.min.mjs", "pdfjs/pdf.worker.min.mjs"],
  ["pdfjs-dist/cmaps", "pdfjs/cmaps"],
  ["pdfjs-dist/standard_fonts", "pdfjs/standard_fonts"],
  ["@fullcalendar/core/locales/ja.global.min.js", "fullcalendar/ja.js"],
  ["leaflet/dist/leaflet.js", "leaflet/leaflet.js"],
  ["leaflet/dist/leaflet.css", "leaflet/leaflet.css"],
  ["leaflet/dist/images", "leaflet/images"],
  ["uplot/dist/uPlot.esm.js", "uplot/uPlot.esm.js"],
  ["uplot/dist/uPlot.min.css", "uplot/uPlot.min.css"],
];
const WORLD = "world-atlas/countries-50m.json";
const JAPAN = "392"; // ISO 3166-1 numeric, the id world-atlas gives each country
const FULLCALENDAR = "fullcalendar/index.global.js";

for (const [from] of [...vendor, [FULLCALENDAR], [WORLD], ["topojson-client"]]) {
  if (!existsSync(join(modules, from))) {
    console.error(`build: missing ${from}; run: npm ci --prefix ui`);
    process.exit(1);
  }
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
cpSync(src, dist, { recursive: true });
for (const [from, to] of vendor) {
  const target = join(dist, "vendor", to);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(join(modules, from), target, { recursive: true });
}
fullCalendar(join(modules, FULLCALENDAR), join(dist, "vendor", "fullcalendar"));

// FullCalendar 6 injects its styles at run time into a <style> element, which the app's
// Content-Security-Policy (style-src 'self', api/ui/router.py) refuses. The build moves them
// into a stylesheet served from 'self': the bundle's CSS strings (`var css_248z… = "…";`) are
// written to fullcalendar.css, and the bundle's style registration is switched off. The icon
// font (a data: URL, also refused) is left out: the calendar uses text buttons
// (buttonIcons: false). Any change in the bundle that breaks this stops the build.
function fullCalendar(source, target) {
  let code = readFileSync(source, "utf8");
  const css = [];
  for (const m of code.matchAll(/var css_248z[$\w]* = ("(?:[^"\\]|\\.)*");/g)) css.push(JSON.parse(m[1]));
  const hook = "function registerStylesRoot(rootNode) {";
  if (css.length < 3 || !code.includes(hook)) {
    console.error("build: FullCalendar's bundle changed (styles not found); see fullCalendar() in build.mjs");
    process.exit(1);
  }
  code = code.replace(hook, `${hook} return; // styles come from fullcalendar.css (build.mjs)`);
  const styles = css.join("\n").replace(/@font-face\{[^}]*\}/g, "");
  mkdirSync(target, { recursive: true });
  writeFileSync(join(target, "fullcalendar.js"), code);
  writeFileSync(join(target, "fullcalendar.css"), `/* FullCalendar ${fcVersion()} styles (MIT), extracted by ui/build.mjs */\n${styles}\n`);
}

function fcVersion() {
  return JSON.parse(readFileSync(join(modules, "fullcalendar", "package.json"), "utf8")).version;
}

// A build stamp lets the server and tests tell which build is served.
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
writeFileSync(
  join(dist, "build.json"),
  JSON.stringify({ name: pkg.name, version: pkg.version, built_at: new Date().toISOString() }) + "\n",
);
await japanOutline(join(modules, WORLD), join(dist, "vendor", "map", "japan.geojson"));

/**
 * Japan's outline as GeoJSON (coordinates rounded to ~100 m) from the world atlas's TopoJSON:
 * the map draws it when no tile source is configured, so nothing is fetched from elsewhere.
 * @param {string} from
 * @param {string} to
 */
async function japanOutline(from, to) {
  const { feature } = await import("topojson-client");
  const topology = JSON.parse(readFileSync(from, "utf8"));
  const countries = feature(topology, topology.objects.countries);
  const japan = countries.features.filter((f) => String(f.id) === JAPAN);
  const round = (c) => (typeof c[0] === "number" ? [Math.round(c[0] * 1000) / 1000, Math.round(c[1] * 1000) / 1000] : c.map(round));
  for (const f of japan) f.geometry.coordinates = round(f.geometry.coordinates);
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, JSON.stringify({ type: "FeatureCollection", source: "Natural Earth 1:50m via world-atlas 2.0.2 (public domain)", features: japan }));
}

console.log(`build: ui/dist ready (${vendor.length} vendor entries)`);
