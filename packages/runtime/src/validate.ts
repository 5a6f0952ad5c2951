/**
 * Input validation: when a policy names a schema, every action is checked against it (ajv) before
 * deciding; an invalid action is denied with the errors.
 *
 * The compiler owns the choice of branch: a compiled module's `actionBranches` gives, for each
 * action type of a union keyed by `type`, the JSON pointer of the alternative that alone decides
 * an action of that type. An action of such a type is checked against that alternative only
 * (compiled on first use), so its errors are its own type's, not every other type's, and a valid
 * action costs one alternative rather than the whole union. An action of a type the schema does
 * not know gets one error saying so; anything else (no branches, a type with a null branch, an
 * action without a string `type`) is checked against the whole schema. "A type the schema does
 * not know" is said only of a closed union (every type has its branch); otherwise an open
 * alternative may accept the action, and the whole schema's errors are shown.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";

export type ActionValidator = (action: unknown) => string[] | null;

type Branches = Readonly<Record<string, string | null>>;

/** Errors reported per action, at most. */
const MAX_ERRORS = 10;
/** Action types named when a type is not one of them, at most. */
const TYPES_NAMED = 5;

/** A JSON pointer's fields, unescaped (`~1` is `/`, `~0` is `~`), joined by dots as a policy writes them. */
function fieldPath(pointer: string): string {
  return pointer
    .slice(1)
    .split("/")
    .map((f) => f.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
}

function describe(e: ErrorObject, type: string | null): string {
  const where = e.instancePath !== "" ? `\`${fieldPath(e.instancePath)}\`` : type !== null ? `\`${type}\`` : "the action";
  if (e.keyword === "additionalProperties") return `${where} has an unexpected field \`${String(e.params.additionalProperty)}\``;
  if (e.keyword === "required") return `${where} lacks the field \`${String(e.params.missingProperty)}\``;
  if ((e.keyword === "oneOf" || e.keyword === "anyOf") && e.instancePath === "" && type === null) return `${where} matches none of the action types in the schema`;
  return `${where} ${e.message ?? "is invalid"}`;
}

/** The errors worth showing: a union's own "matches none" only when its alternatives said nothing more specific. */
function describeAll(errors: readonly ErrorObject[], type: string | null): string[] {
  const specific = errors.filter((e) => e.keyword !== "oneOf" && e.keyword !== "anyOf" && !(e.keyword === "const" && e.instancePath === "/type"));
  const shown = (specific.length > 0 ? specific : errors).map((e) => describe(e, type));
  return [...new Set(shown)].slice(0, MAX_ERRORS);
}

function someTypes(known: readonly string[]): string {
  const named = known
    .slice(0, TYPES_NAMED)
    .map((t) => `\`${t}\``)
    .join(", ");
  return known.length > TYPES_NAMED ? `${named}, … (${known.length} in all)` : named;
}

function unknownType(type: string, known: readonly string[]): string {
  return `the action type \`${type}\` is not one of the schema's action types (${someTypes(known)})`;
}

function noType(known: readonly string[]): string {
  return `the action has no string \`type\` naming one of the schema's action types (${someTypes(known)})`;
}

/** The `type` of an action that is a plain object with a string `type`, read as an own property; otherwise null. */
function typeOf(action: unknown): string | null {
  if (typeof action !== "object" || action === null || Array.isArray(action)) return null;
  if (!Object.hasOwn(action, "type")) return null;
  const type = (action as Record<string, unknown>).type;
  return typeof type === "string" ? type : null;
}

function branchTable(branches: Branches | null | undefined): Map<string, string | null> | null {
  if (branches === null || typeof branches !== "object") return null;
  const table = new Map<string, string | null>();
  for (const type of Object.keys(branches)) {
    const pointer = branches[type];
    table.set(type, typeof pointer === "string" ? pointer : null);
  }
  return table.size > 0 ? table : null;
}

/**
 * Compiles a validator for a schema document; `null` when the module has no schema. With the
 * module's `actionBranches`, an action of a known type is checked against its branch only.
 */
export function compileValidator(schema: Readonly<Record<string, unknown>> | null | undefined, branches?: Branches | null): ActionValidator | null {
  if (schema === null || schema === undefined) return null;
  const draft2020 = typeof schema.$schema === "string" && schema.$schema.includes("2020-12");
  const ajv = draft2020 ? new Ajv2020({ allErrors: true, strict: false }) : new Ajv({ allErrors: true, strict: false });
  // registered under its own `$id` (or a name of ours), so that a branch is `id#pointer`
  const id = typeof schema.$id === "string" ? schema.$id : "armor:action-schema";
  ajv.addSchema(schema as Record<string, unknown>, id);
  const whole = ajv.getSchema(id);
  if (whole === undefined) throw new Error(`the action schema cannot be registered as \`${id}\``);
  const table = branchTable(branches);
  const known = table === null ? [] : [...table.keys()];
  // when every type has its branch, the union is closed: an action of another type cannot be valid
  const closed = table !== null && [...table.values()].every((pointer) => pointer !== null);
  // a type's branch validator, compiled on first use; the whole schema when there is none or it
  // does not compile alone, whose errors may be other types' complaints and so do not name the type
  const byType = new Map<string, { validate: ValidateFunction; own: boolean }>();
  const validatorFor = (type: string, pointer: string | null): { validate: ValidateFunction; own: boolean } => {
    let v = byType.get(type);
    if (v === undefined) {
      v = { validate: whole, own: false };
      if (pointer !== null) {
        try {
          const branch = ajv.getSchema(`${id}#${pointer}`);
          if (branch !== undefined) v = { validate: branch, own: true };
        } catch {
          // the whole schema decides
        }
      }
      byType.set(type, v);
    }
    return v;
  };
  return (action) => {
    const type = table === null ? null : typeOf(action);
    if (type !== null && table !== null) {
      const pointer = table.get(type);
      if (pointer === undefined) {
        if (whole(action)) return null;
        return closed ? [unknownType(type, known)] : describeAll(whole.errors ?? [], null);
      }
      const { validate, own } = validatorFor(type, pointer);
      return validate(action) ? null : describeAll(validate.errors ?? [], own ? type : null);
    }
    if (whole(action)) return null;
    // without a string `type`, every branch complains; what is wrong is the type
    if (closed && typeof action === "object" && action !== null && !Array.isArray(action)) return [noType(known)];
    return describeAll(whole.errors ?? [], null);
  };
}
