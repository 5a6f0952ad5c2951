/**
 * The runtime helpers that emitted modules carry, as JavaScript source. Each helper has the
 * semantics of the function of the same meaning in `semantics.ts` (same results, same error
 * messages); the differential test holds them together. Only the helpers a policy uses are
 * emitted. This is the compiler's own constant text; no user text is ever part of it.
 *
 * The work budget (`MAX_WORK` in semantics.ts) is the global `$wb`. The helpers that walk values
 * take a last argument `w`: truthy inside a quantifier's condition, where they charge `$wb` (which
 * the outermost quantifier resets); absent outside, where the comparisons (`$eq`, `$in`, `$so`)
 * reset `$wb` for themselves and the others charge nothing, as the interpreter does.
 */

import { GRANT_SOURCE } from "../grant-source.js";
import { MAX_SCOPE_TEXT, MAX_WORK, STEPS_PER_ELEMENT, STEPS_PER_FIELD, STEPS_PER_VALUE, WORK_LIMIT_MESSAGE } from "../semantics.js";

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
  // the value the result or output stage decides on, set and reset by decideResult/decideOutput
  // the value a result or output stage decides, and whether a stage decision is running: one asked
  // for meanwhile (by a getter or Proxy of the input) is denied, not run over the same slots
  $V: { source: `let $V = null, $deciding = false;` },
  // the labels of the history entry a tracker is testing (\`labels\` in a history condition)
  $itemLabels: { source: `let $itemLabels = null;` },
  $kind: {
    source: `function $kind(v) {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "list";
  const t = typeof v;
  if (t === "object") return "object";
  if (t === "number") return v - v === 0 ? t : "non-finite number";
  if (t === "string" || t === "boolean") return t;
  return "unsupported value";
}`,
  },
  // a scope key (semantics.ts scopeKeyAt, decisionScopeKey): \`per user.id\`
  $scopeOf: {
    needs: ["$f"],
    source: `function $scopeOf(v, fields) {
  for (let i = 0; i < fields.length; i++) v = $f(v, fields[i]);
  if (typeof v === "string") return v.length <= ${MAX_SCOPE_TEXT} ? "s:" + v : null;
  if (typeof v === "number") return v - v === 0 ? "n:" + String(v) : null;
  return null;
}`,
  },
  $scopeKey: {
    needs: ["$f", "$E", "$kind", "$scopeOf"],
    source: `function $scopeKey(root, fields, text) {
  const key = $scopeOf(root, fields);
  if (key !== null) return key;
  let v = root;
  for (let i = 0; i < fields.length; i++) v = $f(v, fields[i]);
  const kind = $kind(v);
  const why =
    kind === "null"
      ? "the decision has no \`" + text + "\`"
      : kind === "string"
        ? "\`" + text + "\` is longer than ${MAX_SCOPE_TEXT.toLocaleString("en-US")} characters"
        : "\`" + text + "\` is " + (kind === "list" ? "a list" : kind === "object" ? "an object" : kind === "boolean" ? "a boolean" : "a " + kind) + ", not a string or a finite number";
  throw new $E("\`per " + text + "\`: " + why);
}`,
  },
  $eq: {
    needs: ["$hasOwn", "$E", "$wb", "$wOver"],
    // the same depth bound, charges and messages as \`equals\` in semantics.ts
    source: `function $eq(a, b, w) {
  if (!w) $wb = ${MAX_WORK};
  return $eqw(a, b, 0);
}
function $eqw(a, b, depth) {
  if (typeof a === "string" && typeof b === "string") {
    if (a.length === b.length && ($wb -= a.length) < 0) $wOver();
    return a === b;
  }
  if (a === b) return true;
  if (a === undefined) return b === null;
  if (b === undefined) return a === null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (depth >= 1000) throw new $E("values nested more than 1000 deep cannot be compared");
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    if (($wb -= a.length * ${STEPS_PER_ELEMENT}) < 0) $wOver();
    for (let i = 0; i < a.length; i++) if (!$eqw(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (($wb -= (ka.length + kb.length) * ${STEPS_PER_FIELD}) < 0) $wOver();
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!$hasOwn.call(b, k) || !$eqw(a[k], b[k], depth + 1)) return false;
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
    needs: ["$ordErr", "$wb", "$wOver"],
    source: `function $ord(op, a, b, w) {
  if (a === null || b === null) return false;
  if (!((typeof a === "number" && a - a === 0 && typeof b === "number" && b - b === 0) || (typeof a === "string" && typeof b === "string"))) $ordErr(op, a, b);
  if (w && typeof a === "string" && ($wb -= a.length < b.length ? a.length : b.length) < 0) $wOver();
  switch (op) {
    case "<": return a < b;
    case "<=": return a <= b;
    case ">": return a > b;
    default: return a >= b;
  }
}`,
  },
  $btw: {
    needs: ["$E", "$kind", "$wb", "$wOver"],
    source: `function $btw(v, lo, hi, w) {
  if (v === null || lo === null || hi === null) return false;
  const n = typeof v === "number" && v - v === 0 && typeof lo === "number" && lo - lo === 0 && typeof hi === "number" && hi - hi === 0;
  const s = typeof v === "string" && typeof lo === "string" && typeof hi === "string";
  if (!n && !s) throw new $E("\`between\` needs three numbers or three strings, got " + $kind(v) + ", " + $kind(lo) + " and " + $kind(hi));
  if (w && s && ($wb -= (v.length < lo.length ? v.length : lo.length) + (v.length < hi.length ? v.length : hi.length)) < 0) $wOver();
  return v >= lo && v <= hi;
}`,
  },
  $in: {
    needs: ["$E", "$kind", "$eq"],
    source: `function $in(v, list, w) {
  if (v === null || list === null) return false;
  if (!Array.isArray(list)) throw new $E("\`in\` needs a list on its right, got " + $kind(list));
  if (!w) $wb = ${MAX_WORK};
  if (($wb -= list.length * ${STEPS_PER_ELEMENT}) < 0) $wOver();
  for (const x of list) if ($eqw(v, x, 0)) return true;
  return false;
}`,
  },
  $so: {
    needs: ["$E", "$kind", "$eq"],
    source: `function $so(op, a, b, w) {
  if (a === null || b === null) return false;
  if (!w) $wb = ${MAX_WORK};
  if (op === "contains" && Array.isArray(a)) {
    if (($wb -= a.length * ${STEPS_PER_ELEMENT}) < 0) $wOver();
    for (const x of a) if ($eqw(x, b, 0)) return true;
    return false;
  }
  if (typeof a !== "string" || typeof b !== "string") {
    throw new $E("\`" + op + "\` needs " + (op === "contains" ? "a string or a list and a string" : "two strings") + ", got " + $kind(a) + " and " + $kind(b));
  }
  if (($wb -= op === "contains" ? a.length + b.length : a.length < b.length ? a.length : b.length) < 0) $wOver();
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
  $scanTime: {
    // scanTime, twoDigits and daysFromCivil in decision-input.ts
    source: `function $twoDigits(s, i) {
  const a = s.charCodeAt(i) - 48, b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}
function $daysFromCivil(year, month, day) {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}
function $scanTime(s) {
  const n = s.length;
  if (n < 17 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58) return "";
  const century = $twoDigits(s, 0), yy = $twoDigits(s, 2), month = $twoDigits(s, 5), day = $twoDigits(s, 8), hour = $twoDigits(s, 11), minute = $twoDigits(s, 14);
  if (century < 0 || yy < 0 || month < 0 || day < 0 || hour < 0 || minute < 0) return "";
  let i = 16, second = 0, ms = 0;
  if (s.charCodeAt(i) === 58) {
    second = $twoDigits(s, i + 1);
    if (second < 0) return "";
    i += 3;
    if (s.charCodeAt(i) === 46) {
      let k = 0;
      for (i++; k < 10 && i < n; k++, i++) {
        const v = s.charCodeAt(i) - 48;
        if (v < 0 || v > 9) break;
        if (k < 3) ms = ms * 10 + v;
      }
      if (k === 0 || k > 9) return "";
      for (; k < 3; k++) ms *= 10;
    }
  }
  let offset = 0;
  const sign = s.charCodeAt(i);
  if (sign === 90 && i + 1 === n) offset = 0;
  else if ((sign === 43 || sign === 45) && i + 6 === n && s.charCodeAt(i + 3) === 58) {
    const oh = $twoDigits(s, i + 1), om = $twoDigits(s, i + 4);
    if (oh < 0 || om < 0) return "";
    if (oh > 23 || om > 59) offset = NaN;
    else offset = (sign === 43 ? 1 : -1) * (oh * 60 + om);
  } else return "";
  const year = century * 100 + yy;
  if (month < 1 || month > 12) return "there is no month " + s.slice(5, 7);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  if (day < 1 || day > days) return "there is no day " + s.slice(8, 10) + " in " + s.slice(0, 7);
  if (hour > 23) return "there is no hour " + s.slice(11, 13) + " (hours are 00 to 23; the end of a day is the next day's T00:00)";
  if (minute > 59) return "there is no minute " + s.slice(14, 16);
  if (second === 60) return "leap seconds (second 60) are not accepted; write second 59";
  if (second > 59) return "there is no second " + s.slice(17, 19);
  if (Number.isNaN(offset)) return "the offset " + s.slice(n - 5) + " is out of range (at most 23:59 either way)";
  return $daysFromCivil(year, month, day) * 86400000 + hour * 3600000 + (minute - offset) * 60000 + second * 1000 + ms;
}`,
  },
  $granted: {
    // grant-source.ts, which the interpreter runs too
    needs: ["$scanTime"],
    source: GRANT_SOURCE,
  },
  $readTime: {
    // parseTime in decision-input.ts, throwing
    needs: ["$E", "$scanTime"],
    source: `function $readTime(v, what) {
  const t = typeof v === "string" ? $scanTime(v) : "";
  if (t === "") throw new $E(what + " must be an ISO-8601 date-time with an offset, such as 2026-03-02T10:00:00Z");
  if (typeof t === "string") throw new $E(what + " is not a real date-time: " + t);
  return t;
}`,
  },
  $dateText: {
    // dateText in decision-input.ts
    source: `function $dateText(days) {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const y = year < 0 ? "-" + String(-year).padStart(4, "0") : String(year).padStart(4, "0");
  return y + "-" + (month < 10 ? "0" : "") + month + "-" + (day < 10 ? "0" : "") + day;
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
  return { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message }], labels: [] };
}`,
  },
  // a tracker value as the runtime passes it: undefined (scan the history), a finite number or a
  // boolean for count, a boolean or a number (false) for seen, a finite number for sum, a finite
  // number or null for max and min, { error: "message" } for any kind; anything else denies
  // (readTrackerValues in decision-input.ts)
  $tv: {
    needs: ["$E", "$TE", "$given", "$hasOwn"],
    source: `function $tv(values, i, kind) {
  let v, message;
  try {
    v = values == null ? undefined : values[i];
    if (v !== null && typeof v === "object" && !Array.isArray(v) && $hasOwn.call(v, "error")) message = v.error;
  } catch {
    throw new $E("\`trackerValues[" + i + "]\` cannot be read");
  }
  if (typeof message === "string") return new $TE(message);
  if (v === undefined) return undefined;
  if (kind === "sum" || kind === "max" || kind === "min") {
    if (typeof v === "number" && v - v === 0) return v;
    if (v === null && kind !== "sum") return null;
    throw new $E("\`trackerValues[" + i + "]\` must be a finite number" + (kind === "sum" ? "" : " or null"));
  }
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
  $now: {
    needs: ["$f", "$readTime"],
    source: `function $now() {
  if ($nowValue === undefined) {
    const raw = $f($I, "time");
    $nowValue = raw === null ? Date.now() : $readTime(raw, "\`time\`");
  }
  return $nowValue;
}`,
  },
  $zoneOffset: {
    // ZoneOffsets in zone-offset.ts; the module defines $clock, the zone's Intl.DateTimeFormat
    source: `const $zoneHours = new Float64Array(256).fill(NaN), $zoneOffsets = new Float64Array(256);
function $zoneOffset(t) {
  const hour = Math.floor(t / 3600000);
  const slot = hour & 255;
  if ($zoneHours[slot] === hour) return $zoneOffsets[slot];
  const first = $measureOffset(hour * 3600000);
  if (first !== $measureOffset(hour * 3600000 + 3599000)) return $measureOffset(t);
  $zoneHours[slot] = hour;
  $zoneOffsets[slot] = first;
  return first;
}
function $measureOffset(epochMs) {
  const t = Math.floor(Math.max(epochMs, -5364662400000) / 1000) * 1000;
  let year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  for (const part of $clock.formatToParts(t)) {
    switch (part.type) {
      case "year": year = Number(part.value); break;
      case "month": month = Number(part.value); break;
      case "day": day = Number(part.value); break;
      case "hour": hour = Number(part.value); break;
      case "minute": minute = Number(part.value); break;
      case "second": second = Number(part.value); break;
    }
  }
  return Date.UTC(year, month - 1, day, hour, minute, second) - t;
}`,
  },
  $history: {
    needs: ["$E", "$f", "$readTime"],
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
      const t = et === null ? null : $readTime(et, "\`history[" + i + "].time\`");
      const other = $f(raw[i], "otherSession");
      if (other !== null && typeof other !== "boolean") throw new $E("\`history[" + i + "].otherSession\` must be true or false");
      $historyActions[n] = a;
      $historyTimes[n] = t;
      $historyLabels[n] = $f(raw[i], "labels");
      $historyOther[n] = other === true;
      $historyEntries[n] = raw[i];
      n++;
    }
  }
  $historyActions.length = n;
  $historyTimes.length = n;
  $historyLabels.length = n;
  $historyOther.length = n;
  $historyEntries.length = n;
  $historyRead = true;
  return $historyActions;
}`,
  },
  $redact: {
    needs: ["$E", "$kind", "$f"],
    source: `function $redact(o, path, depth, program, text, check) {
  const key = path[depth];
  const current = $f(o, key);
  if (current === null) return o;
  let next;
  if (depth === path.length - 1) {
    const r = text === undefined ? "[REDACTED]" : text;
    if (program === undefined) next = r;
    else {
      if (typeof current !== "string") throw new $E("\`redact " + path.join(".") + " matching\` needs a string, got " + $kind(current));
      next = program === null ? current : check === undefined ? __reReplace(program, current, r) : __reReplaceV(program, current, r, check);
    }
  } else {
    if (typeof current !== "object" || Array.isArray(current)) return o;
    next = $redact(current, path, depth + 1, program, text, check);
    if (next === current) return o;
  }
  const copy = { ...o };
  Object.defineProperty(copy, key, { value: next, writable: true, enumerable: true, configurable: true });
  return copy;
}`,
  },
  // a result (stage 1) or output (stage 2) read once and checked to be JSON within limits, the twin
  // of readResult/readOutput and checkStageValue in stage-input.ts
  $stageValue: {
    needs: ["$E", "$f"],
    source: `function $stageValue(input, stage) {
  const what = stage === 1 ? "result" : "output";
  const v = $f(input, what);
  if (stage === 2 && (v === null || typeof v !== "object" || Array.isArray(v) || typeof $f(v, "text") !== "string")) {
    throw new $E("\`output\` must be an object with a string \`text\`");
  }
  let values = 0, text = 0;
  const seen = new Set();
  // built-in objects whose content is not their own fields: bytes by ArrayBuffer.isView, the others
  // by a brand check where their prototype chain says what they may be (builtInKind in the contract)
  const brands = [["bytes (an ArrayBuffer or a view of one)", ArrayBuffer.prototype, Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get], ["a Map", Map.prototype, Map.prototype.has], ["a Set", Set.prototype, Set.prototype.has], ["a WeakMap", WeakMap.prototype, WeakMap.prototype.has], ["a WeakSet", WeakSet.prototype, WeakSet.prototype.has], ["a Date", Date.prototype, Date.prototype.getTime], ["a String object", String.prototype, String.prototype.valueOf], ["a Number object", Number.prototype, Number.prototype.valueOf], ["a Boolean object", Boolean.prototype, Boolean.prototype.valueOf]];
  const builtIn = (x) => {
    if (ArrayBuffer.isView(x)) return brands[0][0];
    const proto = Object.getPrototypeOf(x);
    if (proto === Object.prototype || proto === null) return null;
    for (const [name, prototype, method] of brands) {
      if (!Object.prototype.isPrototypeOf.call(prototype, x)) continue;
      try {
        method.call(x);
        return name;
      } catch {}
    }
    return null;
  };
  const walk = (x, at, depth) => {
    if (++values > 100000) throw new $E("\`" + what + "\` holds more than 100,000 values");
    if (x === null || typeof x === "boolean") return x;
    if (typeof x === "number") {
      if (!Number.isFinite(x)) throw new $E("\`" + at + "\` is not JSON: a number with no finite value");
      return x;
    }
    if (typeof x === "string") {
      text += x.length;
      if (text > 16777216) throw new $E("\`" + what + "\` holds more than 16 MiB of text");
      return x;
    }
    if (typeof x !== "object") throw new $E("\`" + at + "\` is not JSON: " + (x === undefined ? "undefined" : "a " + typeof x));
    if (depth >= 64) throw new $E("\`" + what + "\` nests deeper than 64 levels");
    if (seen.has(x)) throw new $E("\`" + at + "\` is not JSON: it contains itself");
    const kind = Array.isArray(x) ? null : builtIn(x);
    if (kind !== null) throw new $E("\`" + at + "\` is not JSON: " + kind);
    seen.add(x);
    let copy;
    if (Array.isArray(x)) {
      copy = [];
      for (let i = 0; i < x.length; i++) copy.push(walk(x[i], at + "[" + i + "]", depth + 1));
    } else {
      copy = {};
      const keys = Object.keys(x);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        text += k.length;
        // keyPlace in the contract: no key text the value chose reaches an error
        const place = /^[A-Za-z_$][A-Za-z0-9_$]{0,15}$/.test(k) ? "." + k : "[key " + i + "]";
        Object.defineProperty(copy, k, { value: walk(x[k], at + place, depth + 1), writable: true, enumerable: true, configurable: true });
      }
    }
    seen.delete(x);
    return copy;
  };
  return walk(v, what, 0);
}`,
  },
  // the value functions: host, lower, upper, length and strings in semantics.ts
  $host: {
    needs: ["$E", "$kind", "$wb", "$wOver"],
    source: `function $host(v, w) {
  if (v === null) return null;
  if (typeof v !== "string") throw new $E("\`host\` needs a string, got " + $kind(v));
  if (w && ($wb -= v.length) < 0) $wOver();
  // not an absolute URL unless a scheme and \`:\` come first (semantics.ts mayBeAbsoluteUrl): no parser throw
  const n = v.length;
  let i = 0;
  while (i < n && v.charCodeAt(i) <= 0x20) i++;
  if (i === n) return null;
  let c = v.charCodeAt(i) | 0x20;
  if (c < 0x61 || c > 0x7a) return null;
  for (i++; ; i++) {
    if (i === n) return null;
    c = v.charCodeAt(i);
    if (c === 0x3a) break;
    if (c === 0x09 || c === 0x0a || c === 0x0d) continue;
    const l = c | 0x20;
    if (!((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) return null;
  }
  let h;
  try {
    h = new URL(v).hostname;
  } catch {
    return null;
  }
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h === "" ? null : h.toLowerCase();
}`,
  },
  $lower: {
    needs: ["$E", "$kind", "$wb", "$wOver"],
    source: `function $lower(v, w) {
  if (v === null) return null;
  if (typeof v !== "string") throw new $E("\`lower\` needs a string, got " + $kind(v));
  if (w && ($wb -= v.length) < 0) $wOver();
  return v.toLowerCase();
}`,
  },
  $upper: {
    needs: ["$E", "$kind", "$wb", "$wOver"],
    source: `function $upper(v, w) {
  if (v === null) return null;
  if (typeof v !== "string") throw new $E("\`upper\` needs a string, got " + $kind(v));
  if (w && ($wb -= v.length) < 0) $wOver();
  return v.toUpperCase();
}`,
  },
  $length: {
    needs: ["$E", "$kind", "$wb", "$wOver"],
    source: `function $length(v, w) {
  if (v === null) return null;
  if (Array.isArray(v)) return v.length;
  if (typeof v !== "string") throw new $E("\`length\` needs a string or a list, got " + $kind(v));
  if (w && ($wb -= v.length) < 0) $wOver();
  let n = v.length;
  for (let i = 0; i < v.length - 1; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = v.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}`,
  },
  $strings: {
    needs: ["$E", "$wb", "$wOver"],
    source: `function $strings(v, w) {
  const out = [], stack = [v], depths = [0];
  let visited = 1;
  while (stack.length > 0) {
    const value = stack.pop();
    const depth = depths.pop();
    if (typeof value === "string") {
      if (out.length === 10000) throw new $E("\`strings\` found more than 10000 strings");
      out.push(value);
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    if (depth === 64) throw new $E("\`strings\` found a value nested more than 64 deep");
    const list = Array.isArray(value);
    const keys = list ? null : Object.keys(value);
    const n = list ? value.length : keys.length;
    if (visited + n > 100000) throw new $E("\`strings\` visited more than 100000 values");
    visited += n;
    for (let i = n - 1; i >= 0; i--) {
      stack.push(list ? value[i] : value[keys[i]]);
      depths.push(depth + 1);
      if (!list) {
        stack.push(keys[i]);
        depths.push(depth + 1);
      }
    }
  }
  if (w && ($wb -= visited * ${STEPS_PER_VALUE}) < 0) $wOver();
  return out;
}`,
  },
  // a tracker value the runtime could not compute ({ error }), read by $given (TrackerError in decision-input.ts)
  $TE: {
    source: `class $TE {
  constructor(message) {
    this.message = message;
  }
}`,
  },
  $given: {
    needs: ["$E", "$TE"],
    source: `function $given(v) {
  if (v instanceof $TE) throw new $E(v.message);
  return v;
}`,
  },
  // the number sum/max/min takes from an entry (aggregateValue in semantics.ts)
  $aggValue: {
    needs: ["$E", "$kind"],
    source: `function $aggValue(kind, entry, v) {
  if (typeof v === "number" && v - v === 0) return v;
  throw new $E("\`" + kind + "\` needs a number from every matching entry; " + entry + " gives " + $kind(v));
}`,
  },
  // addPartial in semantics.ts: Shewchuk's partials, the exact running sum of `sum`
  $sumAdd: {
    source: `function $sumAdd(partials, x) {
  let i = 0;
  for (let j = 0; j < partials.length; j++) {
    let y = partials[j];
    if (Math.abs(x) < Math.abs(y)) {
      const t = x;
      x = y;
      y = t;
    }
    const hi = x + y;
    const lo = y - (hi - x);
    if (lo !== 0) partials[i++] = lo;
    x = hi;
  }
  partials.length = i;
  partials.push(x);
  return x - x === 0;
}`,
  },
  // partialsValue in semantics.ts: the exact sum rounded once
  $sumValue: {
    source: `function $sumValue(partials) {
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi === 0 ? 0 : hi;
}`,
  },
  // correlationKey in semantics.ts: the same keys, limits and messages
  $keyOf: {
    needs: ["$E", "$kind"],
    source: `function $keyOf(values) {
  return $keyPart(values, 0, { left: 100000 });
}
function $keyPart(v, depth, budget) {
  if (--budget.left < 0) throw new $E("a correlation key holds more than 100000 values");
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return v !== v ? null : v === 0 ? "0" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v !== "object") throw new $E("a correlation key cannot hold " + $kind(v));
  if (depth >= 1000) throw new $E("values nested more than 1000 deep cannot be compared");
  const parts = [];
  if (Array.isArray(v)) {
    for (const x of v) {
      const p = $keyPart(x, depth + 1, budget);
      if (p === null) return null;
      parts.push(p);
    }
    return "[" + parts.join(",") + "]";
  }
  for (const k of Object.keys(v).sort()) {
    const p = $keyPart(v[k], depth + 1, budget);
    if (p === null) return null;
    parts.push(JSON.stringify(k) + ":" + p);
  }
  return "{" + parts.join(",") + "}";
}`,
  },
  // entryKeySet in semantics.ts: the same keys, limits and messages
  $entryKeys: {
    needs: ["$keyOf"],
    source: `function $entryKeys(parts) {
  const distinct = [];
  let over = false;
  for (const values of parts) {
    const budget = { left: 100000 };
    const seen = new Set();
    for (const v of values) {
      const k = $keyPart(v, 1, budget);
      if (k !== null) seen.add(k);
      if (seen.size > 1000) {
        over = true;
        break;
      }
    }
    distinct.push([...seen]);
  }
  for (const d of distinct) if (d.length === 0) return [];
  let n = 1;
  for (const d of distinct) n *= d.length;
  if (over || n > 1000) throw new $E("an earlier action would be filed under more than 1,000 correlation keys (the distinct values of its lists through \\\`any\\\`, multiplied)");
  let keys = [""];
  for (let i = 0; i < distinct.length; i++) {
    const next = [];
    for (const k of keys) for (const p of distinct[i]) next.push(i === 0 ? p : k + "," + p);
    keys = next;
  }
  return keys.map((k) => "[" + k + "]");
}`,
  },
  // keyList in semantics.ts
  $keyList: {
    needs: ["$qList", "$qOver"],
    source: `function $keyList(v) {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) $qList("any", v);
  if (v.length > 100000) $qOver();
  return v;
}`,
  },
  // `arith` in semantics.ts
  $ar: {
    needs: ["$E", "$kind"],
    source: `function $ar(op, a, b) {
  if (!(typeof a === "number" && a - a === 0 && typeof b === "number" && b - b === 0)) throw new $E("\`" + op + "\` needs two numbers, got " + $kind(a) + " and " + $kind(b));
  if (op === "/" && b === 0) throw new $E("\`/\` divides by zero");
  const v = op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a / b;
  if (!(v - v === 0)) throw new $E("\`" + op + "\` gives a number too large to represent");
  return v;
}`,
  },
  // the list elements the quantifiers of one condition may still visit (MAX_QUANTIFIER_VISITS)
  $qb: { source: `let $qb = 0;` },
  $qList: {
    needs: ["$E", "$kind"],
    source: `function $qList(q, v) {
  throw new $E("\`" + q + "\` needs a list after \`in\`, got " + $kind(v));
}`,
  },
  // the work budget (MAX_WORK in semantics.ts), and the charge of a walk done inline (matches)
  $wb: { source: `let $wb = 0;` },
  $wOver: {
    needs: ["$E"],
    source: `function $wOver() {
  throw new $E(${JSON.stringify(WORK_LIMIT_MESSAGE)});
}`,
  },
  $ws: {
    needs: ["$wb", "$wOver"],
    // charges n steps and returns the value of the walk they paid for
    source: `function $ws(value, n) {
  if (($wb -= n) < 0) $wOver();
  return value;
}`,
  },
  $qOver: {
    needs: ["$E"],
    source: `function $qOver() {
  throw new $E("\`any\` and \`all\` visited more than 100,000 list elements in one condition");
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
