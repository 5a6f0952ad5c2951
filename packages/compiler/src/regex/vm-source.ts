/**
 * The regex matcher as JavaScript source text, pasted verbatim into every compiled policy that
 * uses a regex (and instantiated once by `vm.ts` for the compiler itself). It is our own constant
 * text and is never built from user input. It is plain ES2020 with no imports and uses only
 * standard built-ins, and it declares exactly two functions:
 *
 *   __reTest(program, input)                 like `new RegExp(source, flags).test(input)`
 *   __reReplace(program, input, replacement) like `input.replace(new RegExp(source, flags + "g"),
 *                                            () => replacement)`
 *
 * `program` is a `RegexProgram` from `parse.ts` (see the layout there). `__reTest` also takes an
 * internal third argument: an array that receives every match as [start, end] pairs, which is
 * how `__reReplace` works; without it the first match found ends the search.
 *
 * The matcher is a Pike VM: all threads advance in lockstep over the input, one code unit at a
 * time, in a list ordered by priority (the order in which a backtracking matcher would try them).
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
 * typed arrays allocated once per call and sized by the program; nothing is allocated per
 * character.
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
export const REGEX_VM_SOURCE: string = `function __reTest(p, s, spans) {
  const n = s.length, all = spans !== undefined, cap = 2 * p[0] + 2, deep = p[1] > 0, G = 1 << 30, f = p[2], anch = f === 5 && p[3] === 0;
  const first = f === 1 ? String.fromCharCode(p[3]) : "";
  const list = () => ({ d: new Int32Array(cap), g: new Int32Array(cap), st: new Int32Array(cap), id: new Int32Array(cap), pa: new Int32Array(cap), x: new Int32Array(p.length), n: 0 });
  const stk = new Int32Array(6 * cap + 6);
  let C = list(), N = list(), T, seed = 0, cur = 0, i, j, o, pc, op, c, st;
  const cls = (o, c) => { let lo = 0, hi = p[o] - 1, m; while (lo <= hi) { m = (lo + hi) >> 1; if (c < p[o + 1 + 2 * m]) hi = m - 1; else if (c > p[o + 2 + 2 * m]) lo = m + 1; else return true; } return false; };
  const word = (q) => { if (q < 0 || q >= n) return false; const u = s.charCodeAt(q); return u < 58 ? u > 47 : u < 91 ? u > 64 : u === 95 || (u > 96 && u < 123); };
  const nl = (u) => u === 10 || u === 13 || u === 8232 || u === 8233;
  const holds = (a, q) => a === 0 ? q === 0 : a === 1 ? q === n : a === 2 ? q === 0 || nl(s.charCodeAt(q - 1)) : a === 3 ? q === n || nl(s.charCodeAt(q)) : (word(q - 1) !== word(q)) === (a === 4);
  // Visits the states reachable from (q, g) without consuming input, depth first in priority
  // order, adding them to list L for input position at; a frame with q < 0 finishes entry ~q.
  // x[q] is the best finished visit of q if it is below the length, holds q and is finished
  // (g[e] is ~level while entry e is being visited, so stale or unfinished entries do not count).
  const add = (L, q, at, from, sid, g) => {
    const d = L.d, x = L.x, gl = L.g;
    let m = L.n, e = x[q], t, k = 0, op = p[q];
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
      else if (op === 5) q = holds(p[q + 1], at) ? q + 2 : -1;
      else if (op === 6) { q += 2; if (g > p[q - 1]) g = p[q - 1]; }
      else q = g > p[q + 1] ? q + 2 : -1;
      if (q >= 0) { stk[k++] = q; stk[k++] = g; stk[k++] = e; }
    }
    L.n = m;
  };
  for (j = 0; j <= n; j++) {
    if (C.n === 0 && j >= seed) {
      // No thread is running: skip to where the first instruction, if it consumes, can match.
      if (f === 1) { j = s.indexOf(first, j); if (j < 0) break; }
      else if (f === 2) { while (j < n && !cls(p[3], s.charCodeAt(j))) j++; if (j === n) break; }
    }
    if (j >= seed && (j === 0 || !anch)) add(C, 2, j, j, cur, G);
    if (C.n === 0) { if (anch) break; continue; }
    N.n = 0;
    c = j < n ? s.charCodeAt(j) : -1;
    for (i = 0; i < C.n; i++) {
      pc = C.d[i]; op = p[pc];
      if (op === 1 ? c === p[pc + 1] : op === 2 ? c >= 0 && cls(p[pc + 1], c) : false) add(N, pc + 2, j + 1, C.st[i], C.id[i], G);
      else if (op === 0) {
        if (!all) return true;
        // A tentative match for search k: it replaces k's earlier one and discards later searches
        // and every lower-priority thread; the next search starts here (or one unit further).
        st = C.st[i]; o = C.id[i];
        spans[2 * o] = st; spans[2 * o + 1] = j; cur = o + 1;
        for (o = C.pa[i]; o >= 0; o = C.pa[o]) C.x[C.d[o]] = cap;
        C.n = i; seed = st === j ? j + 1 : j;
        if (seed === j && !anch) add(C, 2, j, j, cur, G);
        i--;
      }
    }
    T = C; C = N; N = T;
  }
  if (all) spans.length = 2 * cur;
  return cur > 0;
}
function __reReplace(p, s, r) {
  const sp = [];
  if (!__reTest(p, s, sp)) return s;
  let out = "", last = 0;
  for (let i = 0; i < sp.length; i += 2) { out += s.slice(last, sp[i]) + r; last = sp[i + 1]; }
  return out + s.slice(last);
}
`;
