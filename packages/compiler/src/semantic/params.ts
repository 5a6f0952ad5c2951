/**
 * The parameters of an imported file (`param NAME: TYPE = DEFAULT`): their types, and the values
 * an importer gives them (`import "..." as n with { NAME: VALUE }`), as constants.
 */
import type * as IR from "../ir.js";
import type * as A from "../syntax/ast.js";

/** The types a parameter may have, as written after `param NAME:` (`[T]` is a list of T). */
const SCALAR_TYPES: ReadonlySet<string> = new Set(["number", "string", "bool"]);

export const PARAM_TYPE_HELP = "a parameter's type is `number`, `string`, `bool`, `[number]` or `[string]`, and its value a literal or a list of literals of that type";

/** The value of data written in a policy, as a constant; objects are not parameter values. */
export function dataValue(v: A.DataValue): IR.Value {
  switch (v.kind) {
    case "literal":
      return v.value;
    case "list":
      return v.elements.map(dataValue);
    case "object": {
      // objects are refused by the type check; built without a prototype so no key reaches one
      const o: Record<string, IR.Value> = Object.create(null);
      for (const e of v.entries) o[e.key.name] = dataValue(e.value);
      return o;
    }
  }
}

function scalarOk(type: string, v: IR.Value): boolean {
  if (type === "number") return typeof v === "number";
  if (type === "string") return typeof v === "string";
  return typeof v === "boolean";
}

/** The type as written: `number`, `[string]`. */
export function paramTypeText(p: A.ParamDecl): string {
  const name = p.type?.name ?? "?";
  return p.list ? `[${name}]` : name;
}

/**
 * Why `value` does not fit the parameter's declared type (`"is a string, not a number"`), or
 * null when it fits. An unknown type name is itself the problem.
 */
export function paramTypeProblem(p: A.ParamDecl, value: IR.Value): string | null {
  const type = p.type?.name;
  if (type === undefined) return null; // a syntax error already says so
  if (!SCALAR_TYPES.has(type)) return `has the unknown type \`${paramTypeText(p)}\``;
  if (p.list) {
    if (!Array.isArray(value)) return `is ${describe(value)}, not a list (\`${paramTypeText(p)}\`)`;
    const bad = (value as readonly IR.Value[]).findIndex((e) => !scalarOk(type, e));
    return bad < 0 ? null : `has element ${bad} ${describe((value as readonly IR.Value[])[bad]!)}, not a ${type}`;
  }
  return scalarOk(type, value) ? null : `is ${describe(value)}, not a ${type}`;
}

function describe(v: IR.Value): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return `a ${typeof v === "boolean" ? "bool" : typeof v}`;
}
