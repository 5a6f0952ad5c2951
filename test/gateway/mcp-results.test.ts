/**
 * `armor mcp` decides every tool result before the client reads it: in front of the reference
 * servers (server-filesystem, server-everything), driven by the official SDK client; and the
 * mapping between an MCP tool result and the policy's `result` (tool-result.ts), as a table.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { armorcBin, assertBuilt, connectDirect, connectGateway, everything, filesystem, fixtures, freePort, repoRoot, textOf, waitFor } from "./support.js";

type Mcp = typeof import("../../packages/gateway/src/mcp.js");
let mcp: Mcp;
let work: string;
const policy = join(fixtures, "results.armor");

beforeAll(async () => {
  assertBuilt();
  mcp = (await import(join(repoRoot, "packages", "gateway", "dist", "mcp.js"))) as Mcp;
  work = mkdtempSync(join(tmpdir(), "armor-mcp-results-"));
});

function records(file: string): Record<string, unknown>[] {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function verify(file: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [armorcBin, "audit", "verify", file], { cwd: repoRoot, encoding: "utf8", timeout: 30_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe("the view of an MCP tool result a policy reads, and the result the client gets back", () => {
  const image = { type: "image", data: "aGk=", mimeType: "image/png" };
  // [what, the tool's result, how the policy rewrites the view (or null: unchanged), the client's result]
  const cases: [string, Record<string, unknown>, ((v: Record<string, unknown>) => Record<string, unknown>) | null, Record<string, unknown>][] = [
    ["one text item, unchanged", { content: [{ type: "text", text: "hello" }] }, null, { content: [{ type: "text", text: "hello" }] }],
    [
      "text items around an image keep their places and annotations when unchanged; a text item's _meta, which the policy never read, is not passed",
      { content: [{ type: "text", text: "a\nb", annotations: { priority: 1 } }, image, { type: "text", text: "c", _meta: { hidden: "AKIAIOSFODNN7EXAMPLE" } }] },
      null,
      { content: [{ type: "text", text: "a\nb", annotations: { priority: 1 } }, image, { type: "text", text: "c" }] },
    ],
    [
      "a redaction of the joined text: one text item in the place of the first",
      { content: [image, { type: "text", text: "card 4111" }, { type: "text", text: "more" }] },
      (v) => ({ ...v, text: "card [CARD]\nmore" }),
      { content: [image, { type: "text", text: "card [CARD]\nmore" }] },
    ],
    [
      "structured content rewritten, isError and other fields kept",
      { content: [{ type: "text", text: "{}" }], structuredContent: { a: "x", b: 1 }, isError: true, _meta: { k: 1 } },
      (v) => ({ ...v, structuredContent: { a: "[REDACTED]", b: 1 } }),
      { content: [{ type: "text", text: "{}" }], structuredContent: { a: "[REDACTED]", b: 1 }, isError: true, _meta: { k: 1 } },
    ],
    ["structured content redacted whole is left out", { content: [], structuredContent: { a: 1 } }, (v) => ({ ...v, structuredContent: "[REDACTED]" }), { content: [] }],
    ["content redacted whole: its replacement is a text item", { content: [image] }, (v) => ({ ...v, content: "[REDACTED]" }), { content: [{ type: "text", text: "[REDACTED]" }] }],
    ["text redacted in a result without text items", { content: [image] }, (v) => ({ ...v, text: "[REDACTED]" }), { content: [{ type: "text", text: "[REDACTED]" }, image] }],
  ];
  it.each(cases)("%s", (_what, result, rewrite, expected) => {
    const { view, layout } = mcp.toolResultView(result as never);
    expect(Object.keys(view)).toEqual(expect.arrayContaining(["text", "content", "isError"]));
    // the view is JSON, as a copy of it is what the runtime decides
    const decided = JSON.parse(JSON.stringify(rewrite ? rewrite(view) : view)) as unknown;
    expect(mcp.clientResult(decided, layout)).toEqual(expected);
  });

  it("reads the text items as one text, the other items as content", () => {
    const { view } = mcp.toolResultView({ content: [{ type: "text", text: "a" }, image as never, { type: "text", text: "b" }], structuredContent: { n: 1 } });
    expect(view).toEqual({ text: "a\nb", content: [image], structuredContent: { n: 1 }, isError: false });
  });
});

describe("armor mcp decides tool results", () => {
  it("withholds a file read that holds a credential, naming the rule, never the content", async () => {
    const root = join(work, "files");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "app.env"), "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n");
    writeFileSync(join(root, "notes.txt"), "shopping list\n");
    const audit = join(work, "fs-results.audit.jsonl");
    const gw = await connectGateway(["--policy", policy, "--audit", audit, "--", process.execPath, filesystem, root]);
    try {
      const notes = await gw.client.callTool({ name: "read_text_file", arguments: { path: join(root, "notes.txt") } });
      expect(notes.isError).toBeFalsy();
      expect(textOf(notes)).toContain("shopping list");
      const secret = await gw.client.callTool({ name: "read_text_file", arguments: { path: join(root, "app.env") } });
      expect(secret.isError).toBe(true);
      expect(textOf(secret)).toContain("withheld the result of `read_text_file`");
      expect(textOf(secret)).toContain("rule no_credentials_to_the_model: a tool returned a credential");
      expect(JSON.stringify(secret)).not.toContain("AKIAIOSFODNN7EXAMPLE");
      expect((secret._meta as Record<string, { stage: string; decision: string }>)["agent-armor/decision"]).toMatchObject({ stage: "result", decision: "deny" });
    } finally {
      await gw.close();
    }
    const log = readFileSync(audit, "utf8");
    expect(log).not.toContain("AKIAIOSFODNN7EXAMPLE");
    const results = records(audit).filter((r) => r.kind === "result");
    expect(results.map((r) => [r.decision, (r.rules as { id: string }[]).map((x) => x.id)])).toEqual([
      ["allow", []],
      ["deny", ["no_credentials_to_the_model"]],
    ]);
    expect(verify(audit).status).toBe(0);
  });

  it("redacts text and structured content, and labels from a result decide a later call of the session", async () => {
    const audit = join(work, "everything-results.audit.jsonl");
    const gw = await connectGateway(["--policy", policy, "--audit", audit, "--", process.execPath, ...everything]);
    const direct = await connectDirect(process.execPath, everything);
    try {
      // the client knows the tools' output schemas, so structured content is checked against them
      await gw.client.listTools();
      const plain = await gw.client.callTool({ name: "echo", arguments: { message: "plain words" } });
      expect(plain).toEqual(await direct.callTool({ name: "echo", arguments: { message: "plain words" } }));
      const card = await gw.client.callTool({ name: "echo", arguments: { message: "paid with 4111 1111 1111 1111" } });
      expect(card.isError).toBeFalsy();
      expect(textOf(card)).toBe("Echo: paid with [CARD]");

      const weather = await gw.client.callTool({ name: "get-structured-content", arguments: { location: "New York" } });
      expect(weather.isError).toBeFalsy();
      expect(weather.structuredContent).toEqual({ temperature: 33, conditions: "[REDACTED]", humidity: 82 });
      expect(JSON.parse(textOf(weather))).toEqual({ temperature: 33, conditions: "[REDACTED]", humidity: 82 });

      // before anything fetched: sums run
      expect(textOf(await gw.client.callTool({ name: "get-sum", arguments: { a: 1, b: 2 } }))).toContain("3");
      const fetched = await gw.client.callTool({ name: "gzip-file-as-resource", arguments: { name: "x.gz", data: "data:text/plain;base64,aGVsbG8=", outputType: "resourceLink" } });
      expect(fetched.isError).toBeFalsy();
      expect((fetched.content as { type: string }[]).map((c) => c.type)).toEqual(["resource_link"]);
      expect((fetched._meta as Record<string, unknown> | undefined)?.["agent-armor/decision"]).toBeUndefined();
      // the result's label is the session's: the same call now needs a human (none is configured)
      const after = await gw.client.callTool({ name: "get-sum", arguments: { a: 1, b: 2 } });
      expect(after.isError).toBe(true);
      expect(textOf(after)).toContain("rule no_sums_after_untrusted_input: the agent read fetched content in this session");
      expect(textOf(after)).toContain("no approval handler is configured");
    } finally {
      await direct.close();
      await gw.close();
    }
    const all = records(audit);
    expect(all.map((r) => r.kind).filter((k) => k !== "gap")).toEqual([
      ...["decision", "outcome", "result"], // echo
      ...["decision", "outcome", "result"], // echo with a card
      ...["decision", "outcome", "result"], // get-structured-content
      ...["decision", "outcome", "result"], // get-sum
      ...["decision", "outcome", "result"], // gzip-file-as-resource
      "decision", // get-sum, denied
    ]);
    const results = all.filter((r) => r.kind === "result");
    expect(results.map((r) => r.redacted)).toEqual([[], ["result.text"], ["result.text", "result.structuredContent.conditions"], [], []]);
    expect(results[4]!.labels).toEqual(["untrusted"]);
    // result records hold hashes and paths, never what the tool returned
    expect(JSON.stringify(results)).not.toMatch(/Echo:|Cloudy|resource_link/);
    const v = verify(audit);
    expect(v.out).toMatch(/ok|verified/i);
    expect(v.status).toBe(0);
  });

  it("asks the approval queue about a result, shows it as it would be returned, and returns it only when approved", async () => {
    const port = await freePort();
    const audit = join(work, "result-approvals.audit.jsonl");
    const gw = await connectGateway(["--policy", policy, "--audit", audit, "--approvals", "queue", "--approvals-port", String(port), "--", process.execPath, ...everything]);
    const base = `http://127.0.0.1:${port}/approvals`;
    const json = { "content-type": "application/json" };
    type Pending = { id: string; stage: string; value: { text: string }; valueHash: string; from: string };
    const next = (): Promise<Pending> => waitFor(async () => ((await (await fetch(base)).json()) as { pending: Pending[] }).pending[0], 10_000, "a pending result");
    try {
      const call = gw.client.callTool({ name: "echo", arguments: { message: "review 4111 1111 1111 1111" } });
      const pending = await next();
      expect(pending.stage).toBe("result");
      expect(pending.from).toBe("ops");
      // the approver sees the result as it would be returned: redacted
      expect(pending.value.text).toBe("Echo: review [CARD]");
      const stale = await fetch(`${base}/${pending.id}`, { method: "POST", headers: json, body: JSON.stringify({ approved: true, valueHash: "0".repeat(64) }) });
      expect(stale.status).toBe(409);
      const ok = await fetch(`${base}/${pending.id}`, { method: "POST", headers: json, body: JSON.stringify({ approved: true, approver: "alice", valueHash: pending.valueHash }) });
      expect(ok.status).toBe(200);
      const approved = await call;
      expect(approved.isError).toBeFalsy();
      expect(textOf(approved)).toBe("Echo: review [CARD]");

      const second = gw.client.callTool({ name: "echo", arguments: { message: "review this" } });
      const p2 = await next();
      await fetch(`${base}/${p2.id}`, { method: "POST", headers: json, body: JSON.stringify({ approved: false, approver: "bob", note: "no" }) });
      const rejected = await second;
      expect(rejected.isError).toBe(true);
      expect(textOf(rejected)).toContain("withheld the result of `echo`");
      expect(textOf(rejected)).toContain("rule results_to_review: a human reads it first");
      expect(textOf(rejected)).not.toContain("review this");
    } finally {
      await gw.close();
    }
    const results = records(audit).filter((r) => r.kind === "result");
    expect(results.map((r) => [r.decision, (r.approval as { outcome: string } | null)?.outcome])).toEqual([
      ["allow", "approved"],
      ["deny", "rejected"],
    ]);
    expect(verify(audit).status).toBe(0);
  });
});
