// Bundles `armorc` (dist/cli/main.js, built by tsc) into one file, dist/armorc.mjs, which
// bin/armorc.js loads. Loading the compiler module by module costs most of a short command's
// time (Chevrotain alone is a few hundred ES modules); one file loads about five times faster
// (bench/cli-startup.mjs). The packages a command loads only when it runs (the runtime for
// `armorc audit`, the gateway for `armorc schema from-mcp`) stay outside.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");

await esbuild.build({
  entryPoints: [join(dist, "cli", "main.js")],
  outfile: join(dist, "armorc.mjs"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // jsonc-parser's `main` is a UMD build that esbuild cannot follow; its `module` build is ESM
  mainFields: ["module", "main"],
  external: ["@agent-armor/runtime", "@agent-armor/gateway"],
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins
  banner: { js: 'import { createRequire as __armorcRequire } from "node:module"; const require = __armorcRequire(import.meta.url);' },
  legalComments: "none",
  logLevel: "warning",
});
