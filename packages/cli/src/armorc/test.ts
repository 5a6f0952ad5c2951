/** `armorc test [PATH...]`: run policy tests against the compiled policies. */
import { existsSync, watch } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type CompilerHost, compileSource, compileTests, nodeHost } from "@agent-armor/compiler";
import { coverageTable, discover, humanReport, jsonReport, junitReport, percent, runSuite, type Suite, testWithoutPolicy, totals } from "@agent-armor/compiler/testing";
import { colors, type Io, printDiagnostics, readSource, UsageError } from "../io.js";
import type { Command } from "./main.js";

type Reporter = "human" | "json" | "junit";

interface TestOptions {
  paths: string[];
  reporter: Reporter;
  coverage: boolean;
  threshold: number | null;
  filter: string | RegExp | undefined;
  /** Each property's solver question gives up after this long. */
  timeoutMs: number | undefined;
}

/** A policy's properties proved (or not): the lines to print, the JSON, and whether every one holds. */
interface Proofs {
  readonly lines: string[];
  readonly json: unknown[];
  readonly allHold: boolean;
}

/**
 * Proves the properties of a policy that compiles, on the solver (@agent-armor/analysis, loaded
 * only when a policy has properties, so that Z3's WebAssembly does not load otherwise).
 */
async function proveAll(file: string, text: string, testFiles: readonly { name: string; text: string }[], host: CompilerHost, o: TestOptions): Promise<Proofs | null> {
  const c = compileSource(file, text, host);
  if (!c.ok) return null;
  // the properties of the test file are proved against the policy exactly as its own are
  const tests = testFiles.map((t) => compileTests(t.name, t.text, c)).filter((t) => t.propertyPolicy !== null);
  if (c.policy.properties.length === 0 && tests.length === 0) return null;
  const { proveProperties, propertyLines, propertyJson } = await import("@agent-armor/analysis");
  const options = o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {};
  const results = await proveProperties(c, options);
  for (const t of tests) results.push(...(await proveProperties(c, { ...options, sources: new Map([[t.source.name, t.source]]) }, t.propertyPolicy!)));
  // each result with what its encoding left open (a proof's too), each place once (propertyLines)
  const lines = results.flatMap((r) => propertyLines(r, `${r.property.file ?? file}:${r.property.line}`));
  return { lines, json: results.map((r) => propertyJson(r, r.property.file ?? file)), allHold: results.every((r) => r.status === "holds") };
}

function parseFilter(f: string | undefined): string | RegExp | undefined {
  if (f === undefined) return undefined;
  const m = /^\/(.*)\/([a-z]*)$/.exec(f);
  if (!m) return f;
  try {
    return new RegExp(m[1]!, m[2]);
  } catch (e) {
    throw new UsageError(`--filter ${f} is not a valid regex: ${(e as Error).message}`);
  }
}

/** Runs every suite once and prints the report; returns the exit code. */
async function runOnce(io: Io, o: TestOptions): Promise<number> {
  const found = discover(o.paths, io.cwd);
  for (const m of found.missing) io.stderr.write(`armorc test: \`${m}\` does not exist\n`);
  const suites: Suite[] = [];
  const proofs: Proofs[] = [];
  let status = found.missing.length > 0 ? 2 : 0;
  for (const orphan of found.orphans) {
    printDiagnostics(io, io.stderr, [testWithoutPolicy(orphan)], new Map(), "text");
    status = Math.max(status, 1);
  }
  // the files a policy imports (packs too) are tested as suites of their own, each once
  const targets = [...found.targets];
  const tested = new Set(targets.map((t) => resolve(io.cwd, t.policy)));
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i]!;
    const policy = readSource(resolve(io.cwd, target.policy));
    if (!policy.ok) {
      printDiagnostics(io, io.stderr, [policy.diagnostic], new Map(), "text");
      status = 2;
      continue;
    }
    const testFiles: { name: string; text: string }[] = [];
    if (target.testFile !== null) {
      const t = readSource(resolve(io.cwd, target.testFile));
      if (t.ok) testFiles.push({ name: target.testFile, text: t.text });
    }
    const host = {
      ...nodeHost,
      readFile: (p: string) => {
        const r = readSource(resolve(io.cwd, p));
        return r.ok ? r.text : undefined;
      },
      // imported files: opened once, and checked against the file that was opened
      readReal: (p: string) => nodeHost.readReal?.(resolve(io.cwd, p)),
    };
    const suite = await runSuite(
      { policyFile: target.policy, policyText: policy.text, testFiles },
      {
        ...(o.filter !== undefined ? { filter: o.filter } : {}),
        host,
        paint: o.reporter === "human" ? colors(io, io.stdout) : undefined,
      },
    );
    const proved = await proveAll(target.policy, policy.text, testFiles, host, o);
    if (proved !== null) proofs.push(proved);
    const errors = suite.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0) printDiagnostics(io, io.stderr, errors, suite.sources, "text");
    if (suite.results.length > 0 || errors.length > 0) suites.push(suite);
    for (const imported of suite.imports) {
      if (tested.has(resolve(io.cwd, imported))) continue;
      tested.add(resolve(io.cwd, imported));
      const testFile = imported.replace(/\.armor$/, ".test.armor");
      targets.push({ policy: imported, testFile: existsSync(testFile) ? testFile : null });
    }
  }
  if (proofs.some((p) => !p.allHold)) status = Math.max(status, 1);
  if (suites.length === 0 && proofs.length > 0) {
    if (o.reporter === "json") io.stdout.write(`${JSON.stringify({ properties: proofs.flatMap((p) => p.json) }, null, 2)}\n`);
    else io.stdout.write(`${proofs.flatMap((p) => p.lines).join("\n")}\n`);
    return status;
  }
  if (suites.length === 0) {
    if (found.missing.length > 0) return status;
    io.stderr.write('armorc test: no tests found (write `test "name" { ... }` blocks in a policy or in NAME.test.armor beside it)\n');
    return Math.max(status, 1);
  }
  const t = totals(suites);
  const propertyLines = proofs.flatMap((p) => p.lines);
  if (o.reporter === "json") {
    const report = jsonReport(suites) as Record<string, unknown>;
    io.stdout.write(`${JSON.stringify(proofs.length > 0 ? { ...report, properties: proofs.flatMap((p) => p.json) } : report, null, 2)}\n`);
  } else if (o.reporter === "junit") {
    io.stdout.write(junitReport(suites));
    // JUnit lists tests; the properties' verdicts go to stderr, and a failing one still fails the run
    if (propertyLines.length > 0) io.stderr.write(`${propertyLines.join("\n")}\n`);
  } else {
    io.stdout.write(humanReport(suites, { paint: colors(io, io.stdout), coverage: o.coverage || o.threshold !== null }));
    if (propertyLines.length > 0) io.stdout.write(`\n${propertyLines.join("\n")}\n`);
  }
  if (o.reporter !== "human" && (o.coverage || o.threshold !== null)) io.stderr.write(coverageTable(suites));
  if (t.failed > 0 || t.broken > 0) status = Math.max(status, 1);
  if (o.threshold !== null) {
    const covered = percent(t.rulesFired, t.rules);
    if (covered < o.threshold) {
      io.stderr.write(`coverage ${covered}% is below the threshold of ${o.threshold}%\n`);
      status = Math.max(status, 1);
    }
  }
  return status;
}

async function watchMode(io: Io, o: TestOptions): Promise<number> {
  await runOnce(io, o);
  const dirs = new Set((o.paths.length > 0 ? o.paths : ["."]).map((p) => (p.endsWith(".armor") ? dirname(join(io.cwd, p)) : join(io.cwd, p))));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = Promise.resolve();
  const rerun = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(async () => {
        io.stdout.write(`\n${new Date().toLocaleTimeString()} change detected, running again\n`);
        await runOnce(io, o);
      });
    }, 100);
  };
  const watchers = [...dirs].map((d) =>
    watch(d, { recursive: true }, (_event, file) => {
      if (file !== null && /\.(armor|json)$/.test(String(file))) rerun();
    }),
  );
  io.stderr.write("watching for changes (Ctrl-C to stop)\n");
  return new Promise<number>((resolve) => {
    process.once("SIGINT", () => {
      for (const w of watchers) w.close();
      clearTimeout(timer);
      resolve(0);
    });
  });
}

export const runTest: Command = {
  name: "test",
  summary: "run policy tests against the compiled policies",
  usage: "armorc test [PATH...] [--coverage] [--coverage-threshold P] [--reporter human|json|junit] [--filter PATTERN] [--watch] [--timeout MS]",
  help: [
    'Finds tests in policies (`test "name" { ... }` blocks) and in NAME.test.armor files beside',
    "NAME.armor, in the given files and folders (default: the current folder, recursively), and",
    "decides each with the compiled policy. A failing test shows the expected and actual decision,",
    "the rules that fired, and every rule's conditions with the values that decided them.",
    "Each `property` of a policy is proved for every input on the Z3 solver, or shown failing with",
    "a counterexample that the interpreter and the compiled module both decide against it; one the",
    "solver cannot settle within --timeout is searched (a bounded random search) and reported as",
    "NOT PROVED, which fails the run too.",
    "Folder searches skip node_modules, dist, out, coverage, hidden folders, and fixture trees:",
    "folders holding a file named .armor-fixtures. A path named here is always read.",
    "",
    "Options:",
    "  --coverage               print which rules fired in some test, and which were also seen",
    "                           not firing (printed even when tests fail)",
    "  --coverage-threshold P   exit 1 when fewer than P percent of the rules fired in a test",
    "  --reporter R             human (default), json, or junit (XML for CI systems)",
    "  --filter PATTERN         run only tests whose name contains PATTERN (or matches /regex/)",
    "  --watch                  run again whenever a .armor or .json file changes",
    "  --timeout MS             each property's solver limit in milliseconds (default 10000)",
    "",
    "Exit code 0 when every test passes and every property is proved, 1 on failures, errors,",
    "properties that fail or are not proved, or low coverage, 2 on bad paths.",
  ].join("\n"),
  options: {
    coverage: { type: "boolean" },
    "coverage-threshold": { type: "string" },
    reporter: { type: "string" },
    filter: { type: "string" },
    watch: { type: "boolean" },
    timeout: { type: "string" },
  },
  async run({ values, positionals }, io) {
    const reporter = ((values.reporter as string | undefined) ?? "human") as Reporter;
    if (!["human", "json", "junit"].includes(reporter)) throw new UsageError(`--reporter must be human, json or junit, not \`${reporter}\``);
    const rawThreshold = values["coverage-threshold"] as string | undefined;
    const threshold = rawThreshold === undefined ? null : Number(rawThreshold);
    if (threshold !== null && (!Number.isFinite(threshold) || threshold < 0 || threshold > 100)) throw new UsageError("--coverage-threshold takes a percentage from 0 to 100");
    const rawTimeout = values.timeout as string | undefined;
    const timeoutMs = rawTimeout === undefined ? undefined : Number(rawTimeout);
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 3_600_000)) throw new UsageError("--timeout takes a whole number of milliseconds from 1 to 3600000");
    const o: TestOptions = { paths: positionals, reporter, coverage: values.coverage === true, threshold, filter: parseFilter(values.filter as string | undefined), timeoutMs };
    return values.watch === true ? watchMode(io, o) : runOnce(io, o);
  },
};
