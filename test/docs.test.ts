/**
 * The docs as tests: every fenced block of README.md, docs/*.md, packages/*\/README.md and
 * examples/*\/README.md is run by its info string, and every link inside the repository must
 * lead to a file and heading.
 * A failure is named `FILE:LINE` (the line of the block's opening fence, or of the link).
 *
 * - `armor`: checked with the compiler; no errors or warnings, unless an annotation says which
 *   codes it shows. In docs/diagnostics.md a policy under `## ANNN name` must show ANNN and no
 *   other error or warning, and one after "**How to fix**" must not show ANNN (nor any error).
 *   A `decide` annotation evaluates the policy on an input and compares the decision and rules.
 * - `sh`, `console`: each line is a command, run with `sh` in a workspace for the Markdown file (a
 *   temporary copy of the repository, so commands may write files); it must exit 0, or the code
 *   of an `exit N` annotation (for its last command). `armor serve` and `armor mcp` are started,
 *   exercised (healthz and a decision; initialize, tools/list and a call) and stopped.
 * - `js`: run as an ES module in the workspace; a `// => VALUE` line after a statement checks its
 *   value (objects match by the fields shown). `python`: run with `python3` (skipped when it is
 *   not installed); it must exit 0.
 * - `json`: must parse; in docs/diagnostics.md a bad schema or input under `## ANNN` must give
 *   ANNN. With `saves NAME` it is the file NAME that later policies of the document read.
 * - Any block with `run COMMAND` is the output of COMMAND (stdout, or stderr with `stderr`),
 *   compared line by line with the placeholders of `outputPattern` in test/docs/run.ts (`<time>`,
 *   `<id>`, `<hash>`, `<duration>`, `<path>`, `<n>`, and `...` alone on a line for any lines),
 *   or as data when the block is `json`.
 * - `each-line PREFIX` on a block of one-line rules, each ending `// CODE severity: ...`: each
 *   rule, after PREFIX, shows exactly that diagnostic.
 * - `text`, `ebnf`, `lua` and `toml` are prose and not run; a block without an info string or in
 *   another language is an error (say what it is), and so is a directive the block's kind does
 *   not act on (a `decide` on a `text` block, an `exit` on a policy): it would check nothing.
 *
 * Annotations are an HTML comment right before the block, directives separated by `;`:
 *   <!-- docs-test: skip: WHY THE BLOCK CANNOT RUN -->      (a reason is required)
 *   <!-- docs-test: expect A301, A404 -->                 <!-- docs-test: saves actions.schema.json -->
 *   <!-- docs-test: decide {"action": {...}} => deny by RULE -->
 *   <!-- docs-test: decide result {"action": {...}, "result": ...} => deny by RULE -->   (a stage: call, result, output)
 *   <!-- docs-test: files cli; run armorc check payments.armor; exit 1; stderr -->
 * `files DIR` copies test/docs/fixtures/DIR into the workspace first.
 *
 * EXPECTED_TO_FAIL lists blocks that show behaviour of a known bug not fixed yet: they run as
 * `it.fails`, so fixing the bug makes the test fail until its entry is removed.
 */

import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, resolve } from "node:path";
import { afterAll, describe, expect, it, type TestContext } from "vitest";
import { type Block, blockProblem, type MarkdownDoc, readMarkdown } from "./docs/markdown.js";
import { checkPolicy, commandsOf, compareOutput, exerciseMcp, exerciseServe, repoRoot, runCommand, runJs, runPython, uncheckedValues, Workspace } from "./docs/run.js";

/** `file:line` → the bug (issue 13) whose fix makes the block true. */
const EXPECTED_TO_FAIL: Record<string, string> = {};

const files = [
  "README.md",
  ...readdirSync(join(repoRoot, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
  ...readdirSync(join(repoRoot, "docs", "packs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/packs/${f}`),
  ...readdirSync(join(repoRoot, "packages"))
    .sort()
    .map((p) => `packages/${p}/README.md`)
    .filter((p) => exists(p)),
  ...readdirSync(join(repoRoot, "examples"))
    .sort()
    .map((e) => `examples/${e}/README.md`)
    .filter((p) => exists(p)),
];

function exists(path: string): boolean {
  try {
    readFileSync(join(repoRoot, path));
    return true;
  } catch {
    return false;
  }
}

const docs = new Map<string, MarkdownDoc>(files.map((f) => [f, readMarkdown(f, readFileSync(join(repoRoot, f), "utf8"))]));

/** The section code of a docs/diagnostics.md block, from its `## ANNN name` heading. */
function sectionCode(block: Block): string | null {
  if (block.file !== "docs/diagnostics.md") return null;
  return block.heading.match(/^(A\d{3}) /)?.[1] ?? null;
}

const SCHEMA_CODES = new Set(["A305", "A306", "A307"]);
const INPUT_CODES = new Set(["A109", "A502", "A503"]);

// Documents run side by side (each in its own workspace); the blocks of one document in order,
// since a later block may use what an earlier command wrote.
describe.concurrent("docs", () => {
  for (const file of files) {
    const doc = docs.get(file)!;
    describe.sequential(file, () => {
      let ws: Workspace | null = null;
      const workspace = (): Workspace => (ws ??= new Workspace());
      afterAll(() => ws?.dispose());
      /** Files the document's policies read (`saves`): the document's blocks, wherever they stand. */
      const saved = new Map<string, string>(doc.blocks.flatMap((b) => (b.annotation.saves ? [[b.annotation.saves, b.content] as const] : [])));

      for (const block of doc.blocks) {
        const name = `${file}:${block.line}`;
        const a = block.annotation;
        if (a.skip) {
          it.skip(`${name} (not run: ${a.skip})`, () => {});
          continue;
        }
        const body = testFor(block, saved, workspace);
        if (body === null) continue;
        const todo = EXPECTED_TO_FAIL[name];
        if (todo) it.fails(`${name} (expected to fail: ${todo})`, body);
        else it(name, body);
      }
    });
  }
});

describe("expected-to-fail entries", () => {
  it("each names a block of the docs", () => {
    const blocks = new Set([...docs.values()].flatMap((d) => d.blocks.map((b) => `${b.file}:${b.line}`)));
    expect(Object.keys(EXPECTED_TO_FAIL).filter((k) => !blocks.has(k))).toEqual([]);
  });
});

const hasPython = spawnSync("python3", ["--version"]).status === 0;

function testFor(block: Block, files: ReadonlyMap<string, string>, workspace: () => Workspace): ((ctx: TestContext) => Promise<void> | void) | null {
  const where = `${block.file}:${block.line}`;
  const a = block.annotation;
  if (block.annotationError) return () => expect.fail(block.annotationError);
  const problem = blockProblem(block);
  if (problem !== null) return () => expect.fail(`${where}: ${problem}`);
  if (a.run) return () => runOutput(block, workspace());
  if (a.eachLine !== undefined) return () => runEachLine(block, files);
  switch (block.lang) {
    case "armor":
      return () => runPolicy(block, files, workspace);
    case "sh":
    case "console":
      return () => runCommands(block, workspace());
    case "js":
    case "mjs":
      return async () => {
        const unchecked = uncheckedValues(block.content);
        if (unchecked.length > 0) expect.fail(`${where}: a value shown in a comment is not checked; write it as \`// => VALUE\`: ${unchecked.join(" | ")}`);
        const r = await runJs(workspace(), block);
        expect(r.status, `${where}: the script failed\n${r.stderr}${r.stdout}`).toBe(0);
      };
    case "json":
      return () => runJson(block, files, workspace);
    case "python":
    case "py":
      return async (ctx) => {
        if (!hasPython) return ctx.skip("python3 is not installed");
        const r = await runPython(workspace(), block);
        expect(r.status, `${where}: the script failed\n${r.stderr}${r.stdout}`).toBe(0);
      };
    case "":
      return () => expect.fail(`${where}: a block without an info string; say what it is (\`text\` for prose, or a language)`);
    default:
      return null;
  }
}

async function runPolicy(block: Block, saved: ReadonlyMap<string, string>, workspace: () => Workspace): Promise<void> {
  const where = `${block.file}:${block.line}`;
  const a = block.annotation;
  const files = new Map(saved);
  if (a.schema) {
    const named = block.content.match(/^schema\s+"([^"]+)"/m)?.[1];
    if (!named) expect.fail(`${where}: a \`schema\` annotation on a policy without a \`schema\` line`);
    files.set(named.split("/").pop()!, readFileSync(join(repoRoot, a.schema), "utf8"));
  }
  const fileName = block.content.match(/^\/\/ (\S+\.armor),/)?.[1] ?? "policy.armor";
  if (fileName.endsWith(".test.armor")) return runTestFile(block, fileName, workspace());
  const c = checkPolicy(block.content, files, fileName);
  const code = sectionCode(block);
  if (a.expect) {
    expect(c.codes, `${where}: the diagnostics shown\n${c.summary}`).toEqual(a.expect);
  } else if (code && !block.afterFix) {
    const all = c.summary;
    expect(all.includes(` ${code}:`), `${where}: the example of ${code} does not show it\n${all}`).toBe(true);
    expect(
      [...new Set(c.codes)].filter((x) => x !== code),
      `${where}: the example of ${code} shows other problems\n${all}`,
    ).toEqual([]);
  } else if (code) {
    expect(c.summary.includes(` ${code}:`), `${where}: the fixed example still shows ${code}\n${c.summary}`).toBe(false);
    expect(c.summary.includes("error "), `${where}: the fixed example has errors\n${c.summary}`).toBe(false);
  } else {
    expect(c.codes, `${where}: a policy in the docs shows errors or warnings (annotate \`expect CODES\` if it means to)\n${c.summary}`).toEqual([]);
  }
  for (const d of a.decide ?? []) {
    const got = c.decide(JSON.parse(d.input), d.stage);
    expect(got.decision, `${where}: decide ${d.stage} ${d.input}`).toBe(d.decision);
    if (d.by)
      expect(
        got.rules.map((r) => r.id),
        `${where}: rules fired for ${d.input}`,
      ).toEqual(d.by);
  }
}

/** A block that is a `NAME.test.armor` file (its first line says so) runs through `armorc test`, alone in a folder. */
async function runTestFile(block: Block, fileName: string, ws: Workspace): Promise<void> {
  const where = `${block.file}:${block.line}`;
  const dir = `test-file-${block.line}`;
  const r = await runCommand(ws, `mkdir -p ${dir} && cat > ${dir}/${fileName} && armorc test ${dir}/${fileName}`, block.content);
  const code = sectionCode(block);
  const shown = r.stdout + r.stderr;
  if (code) expect(shown, `${where}: armorc test on the example of ${code}`).toContain(`[${code}]`);
  else expect(r.status, `${where}: armorc test ${fileName}\n${shown}`).toBe(0);
}

/** An `each-line` block: every line a rule with the diagnostic it shows in a trailing comment. */
function runEachLine(block: Block, saved: ReadonlyMap<string, string>): void {
  const where = `${block.file}:${block.line}`;
  const wrong: string[] = [];
  for (const [i, line] of block.content.replace(/\n$/, "").split("\n").entries()) {
    const m = line.match(/^(.*?)\s*\/\/\s*(A\d{3}) (error|warning)\b/);
    if (!m) {
      wrong.push(`line ${block.line + 1 + i}: no \`// CODE severity\` comment`);
      continue;
    }
    const c = checkPolicy(`${block.annotation.eachLine}\n${m[1]}\n`, saved);
    if (c.withSeverity.join(", ") !== `${m[2]} ${m[3]}`) wrong.push(`line ${block.line + 1 + i}: \`${m[1]}\` shows ${c.withSeverity.join(", ") || "nothing"}, not ${m[2]} ${m[3]}`);
  }
  expect(wrong, `${where}: the diagnostics shown`).toEqual([]);
}

async function runCommands(block: Block, ws: Workspace): Promise<void> {
  const where = `${block.file}:${block.line}`;
  if (block.annotation.files) ws.addFiles(block.annotation.files);
  const commands = commandsOf(block.content);
  for (const [i, command] of commands.entries()) {
    if (/\barmor serve\b/.test(command)) await exerciseServe(ws, command);
    else if (/\barmor mcp\b/.test(command)) await exerciseMcp(ws, command);
    else {
      const r = await runCommand(ws, command);
      const want = i === commands.length - 1 ? (block.annotation.exit ?? 0) : 0;
      expect(r.status, `${where}: \`${command}\` exited with ${r.status}\n${r.stderr.slice(-3000)}${r.stdout.slice(-3000)}`).toBe(want);
    }
  }
}

async function runOutput(block: Block, ws: Workspace): Promise<void> {
  const where = `${block.file}:${block.line}`;
  const a = block.annotation;
  if (a.files) ws.addFiles(a.files);
  const r = await runCommand(ws, a.run!);
  expect(r.status, `${where}: \`${a.run}\` exited with ${r.status}\n${r.stderr}${r.stdout}`).toBe(a.exit ?? 0);
  const diff = compareOutput(block, a.stderr ? r.stderr : r.stdout);
  if (diff !== null) expect.fail(`${where}: the output shown is not what \`${a.run}\` prints; ${diff}`);
}

async function runJson(block: Block, saved: ReadonlyMap<string, string>, workspace: () => Workspace): Promise<void> {
  const where = `${block.file}:${block.line}`;
  const code = sectionCode(block);
  if (code && SCHEMA_CODES.has(code)) {
    const files = new Map(saved);
    files.set("bad.schema.json", block.content);
    const c = checkPolicy('schema "./bad.schema.json"\ndefault allow\nwhen action.type == "x" deny\n', files);
    expect(c.codes, `${where}: the schema of ${code}\n${c.summary}`).toContain(code);
    return;
  }
  if (code && INPUT_CODES.has(code)) {
    const r = await runCommand(workspace(), "armorc eval examples/payments/policy.armor --input -", block.content);
    expect(r.status, `${where}: armorc eval on the input of ${code}\n${r.stderr}`).toBe(2);
    expect(r.stderr + r.stdout, `${where}: armorc eval on the input of ${code}`).toContain(code);
    return;
  }
  expect(() => JSON.parse(block.content), `${where}: not JSON`).not.toThrow();
}

// ---- links ------------------------------------------------------------------------------------

describe("links", () => {
  for (const doc of docs.values()) {
    for (const link of doc.links) {
      if (/^[a-z]+:/i.test(link.href)) continue; // http(s), mailto: outside the repository
      it(`${link.file}:${link.line} ${link.href}`, () => {
        const [path, anchor] = link.href.split("#") as [string, string | undefined];
        const target = path === "" ? link.file : normalize(join(dirname(link.file), decodeURI(path)));
        const abs = resolve(repoRoot, target);
        expect(relative(repoRoot, abs).startsWith(".."), `${link.file}:${link.line}: ${link.href} leaves the repository`).toBe(false);
        expect(exists(target) || isDir(abs), `${link.file}:${link.line}: ${link.href}: no file ${target}`).toBe(true);
        if (anchor === undefined || !target.endsWith(".md")) return;
        const anchors = docs.get(target)?.anchors ?? readMarkdown(target, readFileSync(abs, "utf8")).anchors;
        expect(anchors.has(anchor), `${link.file}:${link.line}: ${link.href}: no heading #${anchor} in ${target}`).toBe(true);
      });
    }
  }
});

// ---- figures ----------------------------------------------------------------------------------

/**
 * Performance figures come from one place, bench/RESULTS.md: a figure in prose must stand in a
 * paragraph that links to bench/RESULTS.md, and must be written there too. Numbers with a unit
 * that are not measurements (limits, timeouts) are listed here with what they are.
 */
const NOT_FIGURES: Record<string, string> = {
  "packages/runtime/README.md 1 ms": "2^31 − 1 ms, the longest delay setTimeout holds",
};

describe("figures", () => {
  const results = readFileSync(join(repoRoot, "bench", "RESULTS.md"), "utf8");
  for (const doc of docs.values()) {
    it(`${doc.file}: performance figures come from bench/RESULTS.md`, () => {
      const wrong: string[] = [];
      for (const f of doc.figures) {
        if (NOT_FIGURES[`${f.file} ${f.text}`]) continue;
        if (!f.links.some((l) => /(^|\/)bench\/RESULTS\.md(#|$)/.test(l))) wrong.push(`${f.file}:${f.line}: the figure ${f.text} does not link to bench/RESULTS.md; quote it from there or remove it`);
        else if (!results.includes(f.number)) wrong.push(`${f.file}:${f.line}: the figure ${f.text} is not in bench/RESULTS.md`);
      }
      expect(wrong).toEqual([]);
    });
  }
});

function isDir(abs: string): boolean {
  try {
    readdirSync(abs);
    return true;
  } catch {
    return false;
  }
}
