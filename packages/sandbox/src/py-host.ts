/**
 * The child process a Python run happens in (see py-pool.ts): Pyodide (CPython compiled to
 * WebAssembly), one job at a time, each in a fresh namespace. Pyodide in Node is not a sandbox
 * by itself (its `os.system` spawns a shell, its sockets reach the network, and Python can reach
 * JavaScript), so the process is locked down in layers before Pyodide loads:
 *
 * 1. Node's permission model (the parent starts this process with `--experimental-permission`):
 *    files are readable only under Pyodide's and this package's folders, nothing is writable,
 *    and child processes, worker threads and native addons are refused by Node itself.
 * 2. Node's own modules that reach out are replaced in this process: processes (`os.system`
 *    returns 127), sockets, TLS, UDP, DNS, HTTP and `fetch`, `process.binding`.
 * 3. Python sees no JavaScript globals (`import js` is an empty object), and the host functions
 *    it is given are its only way out.
 *
 * The parent keeps the deadline and the memory limit (it kills the process), since a Python
 * run holds this process's only thread until it ends.
 */
import cp from "node:child_process";
import dgram from "node:dgram";
import dns from "node:dns";
import { constants as fsConstants } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { syncBuiltinESMExports } from "node:module";
import net from "node:net";
import tls from "node:tls";

/** Parent → child. */
export type ToPython =
  | { kind: "facts"; job: number; code: string }
  | { kind: "run"; job: number; code: string; outputChars: number; host: string[] }
  | { kind: "answer"; call: number; ok: boolean; json: string };

/** Child → parent. */
export type FromPython =
  | { kind: "ready" }
  | { kind: "call"; job: number; call: number; name: string; args: string }
  | { kind: "facts"; job: number; facts: string }
  | { kind: "done"; job: number; value: string; stdout: string }
  | { kind: "failed"; job: number; failure: "exception" | "syntax" | "output" | "engine"; message: string };

const refuse = (what: string) => (): never => {
  throw new Error(`${what} is not available in the sandbox`);
};

/** Layer 2: the modules that reach out, replaced in this process (and in their ES module views). */
function lockDown(): void {
  const mutable = (m: object) => m as Record<string, unknown>;
  for (const k of Object.keys(cp)) {
    if (typeof mutable(cp)[k] !== "function") continue;
    // Pyodide's os.system reads `status`: it sees a command that could not run
    mutable(cp)[k] = k === "spawnSync" ? () => ({ status: 127, signal: null, output: [], pid: 0, stdout: "", stderr: "" }) : refuse("processes");
  }
  for (const [m, keys] of [
    [net, ["connect", "createConnection", "createServer"]],
    [tls, ["connect", "createServer", "createSecureContext"]],
    [http, ["request", "get", "createServer"]],
    [https, ["request", "get", "createServer"]],
    [http2, ["connect", "createServer", "createSecureServer"]],
    [dgram, ["createSocket"]],
    [dns, ["lookup", "resolve", "resolve4", "resolve6", "resolveAny", "resolveTxt", "reverse"]],
  ] as const) {
    for (const k of keys) mutable(m)[k] = refuse(`the network (${k})`);
  }
  for (const k of ["lookup", "resolve", "resolve4", "resolve6", "resolveAny", "resolveTxt", "reverse"]) mutable(dns.promises)[k] = refuse(`the network (${k})`);
  // the classes too, since `new dgram.Socket(...)` or `new dns.Resolver()` skip the factories: every
  // method on their prototypes (and their bases') refuses, and the exports themselves refuse to construct
  for (const cls of [net.Socket, net.Server, tls.TLSSocket, tls.Server, dgram.Socket, dns.Resolver, dns.promises.Resolver, http.Agent, https.Agent]) {
    for (let proto = cls.prototype as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      if (proto === Object.getPrototypeOf(net.Socket.prototype) && cls !== net.Socket) break; // the stream bases are shared; net.Socket's own methods are enough
      for (const k of Object.getOwnPropertyNames(proto)) {
        if (!/^(connect|listen|bind|send|sendto|resolve\w*|reverse|lookup\w*|setServers|addMembership|addSourceSpecificMembership|createConnection|_start|_connect\w*)$/.test(k)) continue;
        try {
          Object.defineProperty(proto, k, { value: refuse(`the network (${k})`), writable: false, configurable: false });
        } catch {
          // a property that cannot be redefined: its class is refused as a whole below
        }
      }
    }
  }
  for (const [m, k] of [
    [net, "Socket"],
    [net, "Stream"],
    [net, "Server"],
    [tls, "TLSSocket"],
    [dgram, "Socket"],
    [dns, "Resolver"],
    [dns.promises, "Resolver"],
  ] as const) {
    // a function (not an arrow) keeping the prototype: modules that extend the class still load
    const refused = function refusedClass(): never {
      throw new Error(`the network (${k}) is not available in the sandbox`);
    };
    refused.prototype = (mutable(m)[k] as { prototype: object }).prototype;
    mutable(m)[k] = refused;
  }
  for (const g of ["fetch", "WebSocket", "EventSource", "XMLHttpRequest"]) Reflect.deleteProperty(globalThis, g);
  const proc = process as unknown as Record<string, unknown>;
  // Pyodide reads the file-system flags once as it starts; nothing else is given
  proc.binding = (name: string) => {
    if (name === "constants") return { fs: fsConstants };
    throw new Error("process.binding is not available in the sandbox");
  };
  proc._linkedBinding = refuse("process._linkedBinding");
  proc.dlopen = refuse("process.dlopen");
  // no signals to other processes (the parent), no way to end this one other than exiting, no
  // environment (the parent starts it with none), and no modules by name
  for (const k of ["kill", "_kill", "reallyExit", "abort", "getBuiltinModule", "chdir", "setuid", "setgid", "seteuid", "setegid", "setgroups", "initgroups"]) {
    if (k in proc) proc[k] = refuse(`process.${k}`);
  }
  proc.env = {};
  syncBuiltinESMExports();
}

/**
 * The IPC channel to the parent, kept in a closure: `process.send` and `process._send` are taken off the global process object. `process.channel` stays (Node's IPC reads it as it
 * delivers messages), so the parent checks every message it gets from this process.
 */
function takeChannel(): (m: FromPython) => void {
  const proc = process as unknown as Record<string, unknown>;
  const send = proc.send as ((this: unknown, m: unknown) => boolean) | undefined;
  const rawSend = proc._send;
  if (typeof send !== "function") return () => undefined;
  // `send` calls `this._send` and reads `this.connected`: a carrier that keeps both
  const carrier = Object.create(process, {
    _send: { value: rawSend },
    connected: { get: () => proc.connected === true },
  }) as unknown;
  for (const k of ["send", "_send"]) proc[k] = refuse(`process.${k}`);
  return (m) => {
    send.call(carrier, m);
  };
}

/** Python's side of the host functions: each an async builtin that speaks JSON. Fixed text: names arrive as data. */
const PRELUDE = `
import builtins, json, sys
def _armor_install(names, call):
    def make(name):
        async def host_function(*args):
            return json.loads(await call(name, json.dumps(list(args))))
        host_function.__name__ = name
        return host_function
    for n in json.loads(names):
        setattr(builtins, n, make(n))

HIDING_NAMES = {"eval", "exec", "compile", "__import__", "import_module", "__builtins__", "vars", "globals", "locals", "Function", "Reflect"}
HIDING_ATTRS = HIDING_NAMES | {"__dict__", "__closure__", "__globals__", "__code__", "__subclasses__", "__class__", "__bases__", "__mro__", "__getattribute__", "constructor", "f_globals", "f_locals", "f_builtins", "gi_frame", "cr_frame", "tb_frame"}
MAX_CODE_CHARS = 1000000

def _armor_facts(src):
    def failed(why):
        return json.dumps({"imports": [], "calls": [], "urls": [], "hosts": [], "dynamic": True, "error": why})
    if len(src) > MAX_CODE_CHARS:
        return failed(f"the code is longer than {MAX_CODE_CHARS} characters")
    try:
        return _armor_read_facts(src)
    except SyntaxError as e:
        return failed(f"SyntaxError: {e.msg} (line {e.lineno})")
    except RecursionError:
        return failed("the code is nested too deeply to read")
    except Exception as e:
        return failed(f"the code's facts cannot be read: {type(e).__name__}")

def _armor_read_facts(src):
    import ast, re
    tree = ast.parse(src)
    def dotted(f):
        parts = []
        while isinstance(f, ast.Attribute):
            parts.append(f.attr)
            f = f.value
        if not isinstance(f, ast.Name):
            return None
        parts.append(f.id)
        return ".".join(reversed(parts))
    def literal(n):
        return n.value if isinstance(n, ast.Constant) and isinstance(n.value, str) else None
    imports, calls, urls, dynamic = [], [], [], False
    plain = set()  # __import__("m") and import_module("m") with a literal name: an import, not hiding
    for n in ast.walk(tree):
        if isinstance(n, ast.Call):
            name = dotted(n.func)
            if name is not None and name.split(".")[-1] in ("__import__", "import_module") and n.args and literal(n.args[0]) is not None:
                plain.add(id(n.func))
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            imports += [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            imports.append("." * n.level + (n.module or ""))
            if any(a.name in HIDING_NAMES or a.name == "*" for a in n.names):
                dynamic = True
        elif isinstance(n, ast.Name):
            if n.id in HIDING_NAMES and id(n) not in plain:
                dynamic = True
        elif isinstance(n, ast.Attribute):
            if n.attr in HIDING_ATTRS and id(n) not in plain:
                dynamic = True
        elif isinstance(n, ast.Call):
            name = dotted(n.func)
            if name is None:
                # a call of a call's result, of a subscript, of anything but a name or an attribute
                if not isinstance(n.func, (ast.Attribute, ast.Lambda)):
                    dynamic = True
                continue
            calls.append(name)
            last = name.split(".")[-1]
            if last in ("__import__", "import_module"):
                m = literal(n.args[0]) if n.args else None
                if m is None:
                    dynamic = True
                else:
                    imports.append(m)
            if last in ("getattr", "setattr", "delattr", "hasattr"):
                attr = literal(n.args[1]) if len(n.args) >= 2 else None
                if attr is None or attr in HIDING_ATTRS:
                    dynamic = True
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and re.match(r"https?://[^\\s/]", n.value, re.I):
            urls.append(n.value)
    def host(u):
        m = re.match(r"https?://(?:[^@/?#\\s]*@)?(\\[[^\\]]*\\]|[^:/?#\\s]+)", u, re.I)
        return m.group(1).lower() if m else None
    unique = lambda xs: list(dict.fromkeys(xs))[:256]
    hosts = [h for h in (host(u) for u in urls) if h]
    return json.dumps({"imports": unique(imports), "calls": unique(calls), "urls": unique(urls), "hosts": unique(hosts), "dynamic": dynamic, "error": None})
`;

/** The only way to speak to the parent (see takeChannel). */
const send = takeChannel();

async function main(): Promise<void> {
  lockDown();
  const { loadPyodide } = await import("pyodide");
  let stdout = "";
  let limit = 0;
  let overflow = false;
  const py = await loadPyodide({
    jsglobals: Object.create(null) as object,
    stdout: (line: string) => {
      if (!overflow && stdout.length + line.length + 1 > limit) overflow = true;
      // Python's print fails from here on, which ends a loop of prints
      if (overflow) throw new Error("the sandbox's output is full");
      stdout += `${line}\n`;
    },
    stderr: () => undefined,
  });
  let nextCall = 0;
  const waiting = new Map<number, (a: { ok: boolean; json: string }) => void>();
  let currentJob = -1;
  const call = (name: string, args: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const id = nextCall++;
      waiting.set(id, (a) => (a.ok ? resolve(a.json) : reject(new Error(a.json))));
      send({ kind: "call", job: currentJob, call: id, name, args });
    });
  await py.runPythonAsync(PRELUDE);
  const install = py.globals.get("_armor_install") as (names: string, call: unknown) => void;
  const facts = py.globals.get("_armor_facts") as (code: string) => string;
  // no Pyodide API (unregistered, so that no import finds it again once Python takes the `None`
  // out of sys.modules); and Emscripten's `_` (the program's path on the host) out of the environment
  py.unregisterJsModule("pyodide_js");
  py.runPython("import os, sys\nsys.modules['pyodide_js'] = None\nos.environ.pop('_', None)\ndel os, sys");

  process.on("message", (m: ToPython) => {
    if (m.kind === "answer") {
      const settle = waiting.get(m.call);
      waiting.delete(m.call);
      settle?.(m);
      return;
    }
    if (m.kind === "facts") {
      // the syntax tree only: nothing of the code runs; facts that cannot be read are an error, never the end of this process
      let text: string;
      try {
        text = facts(m.code);
      } catch (e) {
        const why = e instanceof Error ? (e.message.trim().split("\n").at(-1) ?? e.message) : String(e);
        text = JSON.stringify({ imports: [], calls: [], urls: [], hosts: [], dynamic: true, error: `the code's facts cannot be read: ${why.slice(0, 200)}` });
      }
      send({ kind: "facts", job: m.job, facts: text });
      return;
    }
    void (async () => {
      currentJob = m.job;
      stdout = "";
      limit = m.outputChars;
      overflow = false;
      install(JSON.stringify(m.host), call);
      const namespace = py.toPy({}) as { destroy(): void };
      try {
        const value = await py.runPythonAsync(m.code, { globals: namespace as never });
        const json = toJson(value);
        if (overflow) send({ kind: "failed", job: m.job, failure: "output", message: `the code printed more than ${m.outputChars} characters` });
        else if (json.length > m.outputChars) send({ kind: "failed", job: m.job, failure: "output", message: `the code returned more than ${m.outputChars} characters of JSON` });
        else send({ kind: "done", job: m.job, value: json, stdout });
      } catch (e) {
        if (overflow) {
          send({ kind: "failed", job: m.job, failure: "output", message: `the code printed more than ${m.outputChars} characters` });
          return;
        }
        const text = e instanceof Error ? e.message : String(e);
        const last = text.trim().split("\n").at(-1) ?? text;
        send({ kind: "failed", job: m.job, failure: /^(SyntaxError|IndentationError)\b/.test(last) ? "syntax" : "exception", message: last.slice(0, 2_000) });
      } finally {
        namespace.destroy();
      }
    })();
  });
  send({ kind: "ready" });
}

/** A Python value as JSON text: JSON data as is, other values as their `repr`. */
function toJson(value: unknown): string {
  const v = value as { toJs?: (o: object) => unknown; destroy?: () => void; toString(): string } | undefined | null;
  if (v === undefined || v === null) return "null";
  if (typeof v !== "object" && typeof v !== "function") return JSON.stringify(v) ?? "null";
  try {
    const plain = v.toJs?.({ dict_converter: Object.fromEntries, create_pyproxies: false });
    return JSON.stringify(plain) ?? JSON.stringify(String(v));
  } catch {
    return JSON.stringify(String(v));
  } finally {
    v.destroy?.();
  }
}

main().catch((e: unknown) => {
  send({ kind: "failed", job: -1, failure: "engine", message: e instanceof Error ? e.message : String(e) } satisfies FromPython);
  process.exit(70);
});
