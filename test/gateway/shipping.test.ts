/**
 * `--ship-to` on the command line: `armor mcp` ships its audit log to a collector (the service's
 * own run is examples/decision-shipping, test/decision-shipping-example.test.ts), and the
 * shipping options are refused, naming the option, when they cannot work.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { cursorFileOf, lastSeqOf, linesBackwards, readShipCursor, resumePlan, unshippedTail, writeShipCursor } from "../../packages/gateway/src/ship-resume.js";
import { verifyAuditLog } from "../../packages/runtime/src/index.js";
import { type Collector, startCollector } from "../helpers/collector.js";
import { armorBin, assertBuilt, connectGateway, everything, startServe, waitFor } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "armor-ship-cli-"));
const policy = join(work, "p.armor");
beforeAll(() => {
  assertBuilt();
  writeFileSync(policy, 'policy p version "1"\ndefault allow\nrule no when action.type == "get-env" deny\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("shipping options", () => {
  const cases: { args: string[]; error: RegExp }[] = [
    { args: ["--ship-to", "http://127.0.0.1:9/x"], error: /--ship-to sends the audit log's records: give --audit FILE too/ },
    { args: ["--audit", "a.jsonl", "--ship-batch", "5"], error: /--ship-batch tunes decision shipping: it needs --ship-to URL/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "ftp://host/x"], error: /--ship-to is an http\(s\) URL, not `ftp:\/\/host\/x`/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "http://user:pw@host/x"], error: /--ship-to must not hold credentials/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "http://host/x", "--ship-overflow", "block"], error: /--ship-overflow is drop or deny, not `block`/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "http://host/x", "--ship-batch", "0"], error: /--ship-batch must be a positive number of records, not `0`/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "http://host/x", "--ship-interval", "1e3"], error: /--ship-interval must be a positive number of milliseconds/ },
    { args: ["--audit", "a.jsonl", "--ship-to", "http://host/x", "--ship-buffer", "-1"], error: /--ship-buffer must be a positive number of records/ },
  ];
  for (const command of ["serve", "mcp"]) {
    it.each(cases)(`armor ${command} $args`, ({ args, error }) => {
      const tail = command === "mcp" ? ["--", "node", "server.js"] : [];
      const r = spawnSync(process.execPath, [armorBin, command, "--policy", policy, ...args, ...tail], { encoding: "utf8", cwd: work, timeout: 30_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(error);
    });
  }
});

describe("armor mcp --ship-to", () => {
  let c: Collector;
  beforeAll(async () => {
    c = await startCollector();
  });
  afterAll(() => c.stop());

  it("ships every record of the gateway's audit log", { timeout: 60_000 }, async () => {
    const audit = join(work, "mcp-audit.jsonl");
    const token = join(work, "ship.token");
    writeFileSync(token, "s3cret\n");
    const gw = await connectGateway(["--policy", policy, "--audit", audit, "--ship-to", c.url, "--ship-token-file", token, "--ship-interval", "50", "--", ...everything]);
    try {
      for (const message of ["one", "two", "three"]) await gw.client.callTool({ name: "echo", arguments: { message } });
      await gw.client.callTool({ name: "get-env", arguments: {} });
    } finally {
      await gw.close();
    }
    const lines = () => readFileSync(audit, "utf8").split("\n").filter(Boolean);
    await waitFor(() => (c.records.size === lines().length ? true : undefined), 20_000, "every record at the collector");
    expect(verifyAuditLog(c.text()).ok).toBe(true);
    expect(c.records.size).toBe(lines().length);
    expect(c.deliveries.every((d) => d.headers.authorization === "Bearer s3cret")).toBe(true);
    expect(gw.stderr()).toContain(`shipping the audit log's records to ${c.url}`);
  });

  it("names a resumed file's chain by its first record, and counts what it shipped in its metrics", { timeout: 60_000 }, async () => {
    const own = await startCollector();
    onTestFinished(() => own.stop());
    const audit = join(work, "mcp-resumed.jsonl");
    const lines = () => readFileSync(audit, "utf8").split("\n").filter(Boolean);
    for (const run of [1, 2]) {
      const gw = await connectGateway(["--policy", policy, "--audit", audit, "--ship-to", own.url, "--ship-interval", "20", "--metrics-port", "0", "--", ...everything]);
      try {
        await gw.client.callTool({ name: "echo", arguments: { message: `run ${run}` } });
        const url = await waitFor(() => /metrics at (\S+)/.exec(gw.stderr())?.[1], 10_000, "the metrics URL");
        const shipped = () => lines().filter((l) => own.records.has(JSON.parse(l).seq)).length;
        await waitFor(() => (shipped() === lines().length ? true : undefined), 20_000, "the records at the collector");
        const scrape = await waitFor(
          async () => {
            const text = await (await fetch(url)).text();
            const m = /^armor_shipping_records_total\{result="shipped"\} (\d+)$/m.exec(text);
            return m !== null && Number(m[1]) > 0 ? text : undefined;
          },
          10_000,
          "the shipping metrics",
        );
        expect(scrape).toMatch(/^armor_shipping_records_total\{result="dropped"\} 0$/m);
        expect(scrape).toMatch(/^armor_shipping_batches_failed_total\{status="5xx"\} 0$/m);
        expect(scrape).toMatch(/^armor_shipping_buffer_records \d+$/m);
      } finally {
        await gw.close();
      }
    }
    // the second run resumed the file's chain: its batches name the same chain, record 0's hash
    const ids = new Set(own.deliveries.filter((d) => d.headers["x-armor-chain-seq"] !== undefined).map((d) => d.headers["x-armor-chain-id"]));
    expect(ids.has(JSON.parse(lines()[0]!).hash)).toBe(true);
    const resumed = own.deliveries.filter((d) => !String(d.headers["x-armor-chain-seq"]).startsWith("0-"));
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.every((d) => d.headers["x-armor-chain-id"] === JSON.parse(lines()[0]!).hash)).toBe(true);
  });
});

/** The cursor beside `path` when it is one. */
const cursorOf = (path: string) => {
  const c = readShipCursor(path);
  return typeof c === "object" && !("invalid" in c) ? c : undefined;
};

describe("records stored but not shipped when a process dies", () => {
  const decide = async (url: string, type: string): Promise<void> => {
    const res = await fetch(`${url}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action: { type } }) });
    expect(res.status).toBe(200);
  };

  it("are shipped by the next start on the same file, ahead of new ones, and the collector's copy verifies", { timeout: 120_000 }, async () => {
    const c = await startCollector();
    onTestFinished(() => c.stop());
    const audit = join(work, "killed.jsonl");
    const lines = () => readFileSync(audit, "utf8").split("\n").filter(Boolean);
    // the collector takes nothing: the records wait in the buffer, and the process is killed
    c.answer = () => ({ status: 503 });
    const first = await startServe(["--policy", policy, "--audit", audit, "--ship-to", c.url, "--ship-interval", "20"]);
    for (const t of ["a", "b", "c", "d", "e"]) await decide(first.url, t);
    await waitFor(() => (c.deliveries.length > 0 ? true : undefined), 20_000, "a refused batch");
    await first.stop("SIGKILL");
    expect(c.records.size).toBe(0);
    const stored = lines().length;
    expect(stored).toBe(5);
    expect(cursorOf(audit)).toEqual({ chain: null, seq: -1 });

    c.answer = () => null;
    const second = await startServe(["--policy", policy, "--audit", audit, "--ship-to", c.url, "--ship-interval", "20"]);
    try {
      await decide(second.url, "f");
      await waitFor(() => (c.records.size === lines().length ? true : undefined), 20_000, "every record at the collector");
      // in order: the earlier process's records first
      const seqs = c.deliveries.filter((d) => d.status === 200).flatMap((d) => String(d.headers["x-armor-chain-seq"]).split("-").map(Number));
      expect(seqs[0]).toBe(0);
      expect(verifyAuditLog(c.text(), { shipped: true })).toMatchObject({ ok: true, records: lines().length });
      await waitFor(() => (cursorOf(audit)?.seq === lines().length - 1 ? true : undefined), 10_000, "the cursor at the last record");
      expect(second.stderr()).toContain("decision shipping: 5 records stored but not shipped before this start are shipped first");
      expect(cursorOf(audit)!.chain).toBe(JSON.parse(lines()[0]!).hash);
    } finally {
      await second.stop();
    }
    // a third start has nothing to catch up on
    const third = await startServe(["--policy", policy, "--audit", audit, "--ship-to", c.url, "--ship-interval", "20"]);
    await third.stop();
    expect(third.stderr()).not.toContain("stored but not shipped");
    expect(c.duplicates).toBe(0);
  });

  const record = (seq: number): string => JSON.stringify({ seq, kind: "decision", text: "x".repeat(seq % 7) });
  const file = (name: string, text: string): string => {
    const path = join(work, name);
    writeFileSync(path, text);
    return path;
  };
  const five = [0, 1, 2, 3, 4].map(record).join("\n");
  it.each([
    { name: "after a cursor in the middle", text: `${five}\n`, after: 2, most: 10, seqs: [3, 4], skipped: undefined },
    { name: "none shipped yet", text: `${five}\n`, after: -1, most: 10, seqs: [0, 1, 2, 3, 4], skipped: undefined },
    { name: "everything shipped", text: `${five}\n`, after: 4, most: 10, seqs: [], skipped: undefined },
    { name: "a write torn by a kill is not a record", text: `${five}\n{"seq":5,"kin`, after: 2, most: 10, seqs: [3, 4], skipped: undefined },
    { name: "a torn write then the gap record a restart wrote", text: `${five}\n{"seq":5,"kin\n${record(6)}\n`, after: 3, most: 10, seqs: [4, 6], skipped: undefined },
    { name: "more than the buffer's share: the newest, the rest declared", text: `${five}\n`, after: 0, most: 2, seqs: [3, 4], skipped: { count: 2, from: 1, to: 2 } },
    { name: "an empty file", text: "", after: -1, most: 10, seqs: [], skipped: undefined },
  ])("the unshipped tail: $name", ({ name, text, after, most, seqs, skipped }) => {
    const path = file(`tail-${name.replace(/\W+/g, "-")}.jsonl`, text);
    const tail = unshippedTail(path, after, most);
    expect(tail.lines.map((l) => JSON.parse(l).seq)).toEqual(seqs);
    expect(tail.skipped).toEqual(skipped);
  });

  it("reads a tail across the file's 1 MiB chunks, lines longer than a chunk included", () => {
    const long = (seq: number): string => JSON.stringify({ seq, kind: "decision", text: "y".repeat(1_500_000 + seq) });
    const path = file("long-lines.jsonl", `${[0, 1, 2].map(long).join("\n")}\n${record(3)}\n`);
    const tail = unshippedTail(path, 0, 10);
    expect(tail.lines.map((l) => JSON.parse(l).seq)).toEqual([1, 2, 3]);
    expect(tail.lines[0]).toBe(long(1));
    expect(lastSeqOf(path)).toBe(3);
    expect(lastSeqOf(join(work, "missing.jsonl"))).toBe(-1);
  });

  it.each([
    ["not JSON", "{"],
    ["a seq below -1", '{"chain":null,"seq":-2}'],
    ["a chain that is not a hash", '{"chain":"abc","seq":1}'],
    ["a fraction", '{"chain":null,"seq":1.5}'],
    ["an inherited seq", '{"chain":null,"__proto__":{"seq":1}}'],
  ])("a cursor file holding %s is no cursor", (_name, text) => {
    const path = join(work, `cursor-${_name.replace(/\W+/g, "-")}.jsonl`);
    writeFileSync(cursorFileOf(path), text);
    expect(readShipCursor(path)).toEqual({ invalid: expect.any(String) });
    appendFileSync(path, "");
    expect(existsSync(cursorFileOf(path))).toBe(true);
  });

  const chainFile = (name: string, n: number): { path: string; id: string } => {
    const lines = [0, 1, 2, 3, 4, 5].slice(0, n).map(record);
    const path = file(name, lines.length > 0 ? `${lines.join("\n")}\n` : "");
    // record() is not hashed: the plan reads a chain id only through chainIdOfFile, given here
    return { path, id: "c".repeat(64) };
  };
  it.each([
    { name: "no cursor, an empty file", records: 0, cursor: null, after: -1, seqs: [], skipped: undefined, note: null },
    {
      name: "no cursor, records already there: declared as stored before shipping began",
      records: 4,
      cursor: null,
      after: 3,
      seqs: [],
      skipped: { count: 4, from: 0, to: 3 },
      note: /starts after the 4 records already in the audit file/,
    },
    {
      name: "a cursor of this chain",
      records: 5,
      cursor: '{"chain":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","seq":2}',
      after: 2,
      seqs: [3, 4],
      skipped: undefined,
      note: /2 records stored but not shipped/,
    },
    { name: "a cursor of no chain yet, nothing shipped", records: 3, cursor: '{"chain":null,"seq":-1}', after: -1, seqs: [0, 1, 2], skipped: undefined, note: /3 records stored but not shipped/ },
    {
      name: "a cursor of no chain that shipped records: not trusted",
      records: 3,
      cursor: '{"chain":null,"seq":1}',
      after: -1,
      seqs: [0, 1, 2],
      skipped: undefined,
      note: /names no chain: shipping the file's newest records/,
    },
    { name: "a cursor of another chain", records: 3, cursor: `{"chain":"${"d".repeat(64)}","seq":1}`, after: -1, seqs: [0, 1, 2], skipped: undefined, note: /of another chain/ },
    {
      name: "a cursor past the file's end",
      records: 3,
      cursor: `{"chain":"${"c".repeat(64)}","seq":9}`,
      after: -1,
      seqs: [0, 1, 2],
      skipped: undefined,
      note: /past the audit file's last record \(9 > 2\)/,
    },
    { name: "a corrupt cursor", records: 3, cursor: "{not json", after: -1, seqs: [0, 1, 2], skipped: undefined, note: /unusable \(it is not JSON\)/ },
    {
      name: "more than the start takes: the newest, the rest declared",
      records: 6,
      cursor: "none-but-corrupt",
      after: -1,
      seqs: [4, 5],
      skipped: { count: 4, from: 0, to: 3 },
      note: /4 older ones are declared/,
    },
  ])("where shipping resumes: $name", ({ name, records, cursor, after, seqs, skipped, note }) => {
    const { path, id } = chainFile(`plan-${name.replace(/\W+/g, "-")}.jsonl`, records);
    if (cursor !== null) writeFileSync(cursorFileOf(path), cursor);
    const plan = resumePlan(path, records > 0 ? id : undefined, 2 + (records === 6 ? 0 : 10), "http://collector/v1/logs");
    expect(plan.after).toBe(after);
    expect(plan.lines.map((l) => JSON.parse(l).seq)).toEqual(seqs);
    expect(plan.skipped === undefined ? undefined : { count: plan.skipped.count, from: plan.skipped.from, to: plan.skipped.to }).toEqual(skipped);
    if (note === null) expect(plan.note).toBeNull();
    else expect(plan.note).toMatch(note);
  });

  it("reads a line of many chunks back in time linear in its length", () => {
    const big = JSON.stringify({ seq: 1, text: "z".repeat(16 * 1024 * 1024) });
    const path = file("sixteen-mib.jsonl", `${record(0)}\n${big}`);
    const lines = [...linesBackwards(path)];
    expect(lines.length).toBe(2);
    expect(lines[0]!.length).toBe(big.length);
    expect(lines[0] === big).toBe(true);
    expect(lines[1]).toBe(record(0));
  });

  it("writes the cursor through no link planted at its name", () => {
    const path = join(work, "linked.jsonl");
    const elsewhere = join(work, "elsewhere.txt");
    writeFileSync(elsewhere, "untouched");
    symlinkSync(elsewhere, cursorFileOf(path));
    writeShipCursor(path, { chain: null, seq: 3 });
    expect(readFileSync(elsewhere, "utf8")).toBe("untouched");
    expect(lstatSync(cursorFileOf(path)).isSymbolicLink()).toBe(false);
    expect(cursorOf(path)).toEqual({ chain: null, seq: 3 });
  });
});
