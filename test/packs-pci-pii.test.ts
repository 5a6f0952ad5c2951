/**
 * The packs `armor:pci` and `armor:pii` (docs/packs/pci.md, docs/packs/pii.md): their own test
 * suites pass and cover every rule, and an importer that sets their parameters decides as the
 * tables below say, in the compiled module and the interpreter alike, at every stage.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileSource, emit, nodeHost } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { runSuite } from "../packages/compiler/src/testing/runner.js";

type Stage = "call" | "result" | "output";

interface Case {
  name: string;
  stage?: Stage;
  input: Record<string, unknown>;
  decision: "allow" | "deny" | "require_approval";
  rules: string[];
  /** the rules that erred (a decision that cannot be evaluated denies, naming them) */
  errors?: string[];
  /** the rewritten value: the action's, result's or output's field `F` must equal this */
  rewritten?: Record<string, unknown>;
}

export async function compiledPolicy(text: string) {
  const c = compileSource("/project/main.armor", text, { readFile: nodeHost.readFile, packFile: nodeHost.packFile });
  expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return { policy: c.policy, module: await loadModule(emit(c).js) };
}

export async function decideBoth(text: string, stage: Stage, input: Record<string, unknown>) {
  const { policy, module } = await compiledPolicy(text);
  const compiled = stage === "call" ? module.decide(input) : stage === "result" ? module.decideResult(input) : module.decideOutput(input);
  const interpreted = evaluatePolicy(policy, input, { stage }).result;
  expect(JSON.stringify(interpreted)).toBe(JSON.stringify(compiled));
  return compiled;
}

function checkCases(importer: string, cases: Case[]) {
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const stage = c.stage ?? "call";
    const d = await decideBoth(importer, stage, c.input);
    expect({ decision: d.decision, rules: d.rules.map((r) => r.id), errors: d.errors.map((e) => e.rule) }).toEqual({ decision: c.decision, rules: c.rules, errors: c.errors ?? [] });
    if (c.rewritten !== undefined) {
      const value = (stage === "call" ? d.action : stage === "result" ? d.result : d.output) as Record<string, unknown>;
      for (const [k, v] of Object.entries(c.rewritten)) expect(value[k]).toEqual(v);
    }
  });
}

describe.each(["pci", "pii"])("armor:%s's own tests", (name) => {
  it("pass, and each rule is seen firing and not firing", async () => {
    const file = nodeHost.packFile!(name)!;
    const testFile = file.replace(/\.armor$/, ".test.armor");
    const suite = await runSuite({ policyFile: file, policyText: nodeHost.readFile(file)!, testFiles: [{ file: testFile, text: nodeHost.readFile(testFile)! }] });
    expect(suite.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
    expect(suite.results.length).toBeGreaterThanOrEqual(10);
    expect(suite.results.filter((r) => !r.passed).map((r) => r.test.name)).toEqual([]);
    for (const c of suite.coverage) expect({ id: c.id, fired: c.fired > 0, notFired: c.notFired > 0 }).toEqual({ id: c.id, fired: true, notFired: true });
  });
});

describe("armorc test on a policy that imports the packs", () => {
  it("runs each pack's own tests beside the importer's, and they pass", () => {
    const dir = mkdtempSync(join(tmpdir(), "armor-packs-"));
    try {
      writeFileSync(
        join(dir, "agent.armor"),
        'default allow\nimport "armor:pci" as pci with { allowed_hosts: ["api.processor.example"] }\nimport "armor:pii" as pii\n\ntest "a charge to the processor passes" {\n  action { type: "http_post", url: "https://api.processor.example/v1", card: "4111 1111 1111 1111" }\n  expect allow\n}\n',
      );
      const bin = join(__dirname, "..", "packages", "cli", "bin", "armorc.js");
      const r = spawnSync(process.execPath, [bin, "test", "agent.armor", "--reporter", "json"], { cwd: dir, encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const report = JSON.parse(r.stdout) as { suites: { policy: string; tests: { name: string; status: string }[] }[] };
      const suites = new Map(report.suites.map((s) => [s.policy.replace(/^.*\//, ""), s.tests]));
      expect([...suites.keys()].sort()).toEqual(["agent.armor", "pci.armor", "pii.armor"]);
      for (const name of ["pci.armor", "pii.armor"]) {
        expect(suites.get(name)!.length).toBeGreaterThanOrEqual(10);
        expect(suites.get(name)!.filter((t) => t.status !== "passed")).toEqual([]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the packs under an importer's closed schema", () => {
  it("compile without errors: their fields of results are read without assuming their types", () => {
    const schema = JSON.stringify({
      oneOf: [
        {
          type: "object",
          properties: { type: { const: "read_file" }, path: { type: "string" } },
          required: ["type", "path"],
          additionalProperties: false,
          result: { type: "object", properties: { content: { type: "string" }, isError: { type: "string" } }, additionalProperties: false },
        },
      ],
    });
    const files: Record<string, string> = { "/project/s.json": schema };
    const c = compileSource("/project/main.armor", 'schema "s.json"\ndefault allow\nimport "armor:pci" as pci with { messaging_tools: [] }\nimport "armor:pii" as pii with { messaging_tools: [] }\n', {
      readFile: (p) => (Object.hasOwn(files, p) ? files[p] : nodeHost.readFile(p)),
      packFile: nodeHost.packFile,
    });
    expect(c.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`)).toEqual([]);
  });
});

const CARD = "4111 1111 1111 1111";
const PCI = `default allow
import "armor:pci" as pci with { allowed_hosts: ["api.processor.example", "vault.example"], card_tools: ["tokenize"], messaging_tools: ["send_email", "notify"] }
`;

describe("armor:pci with parameters", () => {
  checkCases(PCI, [
    { name: "a PAN to the processor", input: { action: { type: "http_post", url: "https://api.processor.example/v1/charges", body: { card: CARD } } }, decision: "allow", rules: [] },
    {
      name: "a PAN to the processor, host spelled in capitals with a port",
      input: { action: { type: "http_post", url: "https://API.Processor.Example:443/v1", card: CARD } },
      decision: "allow",
      rules: [],
    },
    {
      name: "a PAN to a host that only starts like the processor's",
      input: { action: { type: "http_post", url: "https://api.processor.example.evil.com/", card: CARD } },
      decision: "deny",
      rules: ["pci.pan_only_to_allowed_hosts"],
    },
    {
      name: "a PAN to the processor with a second URL elsewhere",
      input: { action: { type: "http_post", url: "https://api.processor.example/v1", callback: "https://evil.example/hook", card: CARD } },
      decision: "deny",
      rules: ["pci.pan_only_to_allowed_hosts"],
    },
    {
      name: "a PAN with user info naming the processor",
      input: { action: { type: "http_post", url: "https://api.processor.example@evil.example/", card: CARD } },
      decision: "deny",
      rules: ["pci.pan_only_to_allowed_hosts"],
    },
    { name: "a PAN to a tokenization tool", input: { action: { type: "tokenize", pan: "4111111111111111" } }, decision: "allow", rules: [] },
    {
      name: "a PAN in a notification, even naming an allowed host",
      input: { action: { type: "notify", url: "https://vault.example/", text: `card ${CARD}` } },
      decision: "deny",
      rules: ["pci.no_pan_in_messages"],
    },
    {
      name: "a PAN in a tool named in the default messaging list but not in this one",
      input: { action: { type: "slack_post", text: CARD } },
      decision: "deny",
      rules: ["pci.pan_only_to_allowed_hosts"],
    },
    { name: "an Amex PAN in a database insert", input: { action: { type: "db_insert", row: { card: "3782-822463-10005" } } }, decision: "deny", rules: ["pci.pan_only_to_allowed_hosts"] },
    { name: "a Luhn-failing number to anywhere", input: { action: { type: "http_post", url: "https://evil.example/", n: "4111 1111 1111 1112" } }, decision: "allow", rules: [] },
    { name: "a PAN as an object key", input: { action: { type: "http_post", url: "https://evil.example/", data: { [CARD]: true } } }, decision: "deny", rules: ["pci.pan_only_to_allowed_hosts"] },
    {
      name: "a text result",
      stage: "result",
      input: { action: { type: "lookup" }, result: { text: `card ${CARD} exp 12/27` } },
      decision: "allow",
      rules: ["pci.mask_pan_in_result"],
      rewritten: { text: "card [CARD] exp 12/27" },
    },
    {
      name: "two PANs in a text result",
      stage: "result",
      input: { action: { type: "lookup" }, result: { text: "4111111111111111 and 5500 0000 0000 0004" } },
      decision: "allow",
      rules: ["pci.mask_pan_in_result"],
      rewritten: { text: "[CARD] and [CARD]" },
    },
    {
      name: "an MCP result with an image beside the text",
      stage: "result",
      input: { action: { type: "lookup" }, result: { text: CARD, content: [{ type: "image", data: "AAAA" }], isError: false } },
      decision: "deny",
      rules: ["pci.withhold_pan_in_result"],
    },
    {
      name: "a result with a number that is not JSON-text",
      stage: "result",
      input: { action: { type: "lookup" }, result: { text: CARD, n: 1 } },
      decision: "deny",
      rules: ["pci.withhold_pan_in_result"],
    },
    {
      name: "a result whose text is not a string",
      stage: "result",
      input: { action: { type: "lookup" }, result: { text: [CARD] } },
      decision: "deny",
      rules: [],
      errors: ["pci.mask_pan_in_result", "pci.withhold_pan_in_result"],
    },
    { name: "a message", stage: "output", input: { output: { text: `charged ${CARD}` } }, decision: "allow", rules: ["pci.mask_pan_in_output"], rewritten: { text: "charged [CARD]" } },
    { name: "a message with a copy of its text in another field", stage: "output", input: { output: { text: CARD, plain: CARD } }, decision: "deny", rules: ["pci.withhold_pan_in_output"] },
  ]);
});

describe("armor:pci with results and messages withheld", () => {
  checkCases(`default allow\nimport "armor:pci" as pci with { in_results: "withhold", in_output: "withhold", mask_text: "****" }\n`, [
    { name: "a text result", stage: "result", input: { action: { type: "lookup" }, result: { text: CARD } }, decision: "deny", rules: ["pci.withhold_pan_in_result"] },
    { name: "a message", stage: "output", input: { output: { text: CARD } }, decision: "deny", rules: ["pci.withhold_pan_in_output"] },
    { name: "a clean message", stage: "output", input: { output: { text: "ok" } }, decision: "allow", rules: [] },
  ]);
  checkCases(`default allow\nimport "armor:pci" as pci with { mask_text: "****" }\n`, [
    {
      name: "a message masked with the importer's text",
      stage: "output",
      input: { output: { text: `card ${CARD}.` } },
      decision: "allow",
      rules: ["pci.mask_pan_in_output"],
      rewritten: { text: "card ****." },
    },
  ]);
});

const PII = `default allow
import "armor:pii" as pii with { internal_domains: ["@example.com", "@eu.example.com"], processor_hosts: ["crm.example"], exempt_tools: ["hr_store"] }
`;
const SSN = "ssn 123-45-6789";
const ext = ["pii.approve_personal_data_to_external"];
const mail = (fields: Record<string, unknown>) => ({ action: { type: "send_email", body: SSN, ...fields } });

describe("armor:pii with parameters", () => {
  checkCases(PII, [
    { name: "to an internal address", input: mail({ to: "bob@example.com" }), decision: "allow", rules: [] },
    { name: "to internal addresses of two domains, in lists", input: mail({ to: ["bob@example.com"], cc: ["eve@eu.example.com"], bcc: [] }), decision: "allow", rules: [] },
    { name: "to an internal address in capitals", input: mail({ to: "Bob@EXAMPLE.com" }), decision: "allow", rules: [] },
    { name: "with an external cc", input: mail({ to: "bob@example.com", cc: "eve@other.example" }), decision: "require_approval", rules: ext },
    { name: "with an external bcc", input: mail({ to: "bob@example.com", bcc: ["eve@other.example"] }), decision: "require_approval", rules: ext },
    { name: "to a domain that ends like an internal one", input: mail({ to: "bob@notexample.com" }), decision: "require_approval", rules: ext },
    { name: "to a domain with an internal one as a prefix", input: mail({ to: "bob@example.com.evil.org" }), decision: "require_approval", rules: ext },
    { name: "to two addresses in one string", input: mail({ to: "eve@other.example,bob@example.com" }), decision: "require_approval", rules: ext },
    { name: "to an address with a display name", input: mail({ to: "Bob <bob@example.com>" }), decision: "require_approval", rules: ext },
    { name: "to an address with two @", input: mail({ to: "eve@other.example@example.com" }), decision: "require_approval", rules: ext },
    { name: "to a recipient object", input: mail({ to: { address: "bob@example.com" } }), decision: "require_approval", rules: ext },
    { name: "with no recipient named", input: mail({ channel: "#general" }), decision: "require_approval", rules: ext },
    { name: "a message to an external address without personal data", input: mail({ to: "eve@other.example", body: "see you at 10" }), decision: "allow", rules: [] },
    { name: "a third person's address in the body of an external mail", input: mail({ to: "eve@other.example", body: "write to alice@example.org" }), decision: "require_approval", rules: ext },
    { name: "personal data to the processor", input: { action: { type: "http_post", url: "https://crm.example/leads", email: "alice@example.org" } }, decision: "allow", rules: [] },
    {
      name: "personal data to a host named like the processor in user info",
      input: { action: { type: "http_post", url: "https://crm.example@evil.example/", email: "alice@example.org" } },
      decision: "require_approval",
      rules: ["pii.approve_personal_data_to_unlisted_hosts"],
    },
    { name: "personal data to an exempt tool with a URL", input: { action: { type: "hr_store", url: "https://evil.example/", ssn: "123-45-6789" } }, decision: "allow", rules: [] },
    {
      name: "a message",
      stage: "output",
      input: { output: { text: "mail alice@example.org or call (212) 555-0100" } },
      decision: "allow",
      rules: ["pii.mask_emails_in_output", "pii.mask_phones_in_output"],
      rewritten: { text: "mail [EMAIL] or call [PHONE]" },
    },
  ]);
  checkCases(`default allow\nimport "armor:pii" as pii with { mask_output: false }\n`, [
    { name: "a message with masking turned off", stage: "output", input: { output: { text: "mail alice@example.org" } }, decision: "allow", rules: [], rewritten: { text: "mail alice@example.org" } },
  ]);
});
