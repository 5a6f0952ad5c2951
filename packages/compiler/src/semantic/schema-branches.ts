/**
 * Which part of an action schema decides an action of a given type. In a discriminated union
 * (`oneOf`/`anyOf` whose alternatives fix `properties.type` with a `const` or an `enum`), an
 * action whose `type` only one alternative admits is valid exactly when it is valid against that
 * alternative, so validation can check that alternative alone and report only its complaints,
 * instead of every other action type's.
 *
 * The result maps each action type to the JSON pointer of its alternative (`"/oneOf/2"`,
 * `"/$defs/payments/anyOf/0"`, or `""` for a schema of one action type), or to `null` when the
 * alternative alone is not equivalent to the whole schema and the whole schema must be checked:
 * the type is admitted by two alternatives, an alternative admits any type, or a node on the way
 * has constraints of its own. The pointer is the alternative as written (a `{ "$ref": ... }` and
 * its siblings included), in a `$ref`'s URI-fragment encoding, so ajv resolves it as it resolves
 * the schema's own references.
 */

import { has, isObject, type Json, resolveRef } from "./json-ref.js";

/** Keywords that constrain nothing (annotations and containers of definitions). */
const ANNOTATIONS = new Set(["$schema", "$defs", "definitions", "title", "description", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly", "$anchor"]);

/**
 * Whether a node on the way to an alternative adds nothing for an action that is an object with a
 * string `type` (validation uses branches only for such actions): annotations, `type: "object"`
 * and `required: ["type"]`, besides the keyword the way goes through (`$ref`, `oneOf` or `anyOf`).
 * A `$id` below the root moves the base of references, so it is not neutral.
 */
function neutral(node: Json, through: string, isRoot: boolean): boolean {
  for (const key of Object.keys(node)) {
    if (key === through || ANNOTATIONS.has(key) || (isRoot && key === "$id")) continue;
    const value = node[key];
    if (key === "type" && (value === "object" || (Array.isArray(value) && value.includes("object")))) continue;
    if (key === "required" && Array.isArray(value) && value.every((x) => x === "type")) continue;
    return false;
  }
  return true;
}

/** The node a chain of `$ref`s leads to, and whether every hop was neutral; null on a cycle or a reference that does not resolve. */
function follow(root: Json, node: unknown, pointer: string): { node: unknown; pointer: string; pure: boolean } | null {
  let current = { node, pointer, pure: true };
  const seen = new Set<string>();
  while (isObject(current.node) && typeof current.node.$ref === "string") {
    const ref = current.node.$ref;
    if (seen.has(ref)) return null;
    seen.add(ref);
    const pure = current.pure && neutral(current.node, "$ref", current.pointer === "");
    const next = resolveRef(root, ref);
    if (next === null) return null;
    current = { ...next, pure };
  }
  return current;
}

/** The action types a node fixes with `properties.type` (`const` or string `enum`), or null when it fixes none. */
function fixedTypes(root: Json, node: Json): string[] | null {
  const props = node.properties;
  if (!isObject(props) || !has(props, "type")) return null;
  const t = follow(root, props.type, "");
  if (t === null || !isObject(t.node)) return null;
  if (has(t.node, "const")) return typeof t.node.const === "string" ? [t.node.const] : [];
  if (Array.isArray(t.node.enum)) return t.node.enum.filter((x): x is string => typeof x === "string");
  return null;
}

function unionKey(node: Json): "oneOf" | "anyOf" | null {
  const one = Array.isArray(node.oneOf);
  const any = Array.isArray(node.anyOf);
  return one === any ? null : one ? "oneOf" : "anyOf";
}

/** Unions nested (through `$ref`s) deeper than this are not read: their types are not action types. */
const MAX_DEPTH = 64;

type Admits = ReadonlySet<string> | "any";

/** Which action types a schema node can accept: those it fixes, or its alternatives' together; "any" when it does not restrict the type. */
function admits(root: Json, node: unknown, memo: Map<unknown, Admits>, depth = 0): Admits {
  const r = follow(root, node, "");
  if (r === null || depth > MAX_DEPTH) return "any";
  if (r.node === false) return new Set();
  if (!isObject(r.node)) return "any";
  const known = memo.get(r.node);
  if (known !== undefined) return known;
  memo.set(r.node, "any"); // a cycle admits anything: its branches are not used
  const fixed = fixedTypes(root, r.node);
  let result: Admits = "any";
  if (fixed !== null) result = new Set(fixed);
  else {
    const key = unionKey(r.node);
    if (key !== null) {
      const all = new Set<string>();
      for (const alt of r.node[key] as unknown[]) {
        const a = admits(root, alt, memo, depth + 1);
        if (a === "any") {
          result = "any";
          break;
        }
        for (const n of a) all.add(n);
        result = all;
      }
    }
  }
  memo.set(r.node, result);
  return result;
}

/** Maps each action type of the schema to the JSON pointer of the alternative that alone decides it, or to null. */
export function actionBranches(doc: Json): Map<string, string | null> {
  const out = new Map<string, string | null>();
  walk(doc, doc, "", true, out, new Map(), new Set());
  return out;
}

/**
 * Visits each node once: a node reached a second time is reached through two alternatives of
 * some union, whose types that union already marks as undecided (so shared and cyclic
 * references cost no more than the document's size).
 */
function walk(root: Json, node: unknown, pointer: string, exact: boolean, out: Map<string, string | null>, memo: Map<unknown, Admits>, visited: Set<unknown>, depth = 0): void {
  const r = follow(root, node, pointer);
  if (r === null || !isObject(r.node) || visited.has(r.node) || depth > MAX_DEPTH) return;
  visited.add(r.node);
  const fixed = fixedTypes(root, r.node);
  if (fixed !== null) {
    for (const name of fixed) if (!out.has(name)) out.set(name, exact ? pointer : null);
    return;
  }
  const key = unionKey(r.node);
  if (key === null) return;
  const alts = r.node[key] as unknown[];
  const admitted = alts.map((alt) => admits(root, alt, memo));
  const open = admitted.some((a) => a === "any");
  const here = exact && r.pure && neutral(r.node, key, r.pointer === "") && !open;
  for (const [i, alt] of alts.entries()) walk(root, alt, `${r.pointer}/${key}/${i}`, here, out, memo, visited, depth + 1);
  // a type two alternatives admit is decided by the union, not by either alternative
  const seen = new Set<string>();
  for (const a of admitted) {
    if (a === "any") continue;
    for (const name of a) {
      if (seen.has(name)) out.set(name, null);
      seen.add(name);
    }
  }
}

/** The branches as a record for the IR and the compiled module: own keys only, whatever the type names. */
export function branchRecord(branches: ReadonlyMap<string, string | null>): Record<string, string | null> {
  const record: Record<string, string | null> = {};
  for (const [type, pointer] of branches) Object.defineProperty(record, type, { value: pointer, enumerable: true, writable: true, configurable: true });
  return record;
}
