/**
 * Action schemas shaped in the ways a union keyed by `type` is written, shared by the tests of
 * schema branches (compiler, runtime, test files): `oneOf` through `$ref` in draft 2020-12 (the
 * payments example), an inline `anyOf` in draft-07 with nested objects, a union nested in `$defs`,
 * and unions where an alternative alone does not decide (a type in two alternatives, an open
 * alternative, a constraint beside the union).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");

export const payments = JSON.parse(readFileSync(join(repoRoot, "examples", "payments", "actions.schema.json"), "utf8")) as Record<string, unknown>;

const obj = (type: string, properties: Record<string, unknown>, required: string[] = []) => ({
  type: "object",
  properties: { type: { const: type }, ...properties },
  required: ["type", ...required],
  additionalProperties: false,
});

/** Draft-07, inline `anyOf`, a nested object two levels deep. */
export const inlineAnyOf = {
  $schema: "http://json-schema.org/draft-07/schema#",
  anyOf: [
    obj("send_email", { to: { type: "string" }, body: { type: "string", maxLength: 10 } }, ["to"]),
    obj(
      "http_post",
      {
        url: { type: "string" },
        payload: {
          type: "object",
          properties: { headers: { type: "object", properties: { auth: { type: "string" } }, required: ["auth"], additionalProperties: false } },
          required: ["headers"],
        },
      },
      ["url", "payload"],
    ),
  ],
};

/** Draft 2020-12 without `$id`: a union of a type and a union of two more, in `$defs`. */
export const nestedDefs = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["type"],
  oneOf: [{ $ref: "#/$defs/mail" }, { $ref: "#/$defs/files" }],
  $defs: {
    mail: obj("send_email", { to: { type: "string" } }, ["to"]),
    files: {
      description: "file tools",
      oneOf: [obj("read_file", { path: { type: "string" } }, ["path"]), obj("write_file", { path: { type: "string" }, data: { type: "string" } }, ["path", "data"])],
    },
  },
};

/** `b` is admitted by two alternatives: only the whole union decides it. */
export const sharedType = {
  oneOf: [
    { type: "object", properties: { type: { enum: ["a", "b"] }, n: { type: "number" } }, required: ["type", "n"] },
    obj("b", { s: { type: "string" } }, ["s"]),
    obj("c", { s: { type: "string" } }, ["s"]),
  ],
};

/** An alternative that admits any type: no alternative alone decides. */
export const openAlternative = {
  anyOf: [obj("a", { n: { type: "number" } }, ["n"]), { type: "object", properties: { other: { type: "boolean" } } }],
};

/** A constraint beside the union: the alternatives alone would not check it. */
export const constrainedRoot = {
  required: ["type", "id"],
  oneOf: [obj("a", { id: { type: "string" }, n: { type: "number" } }, ["n"])],
};

/** One action type and no union: the whole schema is its branch. */
export const singleType = obj("ping", { host: { type: "string" } }, ["host"]);
