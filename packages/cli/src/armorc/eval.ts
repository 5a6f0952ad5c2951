/** `armorc eval FILE --input INPUT.json [--stage S] [--explain]`: decide one input with the compiled policy. */
import {
  catalog,
  compileSource,
  emit,
  evaluatePolicy,
  explainRules,
  jsonTooDeepAt,
  loadModule,
  MAX_NESTING,
  makeDiagnostic,
  parseJsonText,
  type Stage,
  span,
  stageOfInput,
} from "@agent-armor/compiler";
import { colors, printDiagnostics, readSource, sourcesOf, UsageError } from "../io.js";
import type { Command } from "./main.js";

/** Parses JSON input; a syntax error becomes a diagnostic at the offending position. */
export function parseJsonInput(name: string, text: string): { ok: true; value: unknown } | { ok: false; diagnostic: ReturnType<typeof makeDiagnostic> } {
  // deciding, explaining and printing the input all recurse on its nesting
  const deep = jsonTooDeepAt(text);
  if (deep >= 0) {
    return {
      ok: false,
      diagnostic: makeDiagnostic(catalog.nestingTooDeep, name, span(deep, deep + 1), `the input nests deeper than ${MAX_NESTING} levels`, {
        help: `lists and objects in an input may nest at most ${MAX_NESTING} deep`,
      }),
    };
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    return {
      ok: false,
      diagnostic: makeDiagnostic(catalog.inputInvalidJson, name, span(parsed.start, parsed.end), `the input is not valid JSON: ${parsed.message}`, {
        help: 'an input is a JSON object such as `{ "action": { "type": "send_email" } }`',
      }),
    };
  }
  // JSON reads 1e400 as Infinity: a number that is not finite is invalid input, as in the runtime
  const huge = nonFiniteNumber(text);
  if (huge !== null) {
    return {
      ok: false,
      diagnostic: makeDiagnostic(catalog.inputInvalid, name, span(huge.start, huge.end), `the number \`${huge.text.length > 40 ? `${huge.text.slice(0, 40)}…` : huge.text}\` has no finite value`, {
        help: "numbers in an input must lie within about ±1.8e308",
      }),
    };
  }
  return { ok: true, value: parsed.value };
}

/** The first number token of valid JSON text whose value is not finite (JSON.parse reads it as ±Infinity). */
function nonFiniteNumber(text: string): { start: number; end: number; text: string } | null {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      // digits, '.', exponent and its sign: the rest of a number token of valid JSON
      while (j < text.length && /[0-9.eE+-]/.test(text[j]!)) j++;
      const token = text.slice(i, j);
      if (!Number.isFinite(Number(token))) return { start: i, end: j, text: token };
      i = j - 1;
    }
  }
  return null;
}

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
    printDiagnostics(io, io.stderr, compilation.diagnostics, sourcesOf([[file, read.text]]), "text");
    if (!compilation.ok) return 1;
    const module = await loadModule(emit(compilation).js);
    const stage = (stageName as Stage | undefined) ?? stageOfInput(input.value);
    // every module compiled today has the three; one compiled before stages has only `decide`
    const decideFn = stage === "result" ? module.decideResult : stage === "output" ? module.decideOutput : module.decide;
    const decision = decideFn!.call(module, input.value);
    if (values.explain === true) {
      const { explanations } = evaluatePolicy(compilation.policy, input.value, { explain: true, stage });
      io.stderr.write(explainRules(compilation.source, explanations, colors(io, io.stderr)));
    }
    io.stdout.write(`${JSON.stringify(decision, null, 2)}\n`);
    return 0;
  },
};
