/** `armorc audit verify FILE`: check the hash chain of an audit log written by @agent-armor/runtime. */
import { readFileSync } from "node:fs";
import type { Command } from "./main.js";
import { UsageError } from "./io.js";

export const runAudit: Command = {
  name: "audit",
  summary: "verify a tamper-evident audit log",
  usage: "armorc audit verify FILE",
  help: [
    "Checks every record's hash and the chain of seq and prev from the first record to the last,",
    "and names the first record that was edited, deleted, inserted or reordered. A final line cut",
    "off by a crash (a torn write) is ignored: every whole record before it still counts.",
    "",
    "Prints `ok: N records` to stdout, or `FILE:LINE: problem` to stderr.",
    "",
    "Exit code 0 when the log is intact, 1 when it is not, 2 when the file cannot be read.",
  ].join("\n"),
  options: {},
  async run({ positionals }, io) {
    const [sub, file, ...extra] = positionals;
    if (sub !== "verify") throw new UsageError(sub === undefined ? "name a subcommand: verify" : `unknown subcommand \`${sub}\`; the only one is \`verify\``);
    if (file === undefined) throw new UsageError("name the audit log file to verify");
    if (extra.length > 0) throw new UsageError(`verify takes one file, not ${1 + extra.length}`);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
      io.stderr.write(`armorc audit: cannot read \`${file}\`: ${why}\n`);
      return 2;
    }
    // loaded here, not at the top, so that the other commands never load the runtime
    const { verifyAuditLog } = await import("@agent-armor/runtime");
    const result = verifyAuditLog(text);
    if (result.problem) {
      const { line, message } = result.problem;
      // the location is already in front: drop the message's own "(line N)"
      io.stderr.write(`${file}:${line}: ${message.replace(` (line ${line})`, "")}\n`);
      io.stderr.write(`${result.records} ${result.records === 1 ? "record" : "records"} verified before the problem\n`);
      return 1;
    }
    const torn = result.tornLines;
    const note =
      torn.length === 0
        ? ""
        : ` (${torn.length === 1 ? "line" : "lines"} ${torn.join(", ")}: ${torn.length === 1 ? "a write" : "writes"} torn by a crash, ignored)`;
    io.stdout.write(`ok: ${result.records} ${result.records === 1 ? "record" : "records"}${note}\n`);
    return 0;
  },
};
