/** `armorc eval FILE --input INPUT.json [--stage S] [--explain]`: decide one input with the compiled policy. */
import { compileSource, emit, evaluatePolicy, explainRules, loadModule, parseJsonInput, type Stage, stageOfInput } from "@agent-armor/compiler";
import { colors, printDiagnostics, readSource, sourcesOf, UsageError } from "../io.js";
import type { Command } from "./main.js";

// the input is read as the language server reads it (the compiler's `parseJsonInput`)
export { parseJsonInput };

const STAGES: readonly Stage[] = ["call", "result", "output"];

export const runEval: Command = {
  name: "eval",
  summary: "decide one input with a policy and print the decision as JSON",
  usage: "armorc eval FILE --input INPUT.json|- [--stage call|result|output] [--explain]",
  help: [
    "The input is { action, user?, context?, time?, history?, session? } as JSON, from a file or",
    "- for stdin, with the tool's `result` (result stage) or the model's `output` (output stage).",
    "The decision is printed to stdout as JSON: decision, rules, approval, action, errors, labels",
    "(and the result or output as rewritten).",
    "",
    "Options:",
    "  -i, --input FILE   the input (required); - reads stdin",
    "  --stage STAGE      call, result or output (default: output when the input has `output`,",
    "                     result when it has `result`, else call)",
    "  --explain          also print, to stderr, every rule's conditions with the values that",
    "                     made them true or false",
  ].join("\n"),
  options: { input: { type: "string", short: "i" }, stage: { type: "string" }, explain: { type: "boolean" } },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError("name exactly one policy file");
    const inputName = values.input as string | undefined;
    if (inputName === undefined) throw new UsageError("--input is required (a JSON file, or - for stdin)");
    const stageName = values.stage as string | undefined;
    if (stageName !== undefined && !(STAGES as readonly string[]).includes(stageName)) throw new UsageError(`--stage is call, result or output, not \`${stageName}\``);
    const file = positionals[0]!;
    const read = readSource(file);
    if (!read.ok) {
      printDiagnostics(io, io.stderr, [read.diagnostic], new Map(), "text");
      return 2;
    }
    const inputText = inputName === "-" ? { ok: true as const, text: await io.readStdin() } : readSource(inputName);
    if (!inputText.ok) {
      printDiagnostics(io, io.stderr, [inputText.diagnostic], new Map(), "text");
      return 2;
    }
    const shownInputName = inputName === "-" ? "<stdin>" : inputName;
    const input = parseJsonInput(shownInputName, inputText.text);
    if (!input.ok) {
      printDiagnostics(io, io.stderr, [input.diagnostic], sourcesOf([[shownInputName, inputText.text]]), "text");
      return 2;
    }
    const compilation = compileSource(file, read.text);
    printDiagnostics(io, io.stderr, compilation.diagnostics, compilation.sources, "text");
    if (!compilation.ok) return 1;
    const module = await loadModule(emit(compilation).js);
    const stage = (stageName as Stage | undefined) ?? stageOfInput(input.value);
    // every module compiled today has the three; one compiled before stages has only `decide`
    const decideFn = stage === "result" ? module.decideResult : stage === "output" ? module.decideOutput : module.decide;
    const decision = decideFn!.call(module, input.value);
    if (values.explain === true) {
      const { explanations } = evaluatePolicy(compilation.policy, input.value, { explain: true, stage });
      io.stderr.write(explainRules(compilation.source, explanations, colors(io, io.stderr), "", compilation.sources));
    }
    io.stdout.write(`${JSON.stringify(decision, null, 2)}\n`);
    return 0;
  },
};
