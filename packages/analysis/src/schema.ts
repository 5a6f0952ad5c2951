/**
 * `armorc diff --schema S`: what the action schema allows, as constraints on the vocabulary's
 * variables, so that an input the schema rules out is never a counterexample. The schema is the
 * compiler's reading of it (`ActionSchema`: action types, fields with their JSON types, allowed
 * values, required fields, closed objects). The constraints are never stricter than the schema:
 * where the compiler's reading is coarser than the schema (`anyOf` inside a field, `minimum`,
 * `pattern`, ...), the field is left free, and every example is validated against the schema
 * itself before it is reported.
 */
import type { ActionSchema, FieldInfo } from "@agent-armor/compiler";
import type { Term } from "./smt.js";
import * as smt from "./smt.js";
import { type PathVar, Tag, type Vocabulary } from "./vocabulary.js";

/** The compiler's type bits (semantic/types.ts) and the tags they allow. */
const KINDS: readonly [number, number][] = [
  [1, Tag.null],
  [2, Tag.bool],
  [4, Tag.number],
  [8, Tag.string],
  [16, Tag.list],
  [32, Tag.object],
];

/** The constraints for the inputs whose `action.type` the vocabulary reads (it always does). */
export function schemaConstraints(vocab: Vocabulary, schema: ActionSchema): Term[] {
  const type = vocab.path("action", ["type"]);
  const out: Term[] = [smt.or(...[...schema.types.keys()].map((t) => smt.eq(type.s, smt.str(t))))];
  for (const [name, info] of schema.types) {
    const holds: Term[] = [];
    for (const p of vocab.paths) {
      if (p.root !== "action" || p.fields.length === 0 || (p.fields.length === 1 && p.fields[0] === "type")) continue;
      holds.push(fieldConstraint(vocab, schema, p, info.fields, info.open && !hasPatterns(schema, info.pointer)));
    }
    const all = smt.and(...holds);
    if (all !== smt.TRUE) out.push(`(=> ${smt.eq(type.s, smt.str(name))} ${all})`);
  }
  return out;
}

/** What the schema says of the value at `p`, following its fields from the action's. */
function fieldConstraint(vocab: Vocabulary, schema: ActionSchema, p: PathVar, top: ReadonlyMap<string, FieldInfo>, topOpen: boolean): Term {
  let fields: ReadonlyMap<string, FieldInfo> = top;
  let open = topOpen;
  let info: FieldInfo | null = null;
  for (let i = 0; i < p.fields.length; i++) {
    const f = p.fields[i]!;
    info = fields.get(f) ?? null;
    // a field the schema does not describe: missing when its object is closed, else free
    if (info === null) return open ? smt.TRUE : missing(p);
    if (i < p.fields.length - 1) {
      // an object field described without `properties`: nothing more is known below it
      if (info.fields === null) return smt.TRUE;
      fields = info.fields;
      open = info.open && !hasPatterns(schema, info.pointer);
    }
  }
  if (info === null) return smt.TRUE;
  return valueConstraint(vocab, p, info, parentPresent(vocab, p));
}

function missing(p: PathVar): Term {
  return smt.eq(p.tag, String(Tag.null));
}

/** Whether the object holding `p` is there (so that `required` applies): its path's tag, when it has one. */
function parentPresent(vocab: Vocabulary, p: PathVar): Term {
  if (p.fields.length === 1) return smt.TRUE;
  const parent = vocab.paths.find((q) => q.root === p.root && q.fields.length === p.fields.length - 1 && q.fields.every((f, i) => f === p.fields[i]));
  // without a variable for the parent, `required` is not applied (never stricter than the schema)
  return parent ? smt.eq(parent.tag, String(Tag.object)) : smt.FALSE;
}

function valueConstraint(vocab: Vocabulary, p: PathVar, info: FieldInfo, present: Term): Term {
  const allowed = KINDS.filter(([bit]) => (info.type & bit) !== 0).map(([, tag]) => smt.eq(p.tag, String(tag)));
  // a missing field reads as null: allowed unless the field is required (and its object is there)
  const types = smt.or(...allowed, smt.and(smt.not(present), missing(p)), info.required ? smt.FALSE : missing(p));
  const values = info.values?.every((v) => v === null || typeof v !== "object")
    ? smt.or(missing(p), ...info.values.map((v) => equalsLiteral(vocab, p, v as string | number | boolean | null)))
    : smt.TRUE;
  return smt.and(types, values);
}

function equalsLiteral(_vocab: Vocabulary, p: PathVar, v: string | number | boolean | null): Term {
  if (v === null) return missing(p);
  if (typeof v === "boolean") return smt.and(smt.eq(p.tag, String(Tag.bool)), smt.eq(p.b, String(v)));
  if (typeof v === "number") return Number.isFinite(v) ? smt.and(smt.eq(p.tag, String(Tag.number)), smt.eq(p.n, smt.real(v))) : smt.FALSE;
  return smt.and(smt.eq(p.tag, String(Tag.string)), smt.eq(p.s, smt.str(v)));
}

/**
 * Whether the object schema at `pointer` admits fields beyond `properties` by other keywords
 * (`patternProperties`, `additionalProperties` as a schema, `unevaluatedProperties`,
 * `dependentSchemas`, `if`, `allOf`/`anyOf`/`oneOf`): then its unknown fields are left free.
 */
function hasPatterns(schema: ActionSchema, pointer: string): boolean {
  const node = resolvePointer(schema.document, pointer);
  if (node === null || typeof node !== "object") return true;
  return ["patternProperties", "unevaluatedProperties", "dependentSchemas", "if", "allOf", "anyOf", "oneOf", "$ref"].some((k) => Object.hasOwn(node, k));
}

function resolvePointer(doc: unknown, pointer: string): unknown {
  const hash = pointer.indexOf("#");
  const path = hash >= 0 ? pointer.slice(hash + 1) : pointer;
  let node = doc;
  for (const raw of path.split("/").slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, key)) return null;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
