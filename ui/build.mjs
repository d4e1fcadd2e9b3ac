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
];

for (const [from] of vendor) {
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
// A build stamp lets the server and tests tell which build is served.
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
writeFileSync(
  join(dist, "build.json"),
  JSON.stringify({ name: pkg.name, version: pkg.version, built_at: new Date().toISOString() }) + "\n",
);
console.log(`build: ui/dist ready (${vendor.length} vendor entries)`);
