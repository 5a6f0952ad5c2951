// Regenerates bench/RESULTS.md and bench/latency.svg from bench/results/latest.json (no measuring).
//   node bench/report.mjs
import fs from "node:fs";
import path from "node:path";
import { writeReport } from "./lib/report.js";
import { BENCH } from "./lib/util.js";

writeReport(JSON.parse(fs.readFileSync(path.join(BENCH, "results", "latest.json"), "utf8")));
console.log("wrote bench/RESULTS.md and bench/latency.svg from bench/results/latest.json");
