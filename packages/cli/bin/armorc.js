#!/usr/bin/env node
// one bundled file (scripts/bundle.mjs): a short command spends its time loading modules
import { main } from "../dist/bundle/armorc.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    // a bug in armorc itself: say so plainly, without a stack trace unless asked for
    process.stderr.write(`armorc: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.ARMORC_DEBUG) process.stderr.write(`${error instanceof Error ? error.stack : ""}\n`);
    process.stderr.write("this is a bug in armorc; please report it with the input that caused it\n");
    process.exitCode = 70;
  },
);
