import { compileSource } from "@agent-armor/compiler";
import { diffPolicies, renderDiff } from "@agent-armor/analysis";
import { readFileSync } from "node:fs";
const [a, b] = process.argv.slice(2).map((f) => compileSource(f, readFileSync(f, "utf8")));
const t = Date.now();
const r = await diffPolicies(a, b);
process.stdout.write(renderDiff(r, "text"));
console.log(Date.now() - t, "ms");
