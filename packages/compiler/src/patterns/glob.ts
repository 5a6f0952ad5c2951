/**
 * `glob("PATTERN")` as a pattern: translated to the language's regex syntax and compiled by the
 * same linear-time matcher (docs/language.md, "Globs"). Written by hand rather than with a glob
 * library (picomatch, minimatch): those produce JavaScript regexes with lookarounds, which the
 * matcher rejects, and their dialects (braces, extglobs, dotfile rules) are more than the language
 * defines.
 *
 * - `*`: any run of characters except `/`;
 * - `**`: any run of characters, `/` included; `**` followed by `/` matches zero or more whole
 *   directories (`src/**` + `/` + `*.ts` matches `src/a.ts` and `src/x/y/a.ts`);
 * - `?`: one character except `/`;
 * - `[abc]`, `[a-z]`, `[!abc]`: one character (never `/`) in, or not in, the class;
 * - `\C`: the character C itself;
 * - anything else matches itself; the glob matches the whole string.
 */

export type GlobResult = { readonly ok: true; readonly regex: string } | { readonly ok: false; readonly offset: number; readonly message: string; readonly help: string };

/** Characters with a meaning in the regex syntax, escaped when a glob uses them literally. */
const REGEX_SPECIAL = new Set([..."\\^$.|?*+()[]{}/-"]);

function literal(c: string): string {
  return REGEX_SPECIAL.has(c) ? `\\${c}` : c;
}

/** The glob as an anchored regex source, or the offset (in the glob) of its first error. */
export function globToRegex(glob: string): GlobResult {
  let out = "^";
  let i = 0;
  while (i < glob.length) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] !== "*") {
        out += "[^/]*";
        i += 1;
        continue;
      }
      // `**/` (repeated: `**/**/` is the same) matches zero or more directories; a final `**`
      // (or one not followed by `/`) any run
      let j = i;
      while (glob.startsWith("**/", j)) j += 3;
      if (j > i) {
        out += "(?:[^]*/)?";
        i = j;
      } else {
        out += "[^]*";
        i += 2;
        while (glob[i] === "*") i++;
      }
      continue;
    }
    if (c === "?") {
      out += "[^/]";
      i += 1;
      continue;
    }
    if (c === "\\") {
      if (i + 1 >= glob.length) return fail(i, "a glob ends with `\\`", "escape a character after `\\`, e.g. `\\*`, or write `\\\\` for a backslash");
      out += literal(glob[i + 1]!);
      i += 2;
      continue;
    }
    if (c === "[") {
      const cls = globClass(glob, i);
      if (!cls.ok) return cls;
      out += cls.regex;
      i = cls.next;
      continue;
    }
    out += literal(c);
    i += 1;
  }
  return { ok: true, regex: `${out}$` };
}

function fail(offset: number, message: string, help: string): GlobResult & { ok: false } {
  return { ok: false, offset, message, help };
}

/** A class `[...]` starting at `start`: its regex and the offset after its `]`. */
function globClass(glob: string, start: number): (GlobResult & { ok: false }) | { ok: true; regex: string; next: number } {
  let i = start + 1;
  const negated = glob[i] === "!";
  if (negated) i++;
  let body = "";
  let members = 0;
  let previous = "";
  while (i < glob.length && glob[i] !== "]") {
    let c = glob[i]!;
    const escaped = c === "\\";
    if (escaped) {
      if (i + 1 >= glob.length) break;
      c = glob[i + 1]!;
      i++;
    }
    if (c === "/") return fail(i, "a glob class contains `/`", "a class matches one character of a name, never `/`; remove it");
    const range = c === "-" && !escaped && members > 0 && glob[i + 1] !== "]";
    if (range) {
      // a range such as `.-0` holds `/` without naming it
      const high = glob[i + 1] === "\\" ? glob[i + 2] : glob[i + 1];
      if (high !== undefined && previous <= "/" && "/" <= high) return fail(i, "a range in a glob class includes `/`", "a class matches one character of a name, never `/`; split the range around it");
    }
    body += range ? "-" : c === "\\" || c === "]" || c === "[" || c === "^" || c === "-" ? `\\${c}` : c;
    previous = c;
    members++;
    i++;
  }
  if (i >= glob.length) return fail(start, "a glob class has no closing `]`", "end the class with `]`, or write `\\[` for a literal `[`");
  if (members === 0) return fail(start, "a glob class is empty", "put at least one character between `[` and `]`, e.g. `[abc]`");
  return { ok: true, regex: negated ? `[^/${body}]` : `[${body}]`, next: i + 1 };
}
