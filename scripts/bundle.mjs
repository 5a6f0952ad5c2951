// Bundles the command-line entries (built by tsc) into single files with esbuild, for the bin
// scripts to load: loading the compiler and its dependencies module by module is most of a short
// command's time (Chevrotain alone is a few hundred ES modules), and one file loads several
// times faster (bench/cli-startup.mjs). packages/cli runs it for `armorc`, `armor` and the
// decision worker of `armor serve`, in one build, so that code they share is one chunk.
//   node ../../scripts/bundle.mjs OUT_DIR IN=OUT... [--external NAME]...
// run from a package's folder: each IN (a built file) becomes OUT_DIR/OUT.js, an ES module;
// a worker an entry starts by `new URL("./NAME.js", import.meta.url)` must be an entry too, with
// that name. Packages named with --external stay imports (ones a command loads only when it runs).
import { rmSync } from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";

const [outdir, ...rest] = process.argv.slice(2);
const entryPoints = [];
const external = [];
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === "--external") external.push(rest[++i]);
  else {
    const [input, output] = rest[i].split("=");
    entryPoints.push({ in: path.resolve(input), out: output });
  }
}
if (outdir === undefined || entryPoints.length === 0) {
  process.stderr.write("usage: bundle.mjs OUT_DIR IN=OUT... [--external NAME]...\n");
  process.exit(2);
}

// chunks are named by hash: a stale one from an earlier build would linger
rmSync(path.resolve(outdir), { recursive: true, force: true });
await esbuild.build({
  entryPoints,
  outdir: path.resolve(outdir),
  outExtension: { ".js": ".js" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // a dynamic import() becomes a chunk loaded when it runs; code the entries share, a shared chunk
  splitting: true,
  chunkNames: "chunk-[hash]",
  // jsonc-parser's `main` is a UMD build that esbuild cannot follow; its `module` build is ESM
  mainFields: ["module", "main"],
  external,
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins
  banner: { js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);' },
  legalComments: "none",
  logLevel: "warning",
});
