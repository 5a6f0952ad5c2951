/** `armorc audit verify FILE|FOLDER...`: check the hash chains of audit logs written by @agent-armor/runtime, one chain per file. */

import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { type Output, UsageError } from "../io.js";
import type { Command } from "./main.js";

export const runAudit: Command = {
  name: "audit",
  summary: "verify a tamper-evident audit log",
  usage: "armorc audit verify FILE|FOLDER... [--sink NAME | --shipped]",
  help: [
    "Checks every record's hash and the chain of seq and prev from the first record to the last,",
    "and names the first record that was edited, deleted, inserted or reordered. A final line cut",
    "off by a crash (a torn write) is ignored: every whole record before it still counts. Gap",
    "records (written after an audit sink failed) are listed with the records they account for.",
    "",
    "Several files, or a folder (its `*.jsonl` files, by name), are several chains: each process",
    "keeps its own (`armor serve --audit 'audit/serve-{host}-{pid}.jsonl'`), and each is checked",
    "on its own and reported per file.",
    "",
    "Options:",
    "  --sink NAME   this file is the copy of the sink NAME (as gap records name sinks, e.g.",
    "                `file audit.jsonl`): records a gap record declares missing from that sink",
    "                are accepted as missing. Without it, only a log holding every record verifies.",
    "                With one file only.",
    "  --shipped     the files are a collector's copies of shipped chains (`--ship-to`): records",
    "                missing from a copy are accepted where a later `shipping` record declares",
    "                them dropped from a full buffer or refused by the collector, and a file may",
    "                hold several chains one after the other, each from its record 0 (replicas,",
    "                or a new file after a restart); each must be whole to its last record.",
    "                Each chain's id, last seq and head hash are printed: the copy is to be",
    "                trusted as far as each head matches the chain its process wrote (whoever",
    "                holds a copy can cut its newest records or write and hash new ones).",
    "",
    "The file is read in chunks, so logs of any size verify in constant memory; on a terminal, a",
    "progress bar is drawn on stderr.",
    "",
    "Prints `ok: N records` to stdout, or `FILE:LINE: problem` to stderr; with several files, each",
    "file's line starts with its name, and a last line counts the files that verified.",
    "",
    "Exit code 0 when every log is intact, 1 when one is not, 2 when a file cannot be read.",
  ].join("\n"),
  options: { sink: { type: "string" }, shipped: { type: "boolean" } },
  async run({ values, positionals }, io) {
    const [sub, ...paths] = positionals;
    if (sub !== "verify") throw new UsageError(sub === undefined ? "name a subcommand: verify" : `unknown subcommand \`${sub}\`; the only one is \`verify\``);
    if (paths.length === 0) throw new UsageError("name the audit log file (or files, or a folder) to verify");
    const sink = values.sink as string | undefined;
    const shipped = values.shipped === true;
    if (sink !== undefined && shipped) throw new UsageError("--sink verifies one sink's copy of a local chain and --shipped a collector's copy: give one of them");
    const files = await logFiles(paths, io);
    if (files === null) return 2;
    if (files.length === 1 && paths.length === 1 && files[0] === paths[0]) return verifyOne(files[0]!, { sink, shipped }, io, "");
    if (sink !== undefined) throw new UsageError("--sink names the sink of one file; verify the files one by one");
    let worst = 0;
    let intact = 0;
    for (const file of files) {
      const code = await verifyOne(file, { sink: undefined, shipped }, io, `${file}: `);
      if (code === 0) intact++;
      worst = Math.max(worst, code);
    }
    io.stdout.write(`${files.length} files: ${intact} verified${intact < files.length ? `, ${files.length - intact} not` : ""}\n`);
    return worst;
  },
};

/** The files to verify: each path as given, a folder as its `*.jsonl` files by name; null when a folder cannot be read or has none. */
async function logFiles(paths: readonly string[], io: { stderr: Output }): Promise<string[] | null> {
  const out: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (info === null || !info.isDirectory()) {
      out.push(path);
      continue;
    }
    const names = (await readdir(path)).filter((n) => n.endsWith(".jsonl")).sort();
    if (names.length === 0) {
      io.stderr.write(`armorc audit: \`${path}\` holds no audit log (*.jsonl)\n`);
      return null;
    }
    out.push(...names.map((n) => join(path, n)));
  }
  return out;
}

/** Verifies one chain and reports it (each line after `label`, with several files); the exit code. */
async function verifyOne(file: string, how: { sink: string | undefined; shipped: boolean }, io: { stdout: Output; stderr: Output }, label: string): Promise<number> {
  const { sink, shipped } = how;
  // loaded here, not at the top, so that the other commands never load the runtime
  const { verifyAuditLogFile } = await import("@agent-armor/runtime");
  const progress = io.stderr.isTTY === true ? progressBar(io.stderr) : null;
  let result: Awaited<ReturnType<typeof verifyAuditLogFile>>;
  try {
    result = await verifyAuditLogFile(file, { ...(progress ? { onProgress: progress.update } : {}), ...(sink !== undefined ? { sink } : {}), ...(shipped ? { shipped } : {}) });
  } catch (e) {
    progress?.clear();
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : (e as Error).message;
    io.stderr.write(`armorc audit: cannot read \`${file}\`: ${why}\n`);
    return 2;
  }
  progress?.clear();
  if (result.problem) {
    const { line, message } = result.problem;
    // the location is already in front: drop the message's own "(line N)"
    io.stderr.write(`${file}:${line}: ${message.replace(` (line ${line})`, "")}\n`);
    io.stderr.write(`${label}${result.records} ${result.records === 1 ? "record" : "records"} verified before the problem\n`);
    return 1;
  }
  const torn = result.tornLines;
  const notes: string[] = [];
  if (torn.length > 0) notes.push(`${torn.length === 1 ? "line" : "lines"} ${torn.join(", ")}: ${torn.length === 1 ? "a write" : "writes"} torn by a crash, ignored`);
  for (const g of result.gaps) {
    const missing = g.from === null ? "" : `, records ${g.from}–${g.to} missing here`;
    // a shipped copy's missing range is declared by a shipping record, not a gap record
    const declared = g.shipping === true ? `line ${g.line}: shipping record, records ${g.from}–${g.to} not shipped` : `line ${g.line}: gap record, ${g.lost} lost${missing}`;
    notes.push(`${declared}${g.reason ? ` (${g.reason})` : ""}`);
  }
  const chains = shipped && result.chains > 1 ? ` in ${result.chains} chains` : "";
  io.stdout.write(`${label}ok: ${result.records} ${result.records === 1 ? "record" : "records"}${chains}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}\n`);
  // a copy is as good as its heads: each to be compared with the head of the chain its process wrote
  for (const h of result.heads) {
    io.stdout.write(`${label}  chain ${h.chain ?? "(its record 0 is missing)"}: from line ${h.line}, last seq ${h.last}, head ${h.hash}\n`);
  }
  return 0;
}

/** A one-line progress bar on a terminal, redrawn at most ten times a second. */
function progressBar(out: Output): { update: (done: number, total: number) => void; clear: () => void } {
  let drawn = false;
  let lastDraw = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - lastDraw < 100 && done < total) return;
      lastDraw = now;
      const share = total > 0 ? Math.min(1, done / total) : 1;
      const width = 30;
      const filled = Math.round(share * width);
      const mb = (n: number): string => (n / 1e6).toFixed(1);
      out.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${mb(done)}/${mb(total)} MB`);
      drawn = true;
    },
    clear() {
      if (drawn) out.write("\r\x1b[K");
      drawn = false;
    },
  };
}
