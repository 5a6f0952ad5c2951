/** Reading a JSON Schema document: objects, and local `$ref`s (`#/...`) resolved to the node they name. */

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function has(o: Json, key: string): boolean {
  return Object.hasOwn(o, key);
}

/**
 * The node a local `$ref` names, with its JSON pointer (as written, in URI-fragment encoding);
 * null for a reference to another document, a malformed escape or a path that does not exist.
 */
export function resolveRef(root: Json, ref: string): { node: unknown; pointer: string } | null {
  if (!ref.startsWith("#")) return null;
  const pointer = ref.slice(1);
  let node: unknown = root;
  for (const raw of pointer.split("/").slice(1)) {
    let key: string;
    try {
      key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    } catch {
      return null;
    }
    if (!isObject(node) || !has(node, key)) return null;
    node = node[key];
  }
  return { node, pointer };
}
