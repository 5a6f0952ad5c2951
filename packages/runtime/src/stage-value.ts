/**
 * The values the result and output stages decide on, snapshotted once: what a tool returned and
 * what the model is about to say. They come from outside (a tool, a model), so they are read
 * once, field by field, into plain JSON data within the language's limits (docs/language.md
 * §17.3: 64 levels, 100,000 values, 16 MiB of text), and everything after that (the policy, the
 * hash, the audit record, the approver, the agent) sees that copy: a getter or a Proxy is read
 * once, and what a human approves is what is returned.
 *
 * Hand-written rather than a library: it is the twin of the compiler's `checkStageValue`
 * (packages/compiler/src/stage-input.ts, which the runtime cannot import) and gives the same
 * texts, and it must also make the copy in the same bounded pass, which no JSON library does for
 * hostile values (getters, proxies, cycles) within limits.
 */

import { builtInKind, keyPlace, MAX_STAGE_DEPTH, MAX_STAGE_TEXT, MAX_STAGE_VALUES } from "@agent-armor/contract";

/** A snapshot of a stage's value: a plain copy, or why there is none. */
export type StageValue = { readonly copy: unknown; readonly problem: null } | { readonly copy: null; readonly problem: string };

class NotJson extends Error {}

/** The value as plain JSON data (own enumerable fields, keys in their order), or the problem that names where it is not. */
export function snapshotStageValue(v: unknown, what: "result" | "output"): StageValue {
  let values = 0;
  let text = 0;
  const seen = new Set<object>();
  // the place being read, as keys and indexes: a place's text is made only for an error
  // (a field: its key and its position; an element: its index)
  const path: (readonly [string, number] | number)[] = [];
  const at = (): string => what + path.map((k) => (typeof k === "number" ? `[${k}]` : keyPlace(k[0], k[1]))).join("");
  const walk = (x: unknown, depth: number): unknown => {
    if (++values > MAX_STAGE_VALUES) throw new NotJson(`\`${what}\` holds more than 100,000 values`);
    if (x === null || typeof x === "boolean") return x;
    if (typeof x === "number") {
      if (!Number.isFinite(x)) throw new NotJson(`\`${at()}\` is not JSON: a number with no finite value`);
      return x === 0 ? 0 : x;
    }
    if (typeof x === "string") {
      text += x.length;
      if (text > MAX_STAGE_TEXT) throw new NotJson(`\`${what}\` holds more than 16 MiB of text`);
      return x;
    }
    if (typeof x !== "object") throw new NotJson(`\`${at()}\` is not JSON: ${x === undefined ? "undefined" : `a ${typeof x}`}`);
    if (depth >= MAX_STAGE_DEPTH) throw new NotJson(`\`${what}\` nests deeper than 64 levels`);
    if (seen.has(x)) throw new NotJson(`\`${at()}\` is not JSON: it contains itself`);
    const kind = Array.isArray(x) ? null : builtInKind(x);
    if (kind !== null) throw new NotJson(`\`${at()}\` is not JSON: ${kind}`);
    seen.add(x);
    let copy: unknown;
    if (Array.isArray(x)) {
      const n = x.length;
      const a: unknown[] = [];
      for (let i = 0; i < n; i++) {
        path.push(i);
        a.push(walk(x[i], depth + 1));
        path.pop();
      }
      copy = a;
    } else {
      const o: Record<string, unknown> = {};
      const keys = Object.keys(x);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        text += k.length;
        path.push([k, i]);
        const item = walk((x as Record<string, unknown>)[k], depth + 1);
        path.pop();
        // \`__proto__\` is an own field like any other, never the prototype
        if (k === "__proto__") Object.defineProperty(o, k, { value: item, writable: true, enumerable: true, configurable: true });
        else o[k] = item;
      }
      copy = o;
    }
    seen.delete(x);
    return copy;
  };
  try {
    return { copy: walk(v, 0), problem: null };
  } catch (e) {
    // a getter or a Proxy trap that threw, or the stack: the same text the compiled module gives
    return { copy: null, problem: e instanceof NotJson ? e.message : "the input cannot be read: reading it threw an exception" };
  }
}

/**
 * The paths at which a redaction changed a value (`result.notes`, `result.items[2].card`), in
 * document order, at most `limit`: what an audit record says was redacted, never
 * what. Both values are plain JSON within the limits above, so the walk is bounded.
 */
export function changedPaths(root: string, before: unknown, after: unknown, limit = 100): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, at: string): void => {
    if (a === b || out.length >= limit) return;
    if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
      if (Array.isArray(a)) {
        const bs = b as unknown[];
        for (let i = 0; i < Math.max(a.length, bs.length); i++) walk(a[i], bs[i], `${at}[${i}]`);
        return;
      }
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of keys) walk(Object.hasOwn(a, k) ? (a as Record<string, unknown>)[k] : undefined, Object.hasOwn(b, k) ? (b as Record<string, unknown>)[k] : undefined, `${at}.${k}`);
      return;
    }
    out.push(at);
  };
  walk(before, after, root);
  return out;
}
