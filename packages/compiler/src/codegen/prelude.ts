/**
 * The runtime helpers that emitted modules carry, as JavaScript source. Each helper has the
 * semantics of the function of the same meaning in `semantics.ts` (same results, same error
 * messages); the differential test holds them together. Only the helpers a policy uses are
 * emitted. This is the compiler's own constant text; no user text is ever part of it.
 */

export interface Helper {
  readonly source: string;
  readonly needs?: readonly string[];
}

export const helpers: Record<string, Helper> = {
  $hasOwn: { source: `const $hasOwn = Object.prototype.hasOwnProperty;` },
  $f: {
    needs: ["$hasOwn"],
    source: `function $f(o, k) {
  if (o === null || typeof o !== "object" || Array.isArray(o) || !$hasOwn.call(o, k)) return null;
  const v = o[k];
  return v === undefined ? null : v;
}`,
  },
  $E: { source: `class $E extends Error {}` },
  $kind: {
    source: `function $kind(v) {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "list";
  const t = typeof v;
  if (t === "object") return "object";
  if (t === "number" || t === "string" || t === "boolean") return t;
  return "unsupported value";
}`,
  },
  $eq: {
    needs: ["$hasOwn", "$E"],
    // the same depth bound and message as `equals` in semantics.ts
    source: `function $eq(a, b, depth = 0) {
  if (a === b) return true;
  if (a === undefined) return b === null;
  if (b === undefined) return a === null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (depth >= 1000) throw new $E("values nested more than 1000 deep cannot be compared");
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!$eq(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!$hasOwn.call(b, k) || !$eq(a[k], b[k], depth + 1)) return false;
  return true;
}`,
  },
  $ordErr: {
    needs: ["$E", "$kind"],
    source: `function $ordErr(op, a, b) {
  throw new $E("\`" + op + "\` needs two numbers or two strings, got " + $kind(a) + " and " + $kind(b));
}`,
  },
  $ord: {
    needs: ["$ordErr"],
    source: `function $ord(op, a, b) {
  if (a === null || b === null) return false;
  if (!((typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string"))) $ordErr(op, a, b);
  switch (op) {
    case "<": return a < b;
    case "<=": return a <= b;
    case ">": return a > b;
    default: return a >= b;
  }
}`,
  },
  $btw: {
    needs: ["$E", "$kind"],
    source: `function $btw(v, lo, hi) {
  if (v === null || lo === null || hi === null) return false;
  const n = typeof v === "number" && typeof lo === "number" && typeof hi === "number";
  const s = typeof v === "string" && typeof lo === "string" && typeof hi === "string";
  if (!n && !s) throw new $E("\`between\` needs three numbers or three strings, got " + $kind(v) + ", " + $kind(lo) + " and " + $kind(hi));
  return v >= lo && v <= hi;
}`,
  },
  $in: {
    needs: ["$E", "$kind", "$eq"],
    source: `function $in(v, list) {
  if (v === null || list === null) return false;
  if (!Array.isArray(list)) throw new $E("\`in\` needs a list on its right, got " + $kind(list));
  for (const x of list) if ($eq(v, x)) return true;
  return false;
}`,
  },
  $so: {
    needs: ["$E", "$kind", "$eq"],
    source: `function $so(op, a, b) {
  if (a === null || b === null) return false;
  if (op === "contains" && Array.isArray(a)) {
    for (const x of a) if ($eq(x, b)) return true;
    return false;
  }
  if (typeof a !== "string" || typeof b !== "string") {
    throw new $E("\`" + op + "\` needs " + (op === "contains" ? "a string or a list and a string" : "two strings") + ", got " + $kind(a) + " and " + $kind(b));
  }
  return op === "contains" ? a.includes(b) : op === "starts_with" ? a.startsWith(b) : a.endsWith(b);
}`,
  },
  $subj: {
    needs: ["$E", "$kind"],
    source: `function $subj(v) {
  if (v === null) return null;
  if (typeof v !== "string") throw new $E("\`matches\` needs a string, got " + $kind(v));
  return v;
}`,
  },
  $truth: {
    needs: ["$E", "$kind"],
    source: `function $truth(v) {
  if (v === true || v === false) return v;
  if (v === null) return false;
  throw new $E("a condition must be true or false, got " + $kind(v));
}`,
  },
  // what an exception that is not an evaluation error (a getter, a Proxy trap, a revoked Proxy,
  // a stack overflow on a deep value) says: a fixed text, the same as FOREIGN_ERROR in
  // decision-input.ts, because the engine's own messages differ with the operation that threw
  $isE: {
    needs: ["$E"],
    source: `function $isE(e) {
  try {
    return e instanceof $E;
  } catch {
    return false;
  }
}`,
  },
  $err: {
    needs: ["$isE"],
    source: `function $err(errors, e, rule) {
  const message = $isE(e) ? e.message : "reading the input threw an exception";
  (errors ??= []).push({ rule, message });
  return errors;
}`,
  },
  // decide's answer when reading the input (or the tracker values) threw; the action is the
  // input's, when that can be read at all
  $failed: {
    needs: ["$isE", "$f"],
    source: `function $failed(input, e) {
  let action = null;
  try {
    action = input !== null && typeof input === "object" ? $f(input, "action") : null;
  } catch {}
  const message = $isE(e) ? e.message : "the input cannot be read: reading it threw an exception";
  return { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message }] };
}`,
  },
  // a tracker value as the runtime passes it: undefined (scan the history), a finite number or a
  // boolean for count, a boolean or a number (false) for seen; anything else denies
  $tv: {
    needs: ["$E"],
    source: `function $tv(values, i, kind) {
  let v;
  try {
    v = values == null ? undefined : values[i];
  } catch {
    throw new $E("\`trackerValues[" + i + "]\` cannot be read");
  }
  if (v === undefined) return undefined;
  if (kind === "count") {
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number" && v - v === 0) return v;
    throw new $E("\`trackerValues[" + i + "]\` must be a finite number");
  }
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return false;
  throw new $E("\`trackerValues[" + i + "]\` must be true or false");
}`,
  },
  $iso: {
    // the same pattern as ISO_DATE_TIME in decision-input.ts
    source: `const $iso = /^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d{1,9})?)?(?:Z|[+-]\\d{2}:\\d{2})$/;`,
  },
  $now: {
    needs: ["$E", "$f", "$iso"],
    source: `function $now() {
  if ($nowValue === undefined) {
    const raw = $f($I, "time");
    if (raw === null) $nowValue = Date.now();
    else {
      const t = typeof raw === "string" && $iso.test(raw) ? Date.parse(raw) : NaN;
      if (Number.isNaN(t)) throw new $E("\`time\` must be an ISO-8601 date-time with an offset, such as 2026-03-02T10:00:00Z");
      $nowValue = t;
    }
  }
  return $nowValue;
}`,
  },
  $history: {
    needs: ["$E", "$f", "$iso"],
    source: `function $history() {
  if ($historyRead) return $historyActions;
  const raw = $f($I, "history");
  let n = 0;
  if (raw !== null) {
    if (!Array.isArray(raw)) throw new $E("\`history\` must be a list");
    for (let i = 0; i < raw.length; i++) {
      const a = $f(raw[i], "action");
      if (a === null || typeof a !== "object" || Array.isArray(a)) throw new $E("\`history[" + i + "].action\` must be an object");
      const et = $f(raw[i], "time");
      let t = null;
      if (et !== null) {
        t = typeof et === "string" && $iso.test(et) ? Date.parse(et) : NaN;
        if (Number.isNaN(t)) throw new $E("\`history[" + i + "].time\` must be an ISO-8601 date-time with an offset");
      }
      $historyActions[n] = a;
      $historyTimes[n] = t;
      n++;
    }
  }
  $historyActions.length = n;
  $historyTimes.length = n;
  $historyRead = true;
  return $historyActions;
}`,
  },
  $redact: {
    needs: ["$E", "$kind", "$f"],
    source: `function $redact(o, path, depth, program, literal) {
  const key = path[depth];
  const current = $f(o, key);
  if (current === null) return o;
  let next;
  if (depth === path.length - 1) {
    if (program === undefined) next = "[REDACTED]";
    else {
      if (typeof current !== "string") throw new $E("\`redact " + path.join(".") + " matching\` needs a string, got " + $kind(current));
      next = program === null ? current : __reReplace(program, current, "[REDACTED]");
    }
  } else {
    if (typeof current !== "object" || Array.isArray(current)) return o;
    next = $redact(current, path, depth + 1, program, literal);
    if (next === current) return o;
  }
  const copy = { ...o };
  Object.defineProperty(copy, key, { value: next, writable: true, enumerable: true, configurable: true });
  return copy;
}`,
  },
};

/** The helpers a set of names needs, with their dependencies, in a stable order. */
export function helperClosure(names: Iterable<string>): string[] {
  const out = new Set<string>();
  const visit = (n: string): void => {
    if (out.has(n)) return;
    const h = helpers[n];
    if (!h) throw new Error(`unknown helper ${n}`);
    for (const d of h.needs ?? []) visit(d);
    out.add(n);
  };
  for (const n of names) visit(n);
  return [...out];
}
