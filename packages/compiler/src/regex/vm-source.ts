/**
 * The regex matcher as JavaScript source text, pasted verbatim into every compiled policy that
 * uses a regex (and instantiated once by `vm.ts` for the compiler itself). It is our own constant
 * text and is never built from user input.
 *
 * It declares exactly two functions:
 *
 *   __reTest(program, input)                 like `new RegExp(source, flags).test(input)`
 *   __reReplace(program, input, replacement) like `input.replace(new RegExp(source, flags + "g"),
 *                                            () => replacement)`
 *
 * `program` is a `RegexProgram` from `parse.ts` (see the layout there). The matcher is a Pike VM:
 * it advances all threads in lockstep over the input, one code unit at a time, keeping at most one
 * thread per instruction in a list ordered by priority (the order a backtracking matcher would
 * try them). That bounds the work to O(input × program) whatever the pattern, and a thread that
 * reaches an instruction already in the list is dropped because the earlier thread has the same
 * future and a higher priority.
 *
 * Thread lists are sparse sets (`d` dense pcs, `x` sparse index) that also hold the epsilon
 * instructions visited while following a thread (needed for CHECK and for truncation), with each
 * entry's match start `st`, search number `id` and the list entry `pa` it was reached from.
 * Everything is allocated once per call, sized by the program; nothing is allocated per character.
 *
 * Finding every match for replace: JavaScript finds the leftmost-first match, then searches again
 * from its end (one unit further after an empty match). Restarting the VM each time would rescan
 * the text the previous search read ahead, which is quadratic for patterns like `/[a-z]*X|a/`.
 * Instead the searches run in one pass. Once search k has a tentative match ending at the current
 * position, search k+1 starts right there while search k keeps running its higher-priority
 * threads; the list holds search k's threads before search k+1's. A thread of search k+1 that meets
 * an instruction already held by search k is dropped: if search k's thread later matches, search
 * k's match changes and every later search is discarded (`spans` is truncated and their threads
 * are cut from the list); if it fails, so would the dropped one. The instructions that led to the
 * tentative match itself are released from the list (walking `pa`) so the next search can use them.
 *
 * Opcodes: 0 MATCH, 1 CHAR c, 2 CLASS at, 3 JMP x, 4 SPLIT x y, 5 ASSERT k, 6 CHECK l.
 * Assertions: 0 `^`, 1 `$`, 2 `^` (m), 3 `$` (m), 4 `\b`, 5 `\B`.
 *
 * `__reTest` takes an undocumented third argument: an array to receive every match as
 * [start, end] pairs, which `__reReplace` uses; without it the first match found ends the search.
 */
export const REGEX_VM_SOURCE: string = `function __reTest(p, s, spans) {
  const m = p.length, n = s.length, all = spans !== undefined, anch = p[0] === 5 && p[1] === 0;
  const list = () => ({ d: new Int32Array(m), x: new Int32Array(m), st: new Int32Array(m), id: new Int32Array(m), pa: new Int32Array(m), n: 0 });
  const stk = new Int32Array(2 * m + 4);
  let C = list(), N = list(), T, seed = 0, cur = 0, i, j, k, o, pc, op, c, lo, hi, mid, st;
  const has = (L, q) => { const e = L.x[q]; return e < L.n && L.d[e] === q; };
  const word = (q) => { if (q < 0 || q >= n) return false; const u = s.charCodeAt(q); return u < 58 ? u > 47 : u < 91 ? u > 64 : u === 95 || (u > 96 && u < 123); };
  const nl = (u) => u === 10 || u === 13 || u === 8232 || u === 8233;
  const holds = (a, q) => a === 0 ? q === 0 : a === 1 ? q === n : a === 2 ? q === 0 || nl(s.charCodeAt(q - 1)) : a === 3 ? q === n || nl(s.charCodeAt(q)) : (word(q - 1) !== word(q)) === (a === 4);
  // Follows epsilon instructions from q in priority order (depth first), adding every instruction
  // reached to list L for input position at; threads are the CHAR, CLASS and MATCH entries.
  const add = (L, q, at, from, sid) => {
    let sp = 2, e, t;
    stk[0] = q; stk[1] = -1;
    while (sp) {
      t = stk[--sp]; q = stk[--sp];
      if (has(L, q)) continue;
      e = L.n++; L.x[q] = e; L.d[e] = q; L.st[e] = from; L.id[e] = sid; L.pa[e] = t;
      switch (p[q]) {
        case 3: stk[sp++] = p[q + 1]; stk[sp++] = e; break;
        case 4: stk[sp++] = p[q + 2]; stk[sp++] = e; stk[sp++] = p[q + 1]; stk[sp++] = e; break;
        case 5: if (holds(p[q + 1], at)) { stk[sp++] = q + 2; stk[sp++] = e; } break;
        case 6: if (!has(L, p[q + 1])) { stk[sp++] = q + 2; stk[sp++] = e; } break;
      }
    }
  };
  for (j = 0; j <= n; j++) {
    if (j >= seed && (j === 0 || !anch)) add(C, 0, j, j, cur);
    if (C.n === 0) { if (anch) break; continue; }
    N.n = 0;
    c = j < n ? s.charCodeAt(j) : -1;
    for (i = 0; i < C.n; i++) {
      pc = C.d[i]; op = p[pc];
      if (op === 1) {
        if (c === p[pc + 1]) add(N, pc + 2, j + 1, C.st[i], C.id[i]);
      } else if (op === 2) {
        if (c < 0) continue;
        o = p[pc + 1]; lo = 0; hi = p[o] - 1;
        while (lo <= hi) {
          mid = (lo + hi) >> 1; k = o + 1 + 2 * mid;
          if (c < p[k]) hi = mid - 1;
          else if (c > p[k + 1]) lo = mid + 1;
          else { add(N, pc + 2, j + 1, C.st[i], C.id[i]); break; }
        }
      } else if (op === 0) {
        if (!all) return true;
        // A tentative match for search k: it replaces k's earlier one and discards later searches
        // and every lower-priority thread; the next search starts here (or one unit further).
        st = C.st[i]; k = C.id[i];
        spans.length = 2 * k; spans.push(st, j); cur = k + 1;
        for (o = C.pa[i]; o >= 0; o = C.pa[o]) C.x[C.d[o]] = m;
        C.n = i; seed = st === j ? j + 1 : j;
        if (seed === j && !anch) add(C, 0, j, j, cur);
        i--;
      }
    }
    T = C; C = N; N = T;
  }
  return all && spans.length > 0;
}
function __reReplace(p, s, r) {
  const sp = [];
  if (!__reTest(p, s, sp)) return s;
  let out = "", last = 0;
  for (let i = 0; i < sp.length; i += 2) { out += s.slice(last, sp[i]) + r; last = sp[i + 1]; }
  return out + s.slice(last);
}
`;
