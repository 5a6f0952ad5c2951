/**
 * The values the result and output stages decide on: what a tool returned (`input.result`) and
 * what the model is about to say (`input.output`). They come from outside the policy's world (a
 * tool, a model) and are checked to be JSON, within limits, before any rule reads them: a value
 * that is not (a getter that throws, a cycle, a BigInt, a function, a non-finite number,
 * `undefined`, too deep, too large) is denied, never passed through unchecked. The emitted twin is
 * `$stageValue` in codegen/prelude.ts; the two give the same texts.
 */
import { builtInKind, keyPlace, MAX_STAGE_DEPTH, MAX_STAGE_TEXT, MAX_STAGE_VALUES } from "@agent-armor/contract";
import { EvaluationError, readField } from "./semantics.js";

/**
 * A copy of `v` made in one read, checked to be JSON within the limits; throws an EvaluationError
 * naming `what` and the place (`result.items[3]`) otherwise. Objects are read by their own
 * enumerable keys, lists by index; a getter or a Proxy trap that throws propagates (the caller
 * reports it). The rules read the copy and the decision carries it, so a getter cannot show the
 * check one value and the rules another.
 */
export function checkStageValue(v: unknown, what: string): unknown {
  let values = 0;
  let text = 0;
  const seen = new Set<object>();
  const walk = (x: unknown, at: string, depth: number): unknown => {
    if (++values > MAX_STAGE_VALUES) throw new EvaluationError(`${what} holds more than 100,000 values`);
    if (x === null || typeof x === "boolean") return x;
    if (typeof x === "number") {
      if (!Number.isFinite(x)) throw new EvaluationError(`\`${at}\` is not JSON: a number with no finite value`);
      return x;
    }
    if (typeof x === "string") {
      text += x.length;
      if (text > MAX_STAGE_TEXT) throw new EvaluationError(`${what} holds more than 16 MiB of text`);
      return x;
    }
    if (typeof x !== "object") throw new EvaluationError(`\`${at}\` is not JSON: ${x === undefined ? "undefined" : `a ${typeof x}`}`);
    if (depth >= MAX_STAGE_DEPTH) throw new EvaluationError(`${what} nests deeper than 64 levels`);
    if (seen.has(x)) throw new EvaluationError(`\`${at}\` is not JSON: it contains itself`);
    const kind = Array.isArray(x) ? null : builtInKind(x);
    if (kind !== null) throw new EvaluationError(`\`${at}\` is not JSON: ${kind}`);
    seen.add(x);
    let copy: unknown;
    if (Array.isArray(x)) {
      const list: unknown[] = [];
      for (let i = 0; i < x.length; i++) list.push(walk(x[i], `${at}[${i}]`, depth + 1));
      copy = list;
    } else {
      const o: Record<string, unknown> = {};
      const keys = Object.keys(x);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        text += k.length;
        // defined, not assigned: a key `__proto__` stays an own field
        Object.defineProperty(o, k, { value: walk((x as Record<string, unknown>)[k], at + keyPlace(k, i), depth + 1), writable: true, enumerable: true, configurable: true });
      }
      copy = o;
    }
    seen.delete(x);
    return copy;
  };
  return walk(v, what.replace(/`/g, ""), 0);
}

/** `input.result`, checked and copied; a missing result is `null`. */
export function readResult(input: unknown): unknown {
  return checkStageValue(readField(input, "result"), "`result`");
}

/** `input.output`, checked: an object with a string `text`. */
export function readOutput(input: unknown): Record<string, unknown> {
  const v = readField(input, "output");
  if (v === null || typeof v !== "object" || Array.isArray(v) || typeof readField(v, "text") !== "string") {
    throw new EvaluationError("`output` must be an object with a string `text`");
  }
  return checkStageValue(v, "`output`") as Record<string, unknown>;
}

/** The stages a policy decides. */
export type Stage = "call" | "result" | "output";

/** The stage an input asks for by what it holds: the model's `output`, a tool's `result`, or a call. */
export function stageOfInput(input: unknown): Stage {
  if (input === null || typeof input !== "object") return "call";
  if (Object.hasOwn(input, "output")) return "output";
  return Object.hasOwn(input, "result") ? "result" : "call";
}
