/**
 * Action schemas. A policy's `schema "file.json"` names a JSON Schema of the actions, shaped as a
 * discriminated union on `type`: `oneOf`/`anyOf` of object schemas (directly or through `$ref`),
 * each with `properties.type` set to a `const` or an `enum`. The schema is validated with ajv
 * (a broken schema is a diagnostic, never a crash) and read into a table of action types and
 * their fields, which the checker, completion and hover use.
 */
import { Ajv, type ErrorObject } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import { lineAndColumn, parseJsonText } from "../json-text.js";
import { jsonTooDeepAt, MAX_NESTING } from "../nesting.js";
import { isObject, type Json, resolveRef } from "./json-ref.js";
import { actionBranches } from "./schema-branches.js";
import { ANY, LIST, OBJ, type Type, typeFromJsonSchema } from "./types.js";

export interface FieldInfo {
  readonly name: string;
  readonly type: Type;
  readonly description: string | null;
  /** Allowed values, from `enum` or `const`. */
  readonly values: readonly unknown[] | null;
  readonly required: boolean;
  /** Fields of an object-typed field. */
  readonly fields: ReadonlyMap<string, FieldInfo> | null;
  /** Whether fields beyond `fields` are allowed (false when `additionalProperties: false`). */
  readonly open: boolean;
  /** JSON pointer of the property's schema within the file, for go-to-definition. */
  readonly pointer: string;
  /** The elements of a list-typed field, when its schema has `items` (an object schema). */
  readonly items: FieldInfo | null;
}

export interface ActionTypeInfo {
  readonly name: string;
  readonly description: string | null;
  readonly fields: ReadonlyMap<string, FieldInfo>;
  readonly open: boolean;
  readonly pointer: string;
  /**
   * What a tool of this type returns, from the optional `result` keyword beside `properties` in
   * the type's object schema (a JSON Schema; validators ignore it); null without one.
   */
  readonly result: FieldInfo | null;
}

export interface ActionSchema {
  readonly path: string;
  /** The parsed schema document. */
  readonly document: unknown;
  readonly types: ReadonlyMap<string, ActionTypeInfo>;
  /** The ajv validation function for actions, compiled once. */
  readonly validate: ActionValidateFunction;
  /**
   * For each action type, the JSON pointer of the union alternative that alone decides whether an
   * action of that type is valid, or null when only the whole schema does (schema-branches.ts).
   * Compiled modules carry it as `actionBranches`.
   */
  readonly branches: ReadonlyMap<string, string | null>;
  /** The validation function for actions of a type: its branch's, compiled on first use, or `validate`. */
  validatorFor(type: string): ActionValidateFunction;
  /** The validation function for what a tool of a type returns (its `result` schema), or null when it has none. */
  resultValidatorFor(type: string): ActionValidateFunction | null;
}

export type ActionValidateFunction = ((action: unknown) => boolean) & { errors?: ErrorObject[] | null };

export type SchemaLoad =
  | { readonly ok: true; readonly schema: ActionSchema }
  | { readonly ok: false; readonly problem: "invalid-json" | "invalid-schema"; readonly message: string; readonly help: string };

/** Loaded schemas by path and text: ajv compiles a schema once per process, however often it is checked. */
const cache = new Map<string, SchemaLoad>();
const CACHE_LIMIT = 64;

export function loadActionSchema(path: string, text: string): SchemaLoad {
  const key = `${path}\u0000${text}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const loaded = loadUncached(path, text);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(key, loaded);
  return loaded;
}

function loadUncached(path: string, text: string): SchemaLoad {
  // ajv and the walk below recurse on the document's nesting
  if (jsonTooDeepAt(text) >= 0) {
    return {
      ok: false,
      problem: "invalid-schema",
      message: `\`${path}\` nests deeper than ${MAX_NESTING} levels`,
      help: `schemas, like policies and inputs, may nest at most ${MAX_NESTING} deep (docs/language.md §3.8); name deep parts with \`$defs\` and \`$ref\``,
    };
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const at = lineAndColumn(text, parsed.start);
    return { ok: false, problem: "invalid-json", message: `\`${path}\` is not valid JSON at ${at}: ${parsed.message}`, help: "fix the JSON syntax of the schema file" };
  }
  const doc: unknown = parsed.value;
  if (!isObject(doc)) {
    return { ok: false, problem: "invalid-schema", message: `\`${path}\` is not a JSON Schema object`, help: "a schema file holds one JSON object" };
  }
  const draft2020 = typeof doc.$schema === "string" && doc.$schema.includes("2020-12");
  const ajv = draft2020 ? new Ajv2020({ allErrors: true, strict: false }) : new Ajv({ allErrors: true, strict: false });
  // registered under its own `$id` (or a name of ours), so that a branch is `id#pointer`
  const id = typeof doc.$id === "string" ? doc.$id : "armor:action-schema";
  let validate: ActionValidateFunction;
  try {
    ajv.addSchema(doc, id);
    const whole = ajv.getSchema(id);
    if (whole === undefined) throw new Error(`the schema cannot be registered as \`${id}\``);
    validate = whole;
  } catch (e) {
    return {
      ok: false,
      problem: "invalid-schema",
      message: `\`${path}\` is not a valid JSON Schema: ${(e as Error).message}`,
      help: "check the schema against its `$schema` draft; every `$ref` must resolve",
    };
  }
  const types = new Map<string, ActionTypeInfo>();
  const results: { node: unknown; pointer: string }[] = [];
  collectVariants(doc, doc, "", types, new Set(), results);
  // `result` is this project's keyword, which ajv (strict: false) passes over: checked here
  for (const r of results) {
    const problem = !isObject(r.node) ? "is not a JSON Schema object" : ajv.validateSchema(r.node) ? null : `is not a valid JSON Schema: ${ajv.errorsText(ajv.errors, { dataVar: "result" })}`;
    if (problem !== null) {
      return {
        ok: false,
        problem: "invalid-schema",
        message: `\`${path}\`: \`#${r.pointer}\` ${problem}`,
        help: "`result` describes what a tool of this type returns: a JSON Schema, as `properties` holds for its fields",
      };
    }
  }
  const branches = actionBranches(doc);
  const byType = new Map<string, ActionValidateFunction>();
  const validatorFor = (type: string): ActionValidateFunction => {
    let v = byType.get(type);
    if (v === undefined) {
      v = branchValidator(ajv, id, branches.get(type)) ?? validate;
      byType.set(type, v);
    }
    return v;
  };
  const resultValidatorFor = (type: string): ActionValidateFunction | null => {
    const pointer = types.get(type)?.result?.pointer;
    return pointer === undefined ? null : branchValidator(ajv, id, pointer);
  };
  return { ok: true, schema: { path, document: doc, types, validate, branches, validatorFor, resultValidatorFor } };
}

function branchValidator(ajv: Ajv, id: string, pointer: string | null | undefined): ActionValidateFunction | null {
  if (pointer === null || pointer === undefined) return null;
  try {
    return ajv.getSchema(`${id}#${pointer}`) ?? null;
  } catch {
    return null; // a branch ajv cannot compile alone: the whole schema decides
  }
}

function deref(root: Json, node: unknown, pointer: string, seen: Set<string>): { node: unknown; pointer: string } {
  let current = { node, pointer };
  while (isObject(current.node) && typeof current.node.$ref === "string") {
    const ref = current.node.$ref;
    if (seen.has(ref)) break;
    seen.add(ref);
    const next = resolveRef(root, ref);
    if (next === null) break;
    current = next;
  }
  return current;
}

/** Unions nested (through `$ref`s) deeper than this are not read. */
const MAX_UNION_DEPTH = 64;

/** Reads each node once, so unions that refer to each other (or to themselves) end. */
function collectVariants(root: Json, node: unknown, pointer: string, out: Map<string, ActionTypeInfo>, visited: Set<unknown>, results: { node: unknown; pointer: string }[], depth = 0): void {
  const r = deref(root, node, pointer, new Set());
  if (!isObject(r.node) || visited.has(r.node) || depth > MAX_UNION_DEPTH) return;
  visited.add(r.node);
  for (const key of ["oneOf", "anyOf"] as const) {
    const list = r.node[key];
    if (Array.isArray(list)) for (const [i, v] of list.entries()) collectVariants(root, v, `${r.pointer}/${key}/${i}`, out, visited, results, depth + 1);
  }
  const props = r.node.properties;
  if (!isObject(props)) return;
  const typeProp = deref(root, props.type, `${r.pointer}/properties/type`, new Set()).node;
  if (!isObject(typeProp)) return;
  const names: string[] = typeof typeProp.const === "string" ? [typeProp.const] : Array.isArray(typeProp.enum) ? typeProp.enum.filter((x): x is string => typeof x === "string") : [];
  const fields = readFields(root, r.node, r.pointer);
  const resultSchema = deref(root, r.node.result, `${r.pointer}/result`, new Set());
  if (r.node.result !== undefined) results.push({ node: resultSchema.node, pointer: resultSchema.pointer });
  const result = isObject(resultSchema.node) ? fieldInfo(root, "result", resultSchema.node, resultSchema.pointer, true, 0) : null;
  for (const name of names) {
    if (out.has(name)) continue;
    out.set(name, {
      name,
      description: typeof r.node.description === "string" ? r.node.description : null,
      fields,
      open: r.node.additionalProperties !== false,
      pointer: r.pointer,
      result,
    });
  }
}

function readFields(root: Json, objectSchema: Json, pointer: string, depth = 0): Map<string, FieldInfo> {
  const fields = new Map<string, FieldInfo>();
  const props = objectSchema.properties;
  const required = new Set(Array.isArray(objectSchema.required) ? objectSchema.required : []);
  if (!isObject(props) || depth > 8) return fields;
  for (const [name, raw] of Object.entries(props)) {
    const p = deref(root, raw, `${pointer}/properties/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`, new Set());
    const s = isObject(p.node) ? p.node : {};
    fields.set(name, fieldInfo(root, name, s, p.pointer, required.has(name), depth));
  }
  return fields;
}

/** A property's schema `s` (dereferenced) as a field: its type, allowed values, fields and elements. */
function fieldInfo(root: Json, name: string, s: Json, pointer: string, required: boolean, depth: number): FieldInfo {
  let type: Type = typeFromJsonSchema(s.type);
  let values: unknown[] | null = null;
  if ("const" in s) values = [s.const];
  else if (Array.isArray(s.enum)) values = s.enum;
  if (values !== null && s.type === undefined) {
    type = values.reduce((acc: Type, v) => acc | typeFromJsonSchema(jsonKind(v)), 0) || ANY;
  }
  const nested = (type & OBJ) !== 0 && isObject(s.properties) ? readFields(root, s, pointer, depth + 1) : null;
  let items: FieldInfo | null = null;
  if ((type & LIST) !== 0 && isObject(s.items) && depth <= 8) {
    // the elements of a list, read by `any(x in LIST: ...)`: `x` has their type and fields
    const it = deref(root, s.items, `${pointer}/items`, new Set());
    if (isObject(it.node)) items = fieldInfo(root, "[]", it.node, it.pointer, true, depth + 1);
  }
  return {
    name,
    type,
    description: typeof s.description === "string" ? s.description : null,
    values,
    required,
    fields: nested,
    open: s.additionalProperties !== false,
    pointer,
    items,
  };
}

function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v === "number" ? "number" : typeof v;
}
