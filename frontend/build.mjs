// Copies the browser files the dashboard loads from the installed npm packages into the
// Python package's static folder, where Flask serves them (nothing is fetched at run time).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "dashboard_api", "web", "static", "vendor");
const files = {
  "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
  "chart.js.LICENSE.md": "chart.js/LICENSE.md",
};

mkdirSync(target, { recursive: true });
for (const [name, source] of Object.entries(files)) {
  copyFileSync(join(here, "node_modules", source), join(target, name));
}
console.log(`copied ${Object.keys(files).length} files into ${target}`);
