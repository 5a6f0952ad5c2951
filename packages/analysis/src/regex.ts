/**
 * A policy regex as a Z3 regular expression, for `S matches /re/` (a search, like
 * `RegExp.prototype.test`). The compiler's regex parser gives the syntax tree with flags already
 * applied (case folding, `.` and `\s` as sets of UTF-16 code units), so this only maps node kinds.
 * Assertions other than a leading `^` and a trailing `$` (not multiline) have no counterpart in
 * Z3's regex theory: such a regex is reported as not encoded.
 */
import { type IR, parseRegexTree, RegexAssertion, type RegexNode } from "@agent-armor/compiler";
import { app, char, type Term } from "./smt.js";

export type RegexEncoding = { readonly ok: true; readonly search: Term } | { readonly ok: false; readonly why: string };

const ALL = "re.all";

/** The regex of `S matches R`: some substring of S matches R (anchors pin it to an end). */
export function encodeSearch(def: IR.RegexDef): RegexEncoding {
  if (def.check !== null) return { ok: false, why: `detector \`std.${def.detector}\` (its check is code, not a regex)` };
  let tree: RegexNode;
  try {
    tree = parseRegexTree(def.source, def.flags);
  } catch {
    return { ok: false, why: "a regex the compiler rejected" };
  }
  const alternatives = tree.kind === "alt" ? tree.items : [tree];
  const parts: Term[] = [];
  for (const alternative of alternatives) {
    const items = flatten(alternative);
    const anchoredStart = items[0]?.kind === "assert" && items[0].assertion === RegexAssertion.Start;
    const last = items[items.length - 1];
    const anchoredEnd = items.length > (anchoredStart ? 1 : 0) && last?.kind === "assert" && last.assertion === RegexAssertion.End;
    const body = items.slice(anchoredStart ? 1 : 0, anchoredEnd ? items.length - 1 : items.length);
    const inner = concat(body);
    if (!inner.ok) return inner;
    parts.push(concatTerms([anchoredStart ? null : ALL, inner.search, anchoredEnd ? null : ALL]));
  }
  return { ok: true, search: parts.length === 1 ? parts[0]! : app("re.union", ...parts) };
}

function flatten(node: RegexNode): RegexNode[] {
  if (node.kind === "concat") return node.items.flatMap(flatten);
  if (node.kind === "empty") return [];
  return [node];
}

function concatTerms(items: (Term | null)[]): Term {
  const kept = items.filter((t): t is Term => t !== null && t !== '(str.to_re "")');
  if (kept.length === 0) return '(str.to_re "")';
  return kept.length === 1 ? kept[0]! : app("re.++", ...kept);
}

function concat(items: readonly RegexNode[]): RegexEncoding {
  const terms: Term[] = [];
  for (const item of items) {
    const t = encodeNode(item);
    if (!t.ok) return t;
    terms.push(t.search);
  }
  return { ok: true, search: concatTerms(terms) };
}

function encodeNode(node: RegexNode): RegexEncoding {
  switch (node.kind) {
    case "empty":
      return { ok: true, search: '(str.to_re "")' };
    case "set":
      return { ok: true, search: charSet(node.ranges) };
    case "assert":
      return { ok: false, why: "an assertion (`\\b`, `\\B`, multiline `^`/`$`, or an anchor inside the pattern)" };
    case "concat":
      return concat(node.items);
    case "alt": {
      const terms: Term[] = [];
      for (const item of node.items) {
        const t = encodeNode(item);
        if (!t.ok) return t;
        terms.push(t.search);
      }
      return { ok: true, search: app("re.union", ...terms) };
    }
    case "repeat": {
      const body = encodeNode(node.body);
      if (!body.ok) return body;
      const b = body.search;
      if (node.max === Number.POSITIVE_INFINITY) {
        if (node.min === 0) return { ok: true, search: app("re.*", b) };
        return { ok: true, search: app("re.++", `((_ re.loop ${node.min} ${node.min}) ${b})`, app("re.*", b)) };
      }
      return { ok: true, search: `((_ re.loop ${node.min} ${node.max}) ${b})` };
    }
  }
}

function charSet(ranges: readonly number[]): Term {
  if (ranges.length === 0) return "re.none";
  const terms: Term[] = [];
  for (let i = 0; i < ranges.length; i += 2) {
    const lo = ranges[i]!;
    const hi = ranges[i + 1]!;
    terms.push(lo === hi ? app("str.to_re", char(lo)) : app("re.range", char(lo), char(hi)));
  }
  return terms.length === 1 ? terms[0]! : app("re.union", ...terms);
}
