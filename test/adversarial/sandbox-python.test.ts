/**
 * Python that attacks the sandbox. Pyodide in Node reaches the host unless the process is locked
 * down (its os.system spawns a shell, its sockets connect, Python reaches JavaScript): each case
 * tries one of those ways out, or a bomb, and must end in a clear failure or a harmless value,
 * in an interpreter that is then thrown away. Then runCode under a policy: the facts come from
 * Python's own parser, a forbidden import is denied before anything runs, host calls are
 * decided, output is redacted, and the audit log verifies.
 */
import dgram from "node:dgram";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ActionDenied, createEnforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { createPythonPool, runCode, SandboxFailure, type SandboxFailureKind } from "@agent-armor/sandbox";
import { afterAll, describe, expect, it } from "vitest";

const pool = createPythonPool({ size: 1 });
afterAll(() => pool.close());

// generous times: an interpreter's work is slow on a loaded machine; the bombs end on their limit first
const limits = { timeMs: 20_000, memoryBytes: 64 * 1024 * 1024, stackBytes: 1 << 18, outputChars: 10_000, hostCalls: 3 };

type Outcome = { value: unknown } | { failure: SandboxFailureKind; message: RegExp };
const cases: { name: string; code: string; outcome: Outcome }[] = [
  { name: "a shell through os.system (127: no process ran)", code: "import os\nos.system('id > /tmp/armor-pwned')", outcome: { value: 32512 } },
  { name: "subprocess", code: "import subprocess\nsubprocess.run(['id'])", outcome: { failure: "exception", message: /OSError: .*does not support processes/ } },
  { name: "a socket", code: "import socket\nsocket.create_connection(('example.com', 80)).send(b'x')", outcome: { failure: "exception", message: /OSError|unreachable|not available/i } },
  { name: "HTTP", code: "import urllib.request\nurllib.request.urlopen('http://example.com').read()", outcome: { failure: "exception", message: /URLError|unreachable|not available/i } },
  { name: "the host's files", code: "open('/etc/passwd').read()", outcome: { failure: "exception", message: /FileNotFoundError/ } },
  { name: "JavaScript's globals", code: "import js\njs.process.env", outcome: { failure: "exception", message: /AttributeError/ } },
  { name: "JavaScript through run_js", code: "from pyodide.code import run_js\nrun_js('process.exit(1)')", outcome: { failure: "exception", message: /ImportError|cannot import/ } },
  { name: "the Pyodide API", code: "import pyodide_js\npyodide_js._api", outcome: { failure: "exception", message: /ModuleNotFoundError/ } },
  { name: "a memory bomb", code: "x = []\nwhile True: x.append(bytearray(10**6))", outcome: { failure: "memory", message: /more than 67108864 bytes/ } },
  { name: "a flood of output", code: "while True: print('x' * 100)", outcome: { failure: "output", message: /printed more than 10000 characters/ } },
  { name: "a recursion bomb", code: "def f(): return f()\nf()", outcome: { failure: "exception", message: /RecursionError/ } },
  { name: "code that does not parse", code: "def (:", outcome: { failure: "syntax", message: /SyntaxError/ } },
];

describe("hostile Python", () => {
  it.each(cases)("$name", async ({ code, outcome }) => {
    const r = await pool.run(code, limits, {}).then(
      (ok) => ({ value: ok.value }),
      (e: unknown) => e,
    );
    if ("value" in outcome) expect(r).toEqual(outcome);
    else {
      expect(r).toBeInstanceOf(SandboxFailure);
      expect(r).toMatchObject({ kind: outcome.failure, message: expect.stringMatching(outcome.message) });
    }
  });

  it("an endless loop is stopped at the deadline", async () => {
    const r = await pool.run("while True: pass", { ...limits, timeMs: 1_000 }, {}).catch((e: unknown) => e);
    expect(r).toMatchObject({ kind: "timeout", message: "the code ran longer than 1000 ms" });
  });
});

// Python reaches JavaScript objects (a converted list, a host function's closure); what it can do with them
const ESCAPES = [
  { name: "through to_js(...).constructor.constructor", reach: "from pyodide.ffi import to_js\nF = to_js([1]).constructor.constructor" },
  { name: "through a host function's closure", reach: "cs = [c.cell_contents for c in probe.__closure__]\nF = [c for c in cs if callable(c) and not isinstance(c, str)][0].constructor.constructor" },
];
const JS_DEEDS = [
  { name: "reads the parent's environment", js: "return process.env.ARMOR_PROBE_SECRET" },
  { name: "sends a UDP datagram", js: "const d = process.getBuiltinModule('node:dgram'); const s = new d.Socket({ type: 'udp4' }); s.send('escaped', PORT, '127.0.0.1'); return 'sent'" },
  { name: "signals the parent", js: "process.kill(process.ppid, 'SIGTERM'); return 'killed'" },
];

describe("Python that reaches JavaScript", () => {
  it.each(ESCAPES.flatMap((e) => JS_DEEDS.map((d) => ({ ...d, reach: e.reach, label: `${e.name}: ${d.name}` }))))("$label", async ({ reach, js }) => {
    process.env.ARMOR_PROBE_SECRET = "hunter2";
    const listener = dgram.createSocket("udp4");
    const received: string[] = [];
    listener.on("message", (m) => received.push(String(m)));
    await new Promise<void>((resolve) => listener.bind(0, "127.0.0.1", resolve));
    const port = listener.address().port;
    let signalled = false;
    const onSignal = (): void => {
      signalled = true;
    };
    process.on("SIGTERM", onSignal);
    try {
      const code = `${reach}\nstr(F(${JSON.stringify(js.replace("PORT", String(port)))})())`;
      const r = await pool.run(code, limits, { probe: () => null }).then(
        (ok) => ({ value: ok.value }),
        (e: unknown) => e,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(JSON.stringify(r) ?? "").not.toContain("hunter2");
      expect(r).toMatchObject({ kind: "exception", message: expect.stringMatching(/EvalError: Code generation from strings disallowed/) });
      expect(received).toEqual([]);
      expect(signalled).toBe(false);
    } finally {
      process.off("SIGTERM", onSignal);
      listener.close();
      delete process.env.ARMOR_PROBE_SECRET;
    }
  });
});

const POLICY = `policy analysis version "1"
default allow
rule no_processes
  when action.type == "run_code" and "subprocess" in imports
  deny because "code may not start processes"
rule known_hosts
  when action.type == "http_get" and host(url) not in ["data.example.com"]
  deny because "the code reads data.example.com only"
rule cards_stay_out on result
  when action.type == "run_code"
  redact result.stdout matching std.card_number with "[CARD]"
`;

describe("runCode with Python under a policy", () => {
  it("decides on the parser's facts, decides host calls, redacts output, audits", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "armor-py-")), "audit.jsonl");
    const enforcer = await createEnforcer({ policy: { fileName: "analysis.armor", source: POLICY }, audit: { file } });
    const host = { fetch: { type: "http_get", action: ([url]: unknown[]) => ({ url }), run: async () => ({ rows: [{ card: "4111 1111 1111 1111", total: 12 }] }) } };
    const code = "import statistics\ndata = await fetch('https://data.example.com/sales')\nprint(data['rows'][0]['card'])\nstatistics.mean([r['total'] for r in data['rows']])";
    const { decision, result } = await runCode(enforcer, { language: "python", code }, { session: "py-1" }, { host, pythonPool: pool, limits });
    expect(decision.action).toMatchObject({
      language: "python",
      imports: ["statistics"],
      calls: expect.arrayContaining(["fetch", "print", "statistics.mean"]),
      hosts: ["data.example.com"],
      dynamic: false,
    });
    expect(result).toEqual({ value: 12, stdout: "[CARD]\n" });

    const denied = await runCode(enforcer, { language: "python", code: "import subprocess\nsubprocess.run(['id'])" }, { session: "py-1" }, { pythonPool: pool }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ActionDenied);
    expect((denied as ActionDenied).decision.rules.map((r) => r.id)).toEqual(["no_processes"]);
    await enforcer.close();
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });
});
