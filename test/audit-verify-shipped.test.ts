/**
 * `armorc audit verify --shipped`: a collector's copy of shipped chains verifies when every record
 * it lacks is declared by a later `shipping` record (dropped from a full buffer, or refused), and
 * a collector's file may hold several chains one after the other, each whole to its end.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AuditFields, callbackSink, createAuditLog, verifyAuditLog } from "@agent-armor/runtime";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./gateway/support.js";

const armorcBin = join(repoRoot, "packages", "cli", "bin", "armorc.js");
const armorc = (args: string[]) => {
  const r = spawnSync(process.execPath, [armorcBin, "audit", "verify", ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** A chain of `n` decision records, with the extra records given by seq appended in their place. */
async function chain(n: number, extra: Record<number, AuditFields> = {}, session = "s"): Promise<string[]> {
  const lines: string[] = [];
  const log = createAuditLog({ sinks: [callbackSink((_record, line) => void lines.push(line))] });
  for (let seq = 0; seq < n; seq++) {
    const fields = extra[seq] ?? { kind: "decision", decisionId: `d${seq}`, time: "2026-12-07T00:00:00.000Z", session, decision: "allow" };
    await log.append(fields);
  }
  await log.close();
  return lines.map((l) => l.replace(/\n$/, ""));
}

const shipping = (dropped: number, from: number, to: number): AuditFields => ({
  kind: "shipping",
  decisionId: `shipping-dropped-${from}-${to}`,
  time: "2026-12-07T00:00:01.000Z",
  dropped,
  from,
  to,
  reason: "the decision shipping buffer was full",
});

let work: string;
const files: Record<string, string> = {};
const put = (name: string, lines: string[]): void => {
  files[name] = join(work, `${name}.jsonl`);
  writeFileSync(files[name]!, `${lines.join("\n")}\n`);
};
const without = (lines: string[], seqs: number[]): string[] => lines.filter((_l, i) => !seqs.includes(i));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "armor-audit-shipped-"));
  const a = await chain(6, { 4: shipping(2, 2, 3) });
  const b = await chain(4, {}, "other");
  put("whole", a);
  put("declared", without(a, [2, 3]));
  put("undeclared", without(a, [1]));
  put("over-declared", without(a, [1, 2, 3]));
  put("two-chains", [...a, ...b]);
  put("two-chains-first-cut", [...without(await chain(6), [2]), ...b]);
  put("same-chain-twice", [...a, ...a]);
  put("two-chains-declared", [...without(a, [2, 3]), ...without(b, [])]);
});

describe("armorc audit verify --shipped", () => {
  const cases: { name: string; args: () => string[]; status: number; stdout?: RegExp; stderr?: RegExp }[] = [
    { name: "a whole copy", args: () => ["--shipped", files.whole!], status: 0, stdout: /^ok: 6 records\n {2}chain [0-9a-f]{64}: from line 1, last seq 5, head [0-9a-f]{64}\n$/ },
    {
      name: "records a later shipping record declares dropped are accepted, and listed",
      args: () => ["--shipped", files.declared!],
      status: 0,
      stdout: /^ok: 4 records \(line 3: shipping record, records 2–3 not shipped \(the decision shipping buffer was full\)\)\n {2}chain [0-9a-f]{64}: from line 1, last seq 5, head [0-9a-f]{64}\n$/,
    },
    { name: "the same copy without --shipped is a local chain missing records", args: () => [files.declared!], status: 1, stderr: /deleted|missing/ },
    {
      name: "a record no shipping record declares",
      args: () => ["--shipped", files.undeclared!],
      status: 1,
      stderr: /undeclared\.jsonl:2: record 1 is missing before record 2, and no shipping record after it declares them dropped or refused/,
    },
    { name: "more missing than the shipping record declares", args: () => ["--shipped", files["over-declared"]!], status: 1, stderr: /records 1–3 are missing/ },
    {
      name: "two chains one after the other",
      args: () => ["--shipped", files["two-chains"]!],
      status: 0,
      stdout: /^ok: 10 records in 2 chains\n {2}chain [0-9a-f]{64}: from line 1, last seq 5, head [0-9a-f]{64}\n {2}chain [0-9a-f]{64}: from line 7, last seq 3, head [0-9a-f]{64}\n$/,
    },
    { name: "two chains, the second's start is not taken as a local chain's", args: () => [files["two-chains"]!], status: 1 },
    {
      name: "a chain cut before the next one starts",
      args: () => ["--shipped", files["two-chains-first-cut"]!],
      status: 1,
      stderr: /two-chains-first-cut\.jsonl:3: record 2 is missing before record 3, and no shipping record after it declares them/,
    },
    {
      name: "a declared range in the first of two chains",
      args: () => ["--shipped", files["two-chains-declared"]!],
      status: 0,
      stdout: /^ok: 8 records in 2 chains \(line 3: shipping record, records 2–3 not shipped/,
    },
    { name: "a folder of copies", args: () => ["--shipped", work], status: 1, stdout: /8 files: 4 verified, 4 not\n$/ },
    { name: "a chain that appears twice", args: () => ["--shipped", files["same-chain-twice"]!], status: 1, stderr: /same-chain-twice\.jsonl:7: record 0 starts chain [0-9a-f]{12} a second time/ },
    { name: "--sink and --shipped together", args: () => ["--shipped", "--sink", "file x", files.whole!], status: 2, stderr: /give one of them/ },
  ];
  it.each(cases)("$name", ({ args, status, stdout, stderr }) => {
    const r = armorc(args());
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status });
    if (stdout) expect(r.stdout).toMatch(stdout);
    if (stderr) expect(r.stderr).toMatch(stderr);
  });

  it("the runtime's verifyAuditLog counts the chains of a shipped copy", async () => {
    const a = await chain(3);
    const b = await chain(2, {}, "b");
    expect(verifyAuditLog(`${[...a, ...b].join("\n")}\n`, { shipped: true })).toMatchObject({ ok: true, records: 5, chains: 2 });
    expect(verifyAuditLog(`${a.join("\n")}\n`)).toMatchObject({ ok: true, chains: 1 });
    expect(verifyAuditLog("")).toMatchObject({ ok: true, chains: 0 });
    // a copy is as good as its heads: the last record of each chain
    const last = (lines: string[]) => JSON.parse(lines[lines.length - 1]!) as { seq: number; hash: string };
    expect(verifyAuditLog(`${[...a, ...b].join("\n")}\n`, { shipped: true }).heads).toEqual([
      { chain: JSON.parse(a[0]!).hash, line: 1, last: last(a).seq, hash: last(a).hash },
      { chain: JSON.parse(b[0]!).hash, line: 4, last: last(b).seq, hash: last(b).hash },
    ]);
  });
});
