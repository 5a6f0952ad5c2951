/**
 * Static types of the checker, as sets of JSON kinds. A field's type always includes `null`
 * because a missing field reads as null.
 */
export const NULL = 1;
export const BOOL = 2;
export const NUM = 4;
export const STR = 8;
export const LIST = 16;
export const OBJ = 32;
export const ANY = NULL | BOOL | NUM | STR | LIST | OBJ;

export type Type = number;

const names: [Type, string][] = [
  [BOOL, "boolean"],
  [NUM, "number"],
  [STR, "string"],
  [LIST, "list"],
  [OBJ, "object"],
  [NULL, "null"],
];

/** Describes a type for messages; a field's implicit `null` (missing) is not mentioned. */
export function typeName(t: Type): string {
  if (t === ANY) return "any value";
  if (t !== NULL && (t & NULL) !== 0) t &= ~NULL;
  const parts = names.filter(([bit]) => (t & bit) !== 0).map(([, n]) => n);
  if (parts.length === 0) return "nothing";
  if (parts.length === 1) return `a ${parts[0]}`.replace("a object", "an object");
  return parts.join(" or ");
}

/** The kinds of a JSON Schema `type` keyword. */
export function typeFromJsonSchema(type: unknown): Type {
  const one = (t: unknown): Type => {
    switch (t) {
      case "string":
        return STR;
      case "number":
      case "integer":
        return NUM;
      case "boolean":
        return BOOL;
      case "array":
        return LIST;
      case "object":
        return OBJ;
      case "null":
        return NULL;
      default:
        return ANY;
    }
  };
  if (Array.isArray(type)) return type.reduce((acc: Type, t) => acc | one(t), 0) || ANY;
  return type === undefined ? ANY : one(type);
}

export function typeOfValue(v: unknown): Type {
  if (v === null || v === undefined) return NULL;
  if (typeof v === "boolean") return BOOL;
  if (typeof v === "number") return NUM;
  if (typeof v === "string") return STR;
  if (Array.isArray(v)) return LIST;
  return OBJ;
}
