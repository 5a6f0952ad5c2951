#!/usr/bin/env node
// `armor`: the Agent Armor gateway (`armor mcp`) and decision service (`armor serve`).
// one bundled file (scripts/bundle.mjs): a short command spends its time loading modules
import { main } from "../dist/bundle/armor.js";

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`armor: internal error: ${e instanceof Error ? (process.env.ARMOR_DEBUG ? e.stack : e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);
