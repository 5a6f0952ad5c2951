/**
 * Python that attacks the sandbox. Pyodide in Node reaches the host unless the process is locked
 * down (its os.system spawns a shell, its sockets connect, Python reaches JavaScript): each case
 * tries one of those ways out, or a bomb, and must end in a clear failure or a harmless value,
 * in an interpreter that is then thrown away. Then runCode under a policy: the facts come from
 * Python's own parser, a forbidden import is denied before anything runs, host calls are
 * decided, output is redacted, and the audit log verifies.
 */
import dgram from "node:dgram";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ActionDenied, createEnforcer, ToolFailed, verifyAuditLogFile } from "@agent-armor/runtime";
import { createPythonPool, type PythonLease, runCode, SandboxFailure, type SandboxFailureKind } from "@agent-armor/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

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
  // JavaScript through Pyodide's bindings: `js` is an empty object, `pyodide_js` cannot be imported by any route
  { name: "js.require", code: "import js\njs.require('fs')", outcome: { failure: "exception", message: /AttributeError: require/ } },
  { name: "js.globalThis", code: "import js\njs.globalThis.process", outcome: { failure: "exception", message: /AttributeError: globalThis/ } },
  { name: "from js import process", code: "from js import process\nprocess.exit(1)", outcome: { failure: "exception", message: /ImportError: cannot import name 'process' from 'js'/ } },
  { name: "what js holds", code: "import js\nlist(js.as_object_map())", outcome: { value: [] } },
  {
    name: "js imported again after sys.modules forgets it",
    code: "import importlib, sys\nsys.modules.pop('js', None)\nm = importlib.import_module('js')\nlist(m.as_object_map())",
    outcome: { value: [] },
  },
  {
    name: "the file system API through pyodide_js (mountNodeFS)",
    code: "import pyodide_js\npyodide_js.mountNodeFS('/mnt', '/')",
    outcome: { failure: "exception", message: /ModuleNotFoundError: import of pyodide_js halted/ },
  },
  {
    name: "pyodide_js.FS",
    code: "from pyodide_js import FS\nFS.mount(FS.filesystems.NODEFS, {'root': '/'}, '/mnt')",
    outcome: { failure: "exception", message: /ModuleNotFoundError: import of pyodide_js halted/ },
  },
  {
    name: "pyodide_js through importlib",
    code: "import importlib\nimportlib.import_module('pyodide_js')",
    outcome: { failure: "exception", message: /ModuleNotFoundError: import of pyodide_js halted/ },
  },
  {
    name: "pyodide_js through builtins.__import__",
    code: "import builtins\nbuiltins.__import__('pyodide_js')",
    outcome: { failure: "exception", message: /ModuleNotFoundError: import of pyodide_js halted/ },
  },
  {
    name: "pyodide_js after sys.modules forgets it",
    code: "import sys\ndel sys.modules['pyodide_js']\nimport pyodide_js\npyodide_js._api",
    outcome: { failure: "exception", message: /ModuleNotFoundError: No module named 'pyodide_js'/ },
  },
  { name: "pyodide_js found by importlib.util", code: "import importlib.util\nstr(importlib.util.find_spec('pyodide_js'))", outcome: { value: "None" } },
  { name: "pyodide.http.pyfetch", code: "import pyodide.http\nawait pyodide.http.pyfetch('http://127.0.0.1:1')", outcome: { failure: "exception", message: /NameError|not available|unreachable/ } },
  {
    name: "ctypes: JavaScript through emscripten_run_script",
    code: "import ctypes\nctypes.CDLL(None).emscripten_run_script(b'process.exit(3)')",
    outcome: { failure: "engine", message: /the Python interpreter exited \(code 1\)/ },
  },
  {
    name: "ctypes: the environment through emscripten_run_script_string",
    code: "import ctypes\nctypes.CDLL(None).emscripten_run_script_string(b'JSON.stringify(process.env)')",
    outcome: { failure: "engine", message: /the Python interpreter exited \(code 1\)/ },
  },
  { name: "ctypes: libc's system", code: "import ctypes\nctypes.CDLL(None).system(b'id')", outcome: { value: 32512 } },
  { name: "ctypes: libc's open of the host's files", code: "import ctypes\nctypes.CDLL(None).open(b'/etc/passwd', 0)", outcome: { value: -1 } },
  { name: "os.system through sys.modules", code: "import sys\nsys.modules['os'].system('id')", outcome: { value: 32512 } },
  { name: "os.popen", code: "import os\nos.popen('id').read()", outcome: { failure: "exception", message: /OSError: .*does not support processes/ } },
  { name: "os.fork", code: "import os\nos.fork()", outcome: { failure: "exception", message: /OSError/ } },
  { name: "os.execv", code: "import os\nos.execv('/bin/sh', ['sh'])", outcome: { failure: "exception", message: /OSError/ } },
  { name: "the host's environment", code: "import os\nsorted(os.environ)", outcome: { value: ["HOME", "LANG", "LD_LIBRARY_PATH", "LOGNAME", "PATH", "PWD", "PYTHONINSPECT", "USER"] } },
  { name: "the process's environment file", code: "open('/proc/self/environ').read()", outcome: { failure: "exception", message: /FileNotFoundError/ } },
  { name: "the file system's root (Pyodide's own, in memory)", code: "import os\nsorted(os.listdir('/'))", outcome: { value: ["dev", "home", "lib", "proc", "tmp"] } },
  { name: "a package from the network", code: "import micropip", outcome: { failure: "exception", message: /ModuleNotFoundError|loading-packages/ } },
  { name: "a memory bomb", code: "x = []\nwhile True: x.append(bytearray(10**6))", outcome: { failure: "memory", message: /more than 67108864 bytes/ } },
  { name: "a flood of output", code: "while True: print('x' * 100)", outcome: { failure: "output", message: /printed more than 10000 characters/ } },
  { name: "a recursion bomb", code: "def f(): return f()\nf()", outcome: { failure: "exception", message: /RecursionError/ } },
  // bombs of another shape: each ends in a bounded, named failure
  { name: "printing a gigabyte at once", code: "print('x' * 10**9)", outcome: { failure: "memory", message: /more than 67108864 bytes/ } },
  { name: "a list of ten billion items", code: "[0] * 10**10", outcome: { failure: "exception", message: /OverflowError|MemoryError/ } },
  { name: "a two-gigabyte buffer", code: "bytearray(2**31)", outcome: { failure: "exception", message: /OverflowError|MemoryError/ } },
  { name: "many large strings", code: "x = 'x' * 10**8\ny = [x + str(i) for i in range(100)]", outcome: { failure: "memory", message: /more than 67108864 bytes/ } },
  {
    name: "recursion past a raised recursion limit",
    code: "import sys\nsys.setrecursionlimit(10**6)\ndef f(n): return f(n + 1)\nf(0)",
    outcome: { failure: "memory", message: /more than 67108864 bytes/ },
  },
  { name: "a recursion tree", code: "def f(): return [f() for _ in range(2)]\nf()", outcome: { failure: "exception", message: /RecursionError/ } },
  { name: "a thread", code: "import threading\nthreading.Thread(target=lambda: None).start()", outcome: { failure: "exception", message: /RuntimeError: can't start new thread/ } },
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

// the parser's facts: what hides a call or an import is `dynamic`, and code it cannot read is an error, never a dead interpreter
const FACTS: { name: string; code: string; facts: Record<string, unknown> }[] = [
  { name: "plain code", code: "import statistics\nstatistics.mean([1, 2])", facts: { imports: ["statistics"], dynamic: false, error: null } },
  { name: "__import__ with a literal name", code: "__import__('os')", facts: { imports: ["os"], dynamic: false } },
  { name: "__import__ under another name", code: "i = __import__\ni('os')", facts: { dynamic: true } },
  { name: "__builtins__.__dict__[...]", code: "__builtins__.__dict__['ev' + 'al']('1')", facts: { dynamic: true } },
  { name: "import_module under another name", code: "from importlib import import_module as im\nim('os')", facts: { dynamic: true } },
  { name: "exec under another name", code: "e = exec\ne('x = 1')", facts: { dynamic: true } },
  { name: "getattr of builtins' eval", code: "import builtins\ngetattr(builtins, 'eval')('1')", facts: { dynamic: true } },
  { name: "globals() and vars()", code: "globals()['x'] = 1", facts: { dynamic: true } },
  { name: "a host function's __closure__", code: "fetch.__closure__[0].cell_contents", facts: { dynamic: true } },
  { name: "a call of a subscript", code: "fs = [print]\nfs[0]('x')", facts: { dynamic: true } },
  { name: "method calls are plain", code: "', '.join(['a']).split(',')", facts: { dynamic: false } },
  { name: "an expression too deep to parse", code: `a${".b".repeat(100_000)}`, facts: { dynamic: true, error: expect.any(String) } },
  { name: "code longer than 1,000,000 characters", code: `#${"x".repeat(1_000_000)}`, facts: { dynamic: true, error: "the code is longer than 1000000 characters" } },
];

describe("Python's facts", () => {
  let lease: PythonLease;
  beforeAll(async () => {
    lease = await pool.take();
  });
  afterAll(() => lease.release());
  it.each(FACTS)("$name", async ({ code, facts }) => {
    expect(await lease.facts(code)).toMatchObject(facts);
  });
});

describe("many Python runs at once", () => {
  it("start no more interpreters than the pool's max; a run that waits past its time limit fails with timeout", async () => {
    const capped = createPythonPool({ size: 1, max: 1 });
    try {
      const lease = await capped.take();
      const waiting = await capped.run("1", { ...limits, timeMs: 300 }, {}).catch((e: unknown) => e);
      expect(waiting).toMatchObject({ kind: "timeout", message: expect.stringMatching(/waited for a free Python interpreter longer than 300 ms/) });
      expect(capped.processes).toBe(1);
      lease.release();
    } finally {
      await capped.close();
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

    // code whose facts cannot be read is still decided (and audited), as dynamic with an error
    const before = readFileSync(file, "utf8").trim().split("\n").length;
    const deep = await runCode(enforcer, { language: "python", code: `a${".b".repeat(100_000)}` }, { session: "py-1" }, { pythonPool: pool, limits }).catch((e: unknown) => e);
    expect(deep).toBeInstanceOf(Error);
    const records = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .slice(before)
      .map((l) => JSON.parse(l) as { kind: string; action?: { dynamic?: boolean; error?: unknown } });
    expect(records.some((r) => r.action?.dynamic === true && typeof r.action.error === "string")).toBe(true);
    await enforcer.close();
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });

  it("fails a way out through Pyodide's bindings as the tool's failure, audited, and the next run is fine", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "armor-py-")), "audit.jsonl");
    const enforcer = await createEnforcer({ policy: { fileName: "analysis.armor", source: POLICY }, audit: { file } });
    const code = "import sys\ndel sys.modules['pyodide_js']\nimport pyodide_js\npyodide_js._api";
    const failed = await runCode(enforcer, { language: "python", code }, { session: "py-2" }, { pythonPool: pool, limits }).catch((e: unknown) => e);
    // the policy has rules on results: the failure is decided as the result `{ error }`
    expect(failed).toBeInstanceOf(ToolFailed);
    expect((failed as ToolFailed).message).toMatch(/ModuleNotFoundError: No module named 'pyodide_js'/);
    const { result } = await runCode(enforcer, { language: "python", code: "6 * 7" }, { session: "py-2" }, { pythonPool: pool, limits });
    expect(result).toEqual({ value: 42, stdout: "" });
    await enforcer.close();
    const outcomes = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { outcome?: string })
      .map((r) => r.outcome)
      .filter((o) => o !== undefined);
    expect(outcomes).toEqual(["error", "ok"]);
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
  });
});
