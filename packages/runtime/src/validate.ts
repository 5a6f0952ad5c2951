/**
 * Input validation: when a policy names a schema, every action is checked against it (ajv,
 * compiled once per policy) before deciding; an invalid action is denied with the errors.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";

export type ActionValidator = (action: unknown) => string[] | null;

function describe(e: ErrorObject): string {
  const where = e.instancePath === "" ? "the action" : `\`${e.instancePath.slice(1).replace(/\//g, ".")}\``;
  if (e.keyword === "additionalProperties") return `${where} has an unexpected field \`${String(e.params["additionalProperty"])}\``;
  if (e.keyword === "required") return `${where} lacks the field \`${String(e.params["missingProperty"])}\``;
  if (e.keyword === "oneOf" || e.keyword === "anyOf") return `${where} matches none of the action types in the schema`;
  return `${where} ${e.message ?? "is invalid"}`;
}

/** Compiles a validator for a schema document; `null` when the module has no schema. */
export function compileValidator(schema: Readonly<Record<string, unknown>> | null | undefined): ActionValidator | null {
  if (schema === null || schema === undefined) return null;
  const draft2020 = typeof schema["$schema"] === "string" && schema["$schema"].includes("2020-12");
  const ajv = draft2020 ? new Ajv2020({ allErrors: true, strict: false }) : new Ajv({ allErrors: true, strict: false });
  const validate: ValidateFunction = ajv.compile(schema as Record<string, unknown>);
  return (action) => {
    if (validate(action)) return null;
    const errors = validate.errors ?? [];
    // with a oneOf of action types every branch reports; the variant named by `type` says most
    const specific = errors.filter((e) => e.keyword !== "oneOf" && e.keyword !== "anyOf" && !(e.keyword === "const" && e.instancePath === "/type"));
    const shown = (specific.length > 0 ? specific : errors).map(describe);
    return [...new Set(shown)].slice(0, 10);
  };
}
