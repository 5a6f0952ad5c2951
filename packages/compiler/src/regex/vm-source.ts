/**
 * The regex matcher as JavaScript source text, pasted verbatim into every compiled policy that
 * uses a non-literal regex (and instantiated once by `vm.ts` for the compiler itself, so the
 * interpreter runs the same code). It is our own constant text and is never built from user
 * input. It is plain ES2020 with no imports, uses only standard built-ins, throws `$E` (the
 * module's evaluation error; `vm.ts` passes its own), calls `__reLength` (REGEX_LENGTH_SOURCE)
 * and declares only names that start with `__re`. The entry points:
 *
 *   __reTest(program, input)                 like `new RegExp(source, flags).test(input)`
 *   __reReplace(program, input, replacement) like `input.replace(new RegExp(source, flags + "g"),
 *                                            () => replacement)`
 *   __reTestV(program, input, check)          a detector: whether a match that `check` accepts exists
 *   __reReplaceV(program, input, replacement, check)  every match `check` accepts replaced
 *
 * `program` is a `RegexProgram` from `compile-program.ts` (see the layout there).
 *
 * ## How it matches
 *
 * A **lazy DFA** over the Pike VM's thread lists, built on demand and cached per program (a
 * module-level `WeakMap`). A DFA state is a list of pcs of consuming instructions (the threads
 * after a step, before their closure), the kind of the previous character (none, word, line
 * terminator, other) and, for leftmost-first search, whether a match was found. A transition is
 * computed when first needed: with the previous character's kind and the next character known,
 * every assertion (`^ $ \b \B`, multiline or not) is decided, the closure is followed by the
 * same depth-first walk as the Pike VM (`__reAdd`, with its empty-check levels), and the consuming
 * instructions step over the character. Characters are mapped to equivalence classes of the
 * program's character sets (plus the word characters and line terminators when assertions need
 * them): a table for code units below 256, a binary search over range boundaries above.
 *
 * - Prefilters: before either scan, a required literal of the program (the longest text of a run
 *   of CHAR instructions from one that lies on every path to MATCH) is looked for with `indexOf`,
 *   and, when there is none of 3 units or more, a set of literals one of which every match
 *   contains (runs whose first instructions together lie on every path: `curl|wget|ssh` for
 *   `/\b(curl|wget|ssh)\b/`) with one RegExp alternation; an input without them is decided at
 *   once. Both depend only on the program and the input.
 * - `test` uses an unordered DFA (a state's pcs sorted): whether a match exists does not depend
 *   on thread priority, nor on the empty checks (ENTER/CHECK), since an iteration that the check
 *   rejects could have been skipped to reach the same pc at the same position. Its scan follows
 *   built transitions through tables of the targets' row offsets (O, and P without the empty
 *   states, used while skipping to characters that can start a match), two loads and an add per
 *   character; anything else (a transition to build or to charge, a match, a dead or empty state)
 *   goes through the general step.
 * - `replace` finds JavaScript's leftmost-first matches one by one: an ordered DFA (a state's pcs
 *   in priority order; after a MATCH the lower-priority threads are cut and no new search starts,
 *   exactly as the Pike VM does) reads forward from the search position until no thread is left,
 *   giving the end of the leftmost-first match; then the reverse program (`__reReverse`: the same
 *   instruction format read right to left, `^` and `$` swapped) read backwards from that end
 *   gives its start, the leftmost position from which some match reaches that end (no match
 *   starts further left, so it is the leftmost-first match's start). When the forward scans read
 *   more than twice the input past the ends of their matches (as `/[a-z]*X|a/` does on
 *   `aaa...`), the Pike VM finds the remaining matches in one pass.
 * - The Pike VM (`__rePike`) runs all threads in lockstep in priority order; see below.
 *
 * ## Linear time and bounded cost (invariant 8)
 *
 * Every character costs one table lookup in each scan; a forward replace scan reads at most
 * 2n + 256 characters past its matches before the Pike VM takes over, and each reverse scan stays
 * between the search position and the match end, so the scans are O(n). Building a state costs
 * O(program size), and the Pike VM costs O(program size) per character, so a call is O(n × m)
 * in the worst case, with no backtracking. On top of that every call is bounded by constants: the
 * input may have at most MAX_MATCH_LENGTH code units (`__reLength`), and a call may spend at most
 * MAX_MATCH_STEPS steps of each of three kinds: in the DFAs, taking a transition for the first
 * time in the call costs what building it cost (the states its closure visited and the lists),
 * whether it is built now or was cached; the Pike VM costs one step per thread per character;
 * and replace costs 40 steps per match (in the Pike VM, per tentative match). The charge depends only on the program and the input, never on what the cache
 * holds, so the compiled module and the interpreter throw (and deny) on exactly the same inputs.
 * Transitions are only charged once a program's DFAs have cost more than the limit in total
 * (before that no call can reach it), so the common scan does no bookkeeping.
 * The cache is cleared at the start of a call when a program's DFAs hold more than CACHE_WORDS
 * words, or all programs more than TOTAL_CACHE_WORDS; a call adds at most MAX_MATCH_STEPS.
 *
 * ## The Pike VM
 *
 * A thread's state is its pc and its empty-check level `g`: the outermost ENTER-ed loop iteration
 * that has not consumed input yet (G = 2^30 for none). Following the non-consuming instructions
 * from a thread is a depth-first walk in priority order, and a state is skipped when a finished
 * visit of the same pc with a level at least as high exists, because that higher-priority visit
 * can do everything the new one can. A visit still in progress does not count: coming back to it
 * means a loop went round through ENTER with a lower level, which is a different state. Each pc is
 * thus held at most once per level, which bounds the work to O(input × program) whatever the
 * pattern. Without ENTER (`deep` false: no loop body can match empty) there is only one level and
 * a visit counts at once.
 *
 * A thread list holds every visited state in visit order: pc `d`, level `g` (stored as ~level until
 * the visit finishes), match start `st`, search number `id` and the entry `pa` it was reached
 * from. `x` maps a pc to its best finished visit and is never cleared: an entry counts only if it
 * is below the list length, holds the same pc and is finished. The lists and the walk's stack are
 * typed arrays allocated once per program; nothing is allocated per character.
 *
 * Replace needs every match. JavaScript finds the leftmost-first match, then searches again from
 * its end (one unit further after an empty match). Restarting the VM for each search would rescan
 * what the previous search read ahead, which is quadratic for patterns like `/[a-z]*X|a/`, so the
 * searches run in one pass instead. Once search k has a tentative match ending at the current
 * position, search k+1 starts there while search k keeps running its higher-priority threads; the
 * list holds search k's threads before search k+1's. A state of search k+1 that search k already
 * holds is skipped: if search k's thread later matches, k's match changes and every later search
 * is discarded (their spans are dropped and their threads cut from the list); if it fails, so
 * would the skipped one. The states on the path to the tentative match itself are released
 * (walking `pa`) so the next search can visit them.
 *
 * Opcodes: 0 MATCH, 1 CHAR c, 2 CLASS at, 3 JMP x, 4 SPLIT x y, 5 ASSERT k, 6 ENTER l, 7 CHECK l.
 * Assertions: 0 `^`, 1 `$`, 2 `^` (m), 3 `$` (m), 4 `\b`, 5 `\B`.
 */

/** The most UTF-16 code units a string matched against a pattern may have (1 MiB). */
export const MAX_MATCH_LENGTH = 1_048_576;
/** The most steps one call of the matcher may spend (see the header comment). */
export const MAX_MATCH_STEPS = 5_000_000;
/** Cache budgets, in words (32-bit entries of the DFA tables and state lists). */
const CACHE_WORDS = 4_000_000;
const TOTAL_CACHE_WORDS = 12_000_000;

/** The error text when a string is too long; `LENGTH` is replaced by its length. */
export const LENGTH_MESSAGE = `a pattern was matched against a string of LENGTH characters, above the limit of ${MAX_MATCH_LENGTH}`;
/** The most candidates of a detector's pattern one call checks (see `__reValidated`). */
export const MAX_CANDIDATES = 100_000;
/** The error text when a detector meets more than `MAX_CANDIDATES` candidates in one string. */
export const CANDIDATES_MESSAGE = `a detector met more than ${MAX_CANDIDATES} candidates in this string, the limit for one match`;
/** The error text when a call needs more than `MAX_MATCH_STEPS`. */
export const STEPS_MESSAGE = stepsMessage(MAX_MATCH_STEPS);

function stepsMessage(maxSteps: number): string {
  return `matching a pattern against this string needs more than ${maxSteps} steps, the limit for one match`;
}

/**
 * `__reLength(s)`: returns `s`, or throws `$E` if it is longer than `MAX_MATCH_LENGTH`. Compiled
 * modules carry it wherever a pattern is matched, also where a literal pattern becomes `includes`.
 */
export const REGEX_LENGTH_SOURCE: string = `function __reLength(s) {
  if (s.length > ${MAX_MATCH_LENGTH}) throw new $E(${JSON.stringify(LENGTH_MESSAGE.split("LENGTH")[0])} + s.length + ${JSON.stringify(LENGTH_MESSAGE.split("LENGTH")[1])});
  return s;
}
`;

/** Limits of a matcher; compiled policies and the compiler use `DEFAULT_LIMITS`. */
export interface MatcherLimits {
  readonly maxSteps: number;
  readonly cacheWords: number;
  readonly totalCacheWords: number;
}

export const DEFAULT_LIMITS: MatcherLimits = {
  maxSteps: MAX_MATCH_STEPS,
  cacheWords: CACHE_WORDS,
  totalCacheWords: TOTAL_CACHE_WORDS,
};

/**
 * The matcher's source with the given limits (tests use small ones to exercise cache flushes and
 * charging); the pasted text leaves out the lines that are only comments (indentation stays: it
 * tells module-level declarations from local ones).
 */
export function matcherSource(limits: MatcherLimits): string {
  const { maxSteps, cacheWords, totalCacheWords } = limits;
  return `let __reCache = new WeakMap(), __reWords = 0, __reCall = 0, __reSteps = 0, __rePU = -1, __reNU = -1, __reStop = 0;
let __reExact = false, __reLastP = null, __reLastR = null;
function __reOver() {
  throw new $E(${JSON.stringify(stepsMessage(maxSteps))});
}
function __reTest(p, s) {
  const R = __reBegin(p, s);
  if (!__rePossible(R, s)) return false;
  // Transitions are charged (see __reCharge) only once the DFA's transitions cost more in total
  // than a call may spend; until then no call can exceed the limit, and the scan needs no
  // bookkeeping. If the DFA grows past that during the call, the scan starts again, charging.
  let found = __reScan(R, s, R.test.w > ${maxSteps});
  if (found < 0) { __reCall++; __reSteps = 0; found = __reScan(R, s, true); }
  return found === 1;
}
// False when s lacks the required literal or every literal of the set: then nothing can match.
function __rePossible(R, s) {
  if (R.lit !== "" && s.indexOf(R.lit) < 0) return false;
  if (R.lset === null) return true;
  R.lset.lastIndex = 0;
  return R.lset.test(s);
}
// Whether there is a match: 1 or 0, or -1 when the scan must start again charging states.
function __reScan(R, s, exact) {
  const n = s.length, K = R.K, M = R.M, D = R.test, F = R.fs;
  let T = D.T, O = D.O, P = D.P, st = 0, v = 0, k = 0, c = 0, i = 0, j = 0, x = 0, skip = F !== null;
  // Where no thread is running, skip to the next character that can start a match (F is a
  // RegExp of one character class built from the program: a linear scan in native code).
  if (skip) { F.lastIndex = 0; if (!F.test(s)) return 0; i = F.lastIndex - 1; }
  // A new start state can grow the tables: T, O and P are read again after every __reStart.
  st = __reStart(R, D, i === 0 ? 0 : __reKind(s.charCodeAt(i - 1)), 0);
  T = D.T; O = D.O; P = D.P;
  for (; i < n; i++) {
    if (!exact) {
      // The common case: built transitions to live states, followed through O (the target's row
      // offset), so each character costs two loads and an add; while skipping, through P, which
      // leaves out the empty states. Anything else leaves this loop for the one below.
      const Q = skip ? P : O;
      x = st * K;
      for (; i < n; i++) { c = s.charCodeAt(i); j = Q[x + (c < 256 ? M[c] : __reClass(R, c))]; if (j < 0) break; x = j; }
      st = x / K;
      if (i === n) break;
    }
    c = s.charCodeAt(i);
    k = c < 256 ? M[c] : __reClass(R, c);
    x = st * K + k;
    v = T[x];
    if (v < 2) {
      if (v < 0) {
        v = __reBuild(R, D, st, k);
        T = D.T; O = D.O; P = D.P;
        if (!exact && D.w > ${maxSteps}) return -1;
      }
      if (exact && D.ts[x] !== __reCall) __reCharge(D, x);
      if (v < 2) return v;
    } else if (exact && D.ts[x] !== __reCall) __reCharge(D, x);
    st = v >> 1;
    if (skip && D.emp[st] === 1) {
      F.lastIndex = i + 1;
      if (!F.test(s)) return 0;
      j = F.lastIndex - 1;
      // Short jumps cost more than they save: stop skipping for the rest of the call.
      if (j - i < 16) skip = false;
      if (j > i + 1) { i = j - 1; st = __reStart(R, D, __reKind(s.charCodeAt(i)), 0); T = D.T; O = D.O; P = D.P; }
    }
  }
  x = st * K + K - 1;
  v = T[x];
  if (v < 0) { v = __reBuild(R, D, st, K - 1); if (!exact && D.w > ${maxSteps}) return -1; }
  if (exact && D.ts[x] !== __reCall) __reCharge(D, x);
  return v;
}
function __reReplace(p, s, r) {
  const R = __reBegin(p, s);
  if (!__rePossible(R, s)) return s;
  __reExact = R.first.w + R.back.w > ${maxSteps};
  let out = __reReplaceAll(R, s, r);
  if (out === null) {
    // The DFAs grew past what a call may enter without charging states: start again, charging.
    __reExact = true; __reCall++; __reSteps = 0;
    out = __reReplaceAll(R, s, r);
  }
  return out;
}
// Every match replaced, or null when __reExact must be turned on and the call started again.
function __reReplaceAll(R, s, r) {
  const n = s.length;
  let out = "", last = 0, pos = 0, over = 0, e = 0, st = 0, i = 0, cost = 0;
  while (pos <= n) {
    e = __reEnd(R, s, pos);
    if (e === -2) return null;
    if (e < 0) break;
    over += __reStop - e;
    if (over > 2 * n + 256) {
      // The searches read far past their matches (as in /[a-z]*X|a/ on "aaa..."): one pass of
      // the Pike VM finds the remaining matches in linear time instead.
      const sp = [];
      __rePike(R, s, pos, sp);
      for (i = 0; i < sp.length; i += 2) { out += s.slice(last, sp[i]) + r; last = sp[i + 1]; }
      break;
    }
    st = __reBegins(R, s, pos, e);
    if (st === -2) return null;
    if ((cost += 40) > ${maxSteps}) __reOver();
    out += s.slice(last, st) + r;
    last = e;
    pos = st === e ? e + 1 : e;
  }
  return out === "" && last === 0 ? s : out + s.slice(last);
}
function __reBegin(p, s) {
  __reLength(s);
  let R = __reLastR;
  if (p !== __reLastP) {
    R = __reCache.get(p);
    if (R === undefined) { R = __rePrep(p); __reCache.set(p, R); }
    __reLastP = p; __reLastR = R;
  }
  __reSteps = 0;
  if (++__reCall > 2147483646 || __reWords > ${totalCacheWords}) {
    __reCall = 1; __reWords = 0; __reCache = new WeakMap(); __reCache.set(p, R); __reFlush(R);
  } else if (R.words > ${cacheWords}) { __reWords -= R.words; __reFlush(R); }
  return R;
}
// ---- program analysis: instruction walk, character classes, required literal, anchoring
function __rePrep(p) {
  const end = __reEndPc(p), sets = [], seen = new Map();
  let word = false, nl = false, pc = 2, op = 0, i = 0, j = 0;
  for (pc = 2; pc < end; pc += op === 4 ? 3 : 2) {
    op = p[pc];
    if (op === 1 && !seen.has(-p[pc + 1] - 1)) { seen.set(-p[pc + 1] - 1, 1); sets.push([p[pc + 1], p[pc + 1]]); }
    else if (op === 2 && !seen.has(p[pc + 1])) {
      seen.set(p[pc + 1], 1);
      const at = p[pc + 1], list = [];
      for (i = 0; i < p[at]; i++) list.push(p[at + 1 + 2 * i], p[at + 2 + 2 * i]);
      sets.push(list);
    } else if (op === 5) { if (p[pc + 1] >= 4) word = true; else if (p[pc + 1] >= 2) nl = true; }
  }
  if (word) sets.push([48, 57, 65, 90, 95, 95, 97, 122]);
  if (nl) sets.push([10, 10, 13, 13, 8232, 8233]);
  // Boundaries cut the code units into intervals; intervals in the same sets share a class.
  const cuts = [0, 65536];
  for (const list of sets) for (i = 0; i < list.length; i += 2) cuts.push(list[i], list[i + 1] + 1);
  cuts.sort((a, b) => a - b);
  const bnd = [];
  for (i = 0; i < cuts.length - 1; i++) if (cuts[i] !== cuts[i + 1] && cuts[i] < 65536) bnd.push(cuts[i]);
  const sig = bnd.map(() => "");
  const find = (u) => { let lo = 0, hi = bnd.length - 1, m = 0; while (lo < hi) { m = (lo + hi + 1) >> 1; if (bnd[m] <= u) lo = m; else hi = m - 1; } return lo; };
  sets.forEach((list, si) => { for (i = 0; i < list.length; i += 2) for (j = find(list[i]); j < bnd.length && bnd[j] <= list[i + 1]; j++) sig[j] += si + ","; });
  const ids = new Map(), bcl = new Int32Array(bnd.length), rep = [];
  for (i = 0; i < bnd.length; i++) {
    let id = ids.get(sig[i]);
    if (id === undefined) { id = rep.length; ids.set(sig[i], id); rep.push(bnd[i]); }
    bcl[i] = id;
  }
  const K = rep.length + 1, M = new Uint16Array(256);
  for (i = 0; i < 256; i++) M[i] = bcl[find(i)];
  rep.push(-1);
  const R = {
    p, K, M, bnd: Int32Array.from(bnd), bcl, rep: Int32Array.from(rep), kind: Int32Array.from(rep, __reKind),
    lit: __reLiteral(p, end), lset: null, fs: null, anch: __reAnchored(p), words: 0, test: null, first: null, back: null,
    fw: __reCtx(p), rv: null, L: null, C: null, N: null,
  };
  R.rv = __reCtx(__reReverse(p, end));
  if (!R.anch) R.fs = __reFirst(p);
  if (R.lit.length < 3) R.lset = __reLiteralSet(p, end);
  __reFlush(R);
  return R;
}
// A global RegExp of one class: the code units that can start a match, or null when a match can
// be empty or the class holds most letters (skipping would not pay). Anchored programs die at
// once without it.
function __reFirst(p) {
  const seen = new Set([2]), todo = [2], pairs = [];
  let i = 0, pc = 0, op = 0, letters = 0;
  while (todo.length > 0) {
    pc = todo.pop(); op = p[pc];
    if (op === 0) return null;
    if (op === 1) pairs.push([p[pc + 1], p[pc + 1]]);
    else if (op === 2) for (i = 0; i < p[p[pc + 1]]; i++) pairs.push([p[p[pc + 1] + 1 + 2 * i], p[p[pc + 1] + 2 + 2 * i]]);
    else for (const q of __reNext(p, pc)) if (!seen.has(q)) { seen.add(q); todo.push(q); }
  }
  for (let u = 97; u < 123; u++) if (pairs.some((r) => r[0] <= u && u <= r[1])) letters++;
  if (letters > 20 || pairs.length === 0) return null;
  const hex = (u) => String.fromCharCode(92) + "u" + (65536 + u).toString(16).slice(1);
  return new RegExp("[" + pairs.map((r) => hex(r[0]) + "-" + hex(r[1])).join("") + "]", "g");
}
function __reEndPc(p) {
  let pc = 2;
  while (p[pc] !== 0) pc += p[pc] === 4 ? 3 : 2;
  return pc;
}
function __reKind(u) {
  return u < 0 ? 0 : __reWord(u) ? 1 : u === 10 || u === 13 || u === 8232 || u === 8233 ? 2 : 3;
}
function __reWord(u) {
  return u < 58 ? u > 47 : u < 91 ? u > 64 : u === 95 || (u > 96 && u < 123);
}
function __reClass(R, c) {
  const b = R.bnd;
  let lo = 0, hi = b.length - 1, m = 0;
  while (lo < hi) { m = (lo + hi + 1) >> 1; if (b[m] <= c) lo = m; else hi = m - 1; }
  return R.bcl[lo];
}
function __reNext(p, pc) {
  const op = p[pc];
  return op === 0 ? [] : op === 3 ? [p[pc + 1]] : op === 4 ? [p[pc + 1], p[pc + 2]] : [pc + 2];
}
// Whether every match starts at the start of the input (every path meets ^ before anything else).
function __reAnchored(p) {
  const seen = new Set([2]), todo = [2];
  while (todo.length > 0) {
    const pc = todo.pop(), op = p[pc];
    if (op < 3) return false;
    if (op === 5 && p[pc + 1] === 0) continue;
    for (const q of __reNext(p, pc)) if (!seen.has(q)) { seen.add(q); todo.push(q); }
  }
  return true;
}
// A string every match contains: the longest run of CHAR instructions whose first one lies on
// every path to MATCH (a run continues deterministically: CHAR at pc is followed by pc + 2).
function __reLiteral(p, end) {
  const reach = (skip) => {
    if (skip === 2) return null;
    const seen = new Uint8Array(end + 1), todo = [2], from = new Int32Array(end + 1).fill(-1);
    seen[2] = 1;
    while (todo.length > 0) {
      const pc = todo.pop();
      if (pc === end) return from;
      for (const q of __reNext(p, pc)) if (q !== skip && !seen[q]) { seen[q] = 1; from[q] = pc; todo.push(q); }
    }
    return null;
  };
  const path = reach(-1), runs = [];
  if (path === null) return "";
  // Every CHAR on the path starts a candidate (a run's first one need not lie on every path when
  // a later one does, as in /(^|x)ab/), the longest first.
  for (let pc = end; pc !== 2 && runs.length < 64; pc = path[pc]) if (p[pc] === 1) runs.push(pc);
  if (p[2] === 1) runs.push(2);
  let best = "";
  for (const start of runs.map((pc) => __reRun(p, pc)).sort((a, b) => b.length - a.length).slice(0, 16)) {
    if (start.text.length > best.length && reach(start.pc) === null) best = start.text;
  }
  return best;
}
// The text of the run of CHAR instructions from pc.
function __reRun(p, pc) {
  let text = "";
  for (let q = pc; p[q] === 1; q += 2) text += String.fromCharCode(p[q + 1]);
  return { pc, text, length: text.length };
}
// For programs without a required literal of 3 units or more: a RegExp that finds one of a few
// strings (2 to 6 code units each), one of which every match contains, or null. The strings are
// the texts of runs of CHAR instructions whose first ones together lie on every path to MATCH,
// found greedily: every CHAR blocked, then each unblocked, shortest run first, unless that opens
// a path. (Like /curl|wget|ssh/ for /\\b(curl|wget|ssh)\\b/: a search for literals is native
// code, and on most inputs no match is possible.)
function __reLiteralSet(p, end) {
  const runs = [], blocked = new Uint8Array(end + 1);
  for (let pc = 2; pc < end; pc += p[pc] === 4 ? 3 : 2) if (p[pc] === 1) runs.push(__reRun(p, pc));
  if (runs.length === 0 || runs.length > 256) return null;
  const cut = () => {
    if (blocked[2] === 1) return true;
    const seen = new Uint8Array(end + 1), todo = [2];
    seen[2] = 1;
    while (todo.length > 0) {
      const pc = todo.pop();
      if (pc === end) return false;
      for (const q of __reNext(p, pc)) if (blocked[q] === 0 && seen[q] === 0) { seen[q] = 1; todo.push(q); }
    }
    return true;
  };
  if (cut()) return null;
  for (const r of runs) blocked[r.pc] = 1;
  if (!cut()) return null;
  runs.sort((a, b) => a.length - b.length);
  for (const r of runs) { blocked[r.pc] = 0; if (!cut()) blocked[r.pc] = 1; }
  // Each literal's first 6 units are enough to filter on, and bound what RegExp compares at each
  // position of the input (a few dozen units, whatever the literals).
  const texts = [...new Set(runs.filter((r) => blocked[r.pc] === 1).map((r) => r.text.slice(0, 6)))];
  if (texts.length > 12 || texts.some((t) => t.length < 2)) return null;
  const hex = (u) => String.fromCharCode(92) + "u" + (65536 + u).toString(16).slice(1);
  // Escaped code unit by code unit (a string's iterator would join surrogate pairs).
  const unit = (t) => { let e = ""; for (let i = 0; i < t.length; i++) e += hex(t.charCodeAt(i)); return e; };
  return new RegExp(texts.map(unit).join("|"), "g");
}
// The reverse program: the same instruction format, reading the input right to left. Node r(q)
// of forward pc q leads to every predecessor of q; ^ and $ swap. It has no empty checks, which
// do not change whether some match exists between two positions.
function __reReverse(p, end) {
  const preds = new Map(), add = (q, edge) => { let l = preds.get(q); if (l === undefined) preds.set(q, (l = [])); l.push(edge); };
  let pc = 2, op = 0;
  for (pc = 2; pc < end; pc += op === 4 ? 3 : 2) {
    op = p[pc];
    if (op === 1 || op === 2) add(pc + 2, [pc, op, p[pc + 1]]);
    else if (op === 5) add(pc + 2, [pc, 5, [1, 0, 3, 2, 4, 5][p[pc + 1]]]);
    else for (const q of __reNext(p, pc)) add(q, [pc, 3, 0]);
  }
  const out = [0, 0], at = new Map(), fix = [], classes = [];
  const node = (q) => {
    at.set(q, out.length);
    const edges = preds.get(q) ?? [];
    if (q === 2) edges.push([-1, 0, 0]);
    edges.forEach((edge, i) => {
      let split = -1;
      if (i < edges.length - 1) { split = out.length; out.push(4, out.length + 3, -1); }
      if (edge[1] === 0) out.push(0);
      else {
        if (edge[1] !== 3) { out.push(edge[1], edge[2]); if (edge[1] === 2) classes.push(out.length - 1); }
        fix.push(out.length + 1, edge[0]);
        out.push(3, -1);
      }
      if (split >= 0) out[split + 2] = out.length;
    });
    if (edges.length === 0) out.push(1, 65536);
  };
  node(end);
  for (pc = 2; pc < end; pc += p[pc] === 4 ? 3 : 2) node(pc);
  for (let i = 0; i < fix.length; i += 2) out[fix[i]] = at.get(fix[i + 1]);
  const pool = out.length, shift = pool - end - 1;
  for (const i of classes) out[i] += shift;
  for (let i = end + 1; i < p.length; i++) out.push(p[i]);
  let count = 0;
  for (pc = 2; pc < pool; pc += out[pc] === 4 ? 3 : out[pc] === 0 ? 1 : 2) count++;
  out[0] = count + 1;
  return out;
}
function __reCtx(p) {
  const cap = 2 * p[0] + 2, list = () => ({ d: new Int32Array(cap), g: new Int32Array(cap), st: new Int32Array(cap), id: new Int32Array(cap), pa: new Int32Array(cap), x: new Int32Array(p.length), n: 0 });
  return { p, deep: p[1] > 0, stk: new Int32Array(6 * cap + 6), L: list(), C: null, N: null, list, mk: new Int32Array(p.length + 1), nx: new Int32Array(p.length + 1), epoch: 0 };
}
// ---- the lazy DFA: states are thread lists (pcs before their closure) with the kind of the
// previous character (0 none, 1 word, 2 line terminator, 3 other) and whether a match was found
function __reFlush(R) {
  R.words = 0;
  R.test = __reDfa(R, 0, R.fw);
  R.first = __reDfa(R, 1, R.fw);
  R.back = __reDfa(R, 2, R.rv);
}
function __reDfa(R, mode, X) {
  const T = new Int32Array(16 * R.K).fill(-1);
  T.fill(0, 0, R.K);
  return { mode, X, T, O: mode === 0 ? new Int32Array(T.length).fill(-1) : null, P: mode === 0 ? new Int32Array(T.length).fill(-1) : null, tw: new Int32Array(T.length), ts: new Int32Array(T.length), lists: [new Int32Array(0)], pk: [3], com: [1], emp: [0], keys: new Map(), start: [-1, -1, -1, -1, -1, -1, -1, -1], w: 0 };
}
// The state with the first n pcs of list, found by a hash of them (no string keys: states can
// hold thousands of pcs).
function __reState(R, D, list, n, pk, com) {
  let h = com * 4 + pk, i = 0, id = 0;
  for (i = 0; i < n; i++) h = Math.imul(h ^ list[i], 16777619);
  const e = D.keys.get(h), ids = e === undefined ? [] : typeof e === "number" ? [e] : e;
  for (id of ids) {
    const l = D.lists[id];
    if (D.pk[id] !== pk || D.com[id] !== com || l.length !== n) continue;
    for (i = 0; i < n && l[i] === list[i]; i++);
    if (i === n) return id;
  }
  id = D.lists.length;
  if (e === undefined) D.keys.set(h, id); else if (typeof e === "number") D.keys.set(h, [e, id]); else e.push(id);
  D.lists.push(list.slice(0, n)); D.pk.push(pk); D.com.push(com); D.emp.push(n === 0 && com === 0 ? 1 : 0);
  if ((id + 1) * R.K > D.T.length) {
    const T = new Int32Array(2 * D.T.length).fill(-1), tw = new Int32Array(T.length), ts = new Int32Array(T.length);
    T.set(D.T); tw.set(D.tw); ts.set(D.ts);
    D.T = T; D.tw = tw; D.ts = ts;
    if (D.O !== null) {
      const O = new Int32Array(T.length).fill(-1), P = new Int32Array(T.length).fill(-1);
      O.set(D.O); P.set(D.P); D.O = O; D.P = P;
    }
  }
  R.words += (D.O !== null ? 5 : 3) * R.K + n;
  __reWords += (D.O !== null ? 5 : 3) * R.K + n;
  return id;
}
function __reStart(R, D, pk, com) {
  let id = D.start[pk + 4 * com];
  if (id === undefined || id < 0) id = D.start[pk + 4 * com] = __reState(R, D, Int32Array.of(2), com, pk, com);
  return id;
}
// The first time a call takes a transition it is charged what building it cost (the closure's
// visits and the lists): this bounds the work of one call whatever the cache holds, and the charge
// does not depend on it, since a transition's cost depends only on its state and class.
function __reCharge(D, x) {
  D.ts[x] = __reCall;
  if ((__reSteps += D.tw[x]) > ${maxSteps}) __reOver();
}
// Computes the transition of state "id" on class k (K - 1: the end of the input): the closure of
// its threads with the previous and the next character known, then one step. A transition is
// stored as 2 * target + 1 if the closure reached MATCH (in mode 0 every match is 1; 0 is dead).
function __reBuild(R, D, id, k) {
  const X = D.X, p = X.p, L = X.L, list = D.lists[id], K = R.K, mode = D.mode, nu = R.rep[k];
  __rePU = [-1, 97, 10, 32][D.pk[id]];
  __reNU = nu;
  L.n = 0;
  for (let i = 0; i < list.length; i++) __reAdd(X, L, list[i], 0, 0);
  if (D.com[id] === 0) __reAdd(X, L, 2, 0, 0);
  const next = X.nx, mark = ++X.epoch;
  let m = 0, pc = 0, op = 0, v = 0, nn = 0;
  for (let i = 0; i < L.n; i++) {
    pc = L.d[i]; op = p[pc];
    if (op === 0) { m = 1; if (mode === 1) break; if (mode === 0) { nn = 0; v = 1; break; } }
    else if (nu >= 0 && (op === 1 ? nu === p[pc + 1] : op === 2 && __reIn(p, p[pc + 1], nu)) && X.mk[pc + 2] !== mark) { X.mk[pc + 2] = mark; next[nn++] = pc + 2; }
  }
  const com = mode === 1 ? D.com[id] | m : D.com[id], work = 1 + list.length + L.n + nn;
  // (v is already 1 when a match ends a test.)
  if (v === 1) m = 1;
  else if (k === K - 1 || (nn === 0 && (com === 1 || (R.anch && mode !== 2)))) v = m;
  else {
    if (mode !== 1) next.subarray(0, nn).sort();
    v = 2 * __reState(R, D, next, nn, R.kind[k], com) + m;
  }
  D.T[id * K + k] = v;
  if (D.O !== null && v >= 2 && (v & 1) === 0) {
    D.O[id * K + k] = (v >> 1) * K;
    if (D.emp[v >> 1] === 0) D.P[id * K + k] = (v >> 1) * K;
  }
  D.tw[id * K + k] = work;
  D.w += work;
  return v;
}
function __reIn(p, o, c) {
  let lo = 0, hi = p[o] - 1, m = 0;
  while (lo <= hi) { m = (lo + hi) >> 1; if (c < p[o + 1 + 2 * m]) hi = m - 1; else if (c > p[o + 2 + 2 * m]) lo = m + 1; else return true; }
  return false;
}
function __reHolds(a) {
  const u = __rePU, v = __reNU;
  if (a === 0) return u < 0;
  if (a === 1) return v < 0;
  if (a === 2) return u < 0 || u === 10 || u === 13 || u === 8232 || u === 8233;
  if (a === 3) return v < 0 || v === 10 || v === 13 || v === 8232 || v === 8233;
  return ((u >= 0 && __reWord(u)) !== (v >= 0 && __reWord(v))) === (a === 4);
}
// Visits the states reachable from q without consuming input, depth first in priority order,
// adding them to list L (see the header comment); assertions read __rePU and __reNU.
function __reAdd(X, L, q, from, sid) {
  const p = X.p, stk = X.stk, d = L.d, x = L.x, gl = L.g, deep = X.deep, G = 1073741824;
  let m = L.n, e = x[q], t = 0, k = 0, op = p[q], g = G;
  if (op < 3) {
    if (!(e < m && d[e] === q)) { d[m] = q; gl[m] = G; L.st[m] = from; L.id[m] = sid; L.pa[m] = -1; x[q] = m; L.n = m + 1; }
    return;
  }
  stk[k++] = q; stk[k++] = g; stk[k++] = -1;
  while (k > 0) {
    t = stk[--k]; g = stk[--k]; q = stk[--k];
    if (q < 0) { e = ~q; q = d[e]; g = gl[e] = ~gl[e]; t = x[q]; if (!(t < m && d[t] === q && gl[t] >= g)) x[q] = e; continue; }
    op = p[q];
    if (op < 3) g = G;
    e = x[q];
    if (e < m && d[e] === q && gl[e] >= g) continue;
    e = m++; d[e] = q; L.st[e] = from; L.id[e] = sid; L.pa[e] = t;
    if (op < 3 || !deep) { gl[e] = g; x[q] = e; if (op < 3) continue; }
    else { gl[e] = ~g; stk[k++] = ~e; stk[k++] = 0; stk[k++] = 0; }
    if (op === 4) { stk[k++] = p[q + 2]; stk[k++] = g; stk[k++] = e; q = p[q + 1]; }
    else if (op === 3) q = p[q + 1];
    else if (op === 5) q = __reHolds(p[q + 1]) ? q + 2 : -1;
    else if (op === 6) { q += 2; if (g > p[q - 1]) g = p[q - 1]; }
    else q = g > p[q + 1] ? q + 2 : -1;
    if (q >= 0) { stk[k++] = q; stk[k++] = g; stk[k++] = e; }
  }
  L.n = m;
}
// The end of the leftmost-first match that starts at or after "from", or -1. Sets __reStop to
// where the scan stopped and __reW to a position no thread of that match started before.
function __reEnd(R, s, from) {
  const D = R.first, n = s.length, K = R.K, M = R.M, exact = __reExact;
  let st = __reStart(R, D, from === 0 ? 0 : __reKind(s.charCodeAt(from - 1)), 0), end = -1, i = from, v = 0, k = 0, c = 0, x = 0;
  for (;; i++) {
    if (i < n) { c = s.charCodeAt(i); k = c < 256 ? M[c] : __reClass(R, c); } else k = K - 1;
    x = st * K + k;
    v = D.T[x];
    if (v < 0) { v = __reBuild(R, D, st, k); if (!exact && D.w + R.back.w > ${maxSteps}) return -2; }
    if (exact && D.ts[x] !== __reCall) __reCharge(D, x);
    if ((v & 1) === 1) end = i;
    st = v >> 1;
    if (st === 0 || i >= n) break;
  }
  __reStop = i;
  return end;
}
// The start of the leftmost-first match that ends at "end": the leftmost position at or after
// "from" where some match ending at "end" starts, found by the reverse program read backwards.
function __reBegins(R, s, from, end) {
  const D = R.back, K = R.K, M = R.M, exact = __reExact;
  let st = __reStart(R, D, end === s.length ? 0 : __reKind(s.charCodeAt(end)), 1), start = end, i = end, v = 0, k = 0, c = 0, x = 0;
  for (;; i--) {
    if (i > 0) { c = s.charCodeAt(i - 1); k = c < 256 ? M[c] : __reClass(R, c); } else k = K - 1;
    x = st * K + k;
    v = D.T[x];
    if (v < 0) { v = __reBuild(R, D, st, k); if (!exact && D.w + R.first.w > ${maxSteps}) return -2; }
    if (exact && D.ts[x] !== __reCall) __reCharge(D, x);
    if ((v & 1) === 1) start = i;
    st = v >> 1;
    if (st === 0 || i <= from) break;
  }
  return start;
}
// The Pike VM over the whole forward program, from position "from": with "spans", every match as
// JavaScript's replace finds them (see the header comment), else whether there is a match.
// Charged one step per thread per position.
function __rePike(R, s, from, spans) {
  const X = R.fw, p = X.p, n = s.length, all = spans !== undefined, f = p[2], anch = f === 5 && p[3] === 0;
  if (X.C === null) { X.C = X.list(); X.N = X.list(); }
  const first = f === 1 ? String.fromCharCode(p[3]) : "";
  let C = X.C, N = X.N, T = C, seed = from, cur = 0, i = 0, j = 0, o = 0, pc = 0, op = 0, c = 0, st = 0, steps = 0;
  C.n = 0;
  for (j = from; j <= n; j++) {
    if (C.n === 0 && j >= seed) {
      // No thread is running: skip to where the first instruction, if it consumes, can match.
      if (f === 1) { j = s.indexOf(first, j); if (j < 0) break; }
      else if (f === 2) { while (j < n && !__reIn(p, p[3], s.charCodeAt(j))) j++; if (j === n) break; }
    }
    __rePU = j > 0 ? s.charCodeAt(j - 1) : -1;
    __reNU = j < n ? s.charCodeAt(j) : -1;
    if (j >= seed && (j === 0 || !anch)) __reAdd(X, C, 2, j, cur);
    if (C.n === 0) { if (anch) break; continue; }
    if ((steps += C.n) > ${maxSteps}) __reOver();
    N.n = 0;
    c = __reNU;
    __rePU = c;
    __reNU = j + 1 < n ? s.charCodeAt(j + 1) : -1;
    for (i = 0; i < C.n; i++) {
      pc = C.d[i]; op = p[pc];
      if (op === 1 ? c === p[pc + 1] && c >= 0 : op === 2 ? c >= 0 && __reIn(p, p[pc + 1], c) : false) __reAdd(X, N, pc + 2, C.st[i], C.id[i]);
      else if (op === 0) {
        if (!all) return true;
        // A tentative match for search k: it replaces k's earlier one and discards later searches
        // and every lower-priority thread; the next search starts here (or one unit further).
        if ((steps += 40) > ${maxSteps}) __reOver();
        st = C.st[i]; o = C.id[i];
        spans[2 * o] = st; spans[2 * o + 1] = j; cur = o + 1;
        for (o = C.pa[i]; o >= 0; o = C.pa[o]) C.x[C.d[o]] = X.L.d.length;
        C.n = i; seed = st === j ? j + 1 : j;
        if (seed === j && !anch) {
          __rePU = j > 0 ? s.charCodeAt(j - 1) : -1; __reNU = c;
          __reAdd(X, C, 2, j, cur);
          __rePU = c; __reNU = j + 1 < n ? s.charCodeAt(j + 1) : -1;
        }
        i--;
      }
    }
    T = C; C = N; N = T;
  }
  X.C = C; X.N = N;
  if (all) spans.length = 2 * cur;
  return cur > 0;
}
`.replace(/^ *\/\/.*\n/gm, "");
}

export const REGEX_VM_SOURCE: string = matcherSource(DEFAULT_LIMITS);

/**
 * The detectors' part of the matcher (pasted after `matcherSource`, only into modules that use a
 * detector with a check): `__reTestV(program, input, check)` and `__reReplaceV(program, input,
 * replacement, check)`.
 */
export function detectorMatcherSource(limits: MatcherLimits): string {
  const { maxSteps } = limits;
  return `// A detector (docs/language.md, "Detectors"): its pattern's leftmost-first matches, each one a
// candidate that the check v accepts (returning the match's end, and leaving in __reAt the match's
// start, which __reValidated sets to the candidate's start before the call and a check may move
// forward) or rejects (returning -r: the search resumes at r). __reTestV says whether one is
// accepted; __reReplaceV replaces each accepted match by r. At most MAX_CANDIDATES candidates are
// checked per call.
let __reAt = 0;
function __reTestV(p, s, v) {
  return __reDetect(p, s, null, v) === true;
}
function __reReplaceV(p, s, r, v) {
  return __reDetect(p, s, r, v);
}
function __reDetect(p, s, r, v) {
  const R = __reBegin(p, s);
  if (!__rePossible(R, s)) return r === null ? false : s;
  __reExact = R.first.w + R.back.w > ${maxSteps};
  let out = __reValidated(R, s, r, v);
  if (out === null) { __reExact = true; __reCall++; __reSteps = 0; out = __reValidated(R, s, r, v); }
  return out;
}
// The accepted matches replaced by r (a string), or with r null whether there is one; null when
// __reExact must be turned on and the call started again. Detector patterns match at most a few
// hundred units, and a check reads past its candidate only up to where the search resumes, or a
// few dozen units further (std.card_number reads the rest of a run of digit groups), so the
// searches stay linear in the input times the candidates, which are capped.
function __reValidated(R, s, r, v) {
  const n = s.length;
  let out = "", last = 0, pos = 0, e = 0, st = 0, m = 0, tries = 0, cost = 0;
  while (pos <= n) {
    e = __reEnd(R, s, pos);
    if (e === -2) return null;
    if (e < 0) break;
    st = __reBegins(R, s, pos, e);
    if (st === -2) return null;
    if (++tries > ${MAX_CANDIDATES}) throw new $E(${JSON.stringify(CANDIDATES_MESSAGE)});
    __reAt = st;
    m = v(s, st, e);
    if (m < 0) { pos = -m; continue; }
    if (r === null) return true;
    st = __reAt;
    if ((cost += 40) > ${maxSteps}) __reOver();
    out += s.slice(last, st) + r;
    last = m;
    pos = m === st ? m + 1 : m;
  }
  if (r === null) return false;
  return out === "" && last === 0 ? s : out + s.slice(last);
}
`.replace(/^ *\/\/.*\n/gm, "");
}

export const DETECTOR_VM_SOURCE: string = detectorMatcherSource(DEFAULT_LIMITS);
