/**
 * Hand-written matchers for the tokens whose length is up to the user: strings, block comments
 * and regex literals. Each is a loop over the text, linear in the token's length. They replace
 * regular expressions such as `"(?:[^"\\\n\r]|\\.)*"?`, which V8's backtracking engine runs with
 * one stack entry per character and which overflow (RangeError) on a token of a few megabytes;
 * no library offers these three token shapes, and Chevrotain takes custom matchers for exactly
 * this purpose.
 */
import type { CustomPatternMatcherReturn } from "chevrotain";

type Matcher = (text: string, offset: number) => CustomPatternMatcherReturn | null;

function isLineBreak(c: number): boolean {
  return c === 10 || c === 13;
}

function match(text: string, from: number, to: number): CustomPatternMatcherReturn {
  return [text.slice(from, to)] as CustomPatternMatcherReturn;
}

/**
 * A string quoted with `quote`: escapes are a backslash and any character but a line terminator;
 * an unterminated string ends at its line's end, or before a backslash that escapes nothing
 * (reported later).
 */
export function quoted(quote: string): Matcher {
  const q = quote.charCodeAt(0);
  return (text, offset) => {
    if (text.charCodeAt(offset) !== q) return null;
    let i = offset + 1;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === q) return match(text, offset, i + 1);
      if (isLineBreak(c)) break;
      if (c === 92) {
        // a backslash escapes the next character unless it is a line terminator (or there is none)
        const next = text.charCodeAt(i + 1);
        if (i + 1 >= text.length || isLineBreak(next) || next === 0x2028 || next === 0x2029) break;
        i += 2;
      } else i++;
    }
    return match(text, offset, i);
  };
}

/** `/* ... *\/`; an unclosed one runs to the end of the text. */
export const blockComment: Matcher = (text, offset) => {
  if (text.charCodeAt(offset) !== 47 || text.charCodeAt(offset + 1) !== 42) return null;
  const close = text.indexOf("*/", offset + 2);
  return match(text, offset, close < 0 ? text.length : close + 2);
};

/**
 * `/pattern/flags`: not `//` or `/*` (comments). Inside, `\` escapes any character but a line
 * break, and `[...]` is a class in which `/` does not close the pattern. An unclosed regex (or
 * class) ends at its line's end, or before a backslash that escapes nothing.
 */
export const regexLiteral: Matcher = (text, offset) => {
  if (text.charCodeAt(offset) !== 47) return null;
  const second = text.charCodeAt(offset + 1);
  if (second === 47 || second === 42) return null;
  let i = offset + 1;
  let inClass = false;
  let closed = false;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (isLineBreak(c)) break;
    if (c === 92) {
      if (i + 1 >= text.length || isLineBreak(text.charCodeAt(i + 1))) break;
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === 93) inClass = false;
    } else if (c === 91) inClass = true;
    else if (c === 47) {
      closed = true;
      i++;
      break;
    }
    i++;
  }
  if (closed) while (i < text.length && isLetter(text.charCodeAt(i))) i++;
  return match(text, offset, i);
};

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
