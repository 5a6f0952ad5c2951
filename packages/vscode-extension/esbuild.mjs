// Bundles the extension and the language server into dist/, and copies the TextMate grammar in.
//   dist/extension.js          src/extension.ts (+ vscode-languageclient), CommonJS, `vscode` external
//   dist/server.js             the language server (packages/lsp, built first) with the compiler, CommonJS
//   dist/armor.tmLanguage.json grammar/armor.tmLanguage.json
//   dist/docs/diagnostics.md   docs/diagnostics.md: the server links each diagnostic code to its
//                              section there when `armor.diagnostics.docsBaseUrl` is empty (offline)
// `node esbuild.mjs --watch` rebuilds on change.
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const dist = join(here, "dist");
const watch = process.argv.includes("--watch");

// The server's entry: the bin script (it starts the server from argv), else the server module.
const lsp = join(root, "packages", "lsp");
// ARMOR_SERVER_ENTRY overrides it (a stand-in server during development).
const serverEntry = process.env.ARMOR_SERVER_ENTRY || [join(lsp, "bin", "armor-lsp.js"), join(lsp, "dist", "server.js")].find(
  (f) => existsSync(f) && (!f.endsWith("armor-lsp.js") || existsSync(join(lsp, "dist"))),
);
if (serverEntry === undefined) {
  console.error("esbuild.mjs: the language server is not built: run `npm run build -w @agent-armor/lsp` first (needs packages/lsp/dist)");
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
copyFileSync(join(root, "grammar", "armor.tmLanguage.json"), join(dist, "armor.tmLanguage.json"));
mkdirSync(join(dist, "docs"));
copyFileSync(join(root, "docs", "diagnostics.md"), join(dist, "docs", "diagnostics.md"));

/** ESM sources bundled to CommonJS: `import.meta.url` becomes the bundle's own file URL. */
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  sourcemap: true,
  minify: !watch,
  keepNames: true,
  logLevel: "info",
  define: { "import.meta.url": "__armor_import_meta_url" },
  // jsonc-parser's "main" is a UMD build whose requires esbuild cannot follow; its ES module build
  // bundles (esbuild prefers "main" over "module" for platform node)
  alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" },
  banner: { js: 'const __armor_import_meta_url = require("url").pathToFileURL(__filename).href;' },
};

const builds = [
  { ...common, entryPoints: [join(here, "src", "extension.ts")], outfile: join(dist, "extension.js"), external: ["vscode"] },
  { ...common, entryPoints: [serverEntry], outfile: join(dist, "server.js") },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
