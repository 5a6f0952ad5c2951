/**
 * Reads the repository's Markdown into what the docs test runs: fenced blocks with their line,
 * info string, section heading and `docs-test` annotation, and every link with its line.
 * The Markdown is parsed by markdown-it (its tokens carry source line maps), so fences inside
 * lists, indented fences and HTML comments are read as a Markdown reader sees them.
 */
import MarkdownIt from "markdown-it";

export interface Annotation {
  /** `skip: REASON`: the block is not run, for the reason given. */
  readonly skip?: string;
  /** `expect A301, A404`: the diagnostic codes (errors and warnings) the policy shows. */
  readonly expect?: readonly string[];
  /** `schema PATH`: the file (from the repository root) the policy's `schema "..."` reads. */
  readonly schema?: string;
  /** `decide INPUT => DECISION [by RULE, ...]`: the decision the text states for INPUT. */
  /** `decide [STAGE] INPUT => DECISION [by RULES]`; the stage is `call` when not written. */
  readonly decide?: readonly { readonly stage: "call" | "result" | "output"; readonly input: string; readonly decision: string; readonly by?: readonly string[] }[];
  /** `run COMMAND`: the block is the output of COMMAND, run in the file's workspace. */
  readonly run?: string;
  /** `files DIR`: the fixture folder (under test/docs/fixtures) copied into the workspace first. */
  readonly files?: string;
  /** `exit N`: the exit code of the block's last command (default 0). */
  readonly exit?: number;
  /** `stderr`: the shown output is what the command prints to stderr. */
  readonly stderr?: boolean;
  /** `saves NAME`: the block is the file NAME beside the document's later policies (e.g. a schema). */
  readonly saves?: string;
  /**
   * `each-line PREFIX`: every line is a rule `RULE // CODE SEVERITY: ...`, checked after the
   * policy text PREFIX (`\n` for line breaks); it must show exactly that code at that severity.
   */
  readonly eachLine?: string;
}

export interface Block {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly info: string;
  readonly lang: string;
  readonly content: string;
  /** The nearest heading above the block. */
  readonly heading: string;
  /** Whether a paragraph starting with "**How to fix" stands between the heading and the block. */
  readonly afterFix: boolean;
  readonly annotation: Annotation;
  /** An annotation that could not be read, with why. */
  readonly annotationError?: string;
}

export interface Link {
  readonly file: string;
  readonly line: number;
  readonly href: string;
}

/** A performance figure in prose (a number with a unit of time or throughput), with the links of its paragraph. */
export interface Figure {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly number: string;
  readonly links: readonly string[];
}

/** Numbers with a unit of time per operation or of throughput, as benchmarks report them. */
const FIGURE = /(\d[\d,]*(?:\.\d+)?)\s?(ms|µs|us|ns|MB\/s|GB\/s|ops\/s|req\/s|requests\/s)(?![\w/])/g;

export interface MarkdownDoc {
  readonly file: string;
  readonly figures: readonly Figure[];
  readonly blocks: readonly Block[];
  readonly links: readonly Link[];
  /** GitHub's anchors of the document's headings. */
  readonly anchors: ReadonlySet<string>;
}

const md = new MarkdownIt({ html: true });
const ANNOTATION = /^<!--\s*docs-test:\s*([\s\S]*?)\s*-->\s*$/;

/** GitHub's heading anchor: lower case, punctuation other than `-` and `_` dropped, spaces to `-`. */
export function githubAnchor(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

type MutableAnnotation = { -readonly [K in keyof Annotation]: Annotation[K] };

/** Each directive: its pattern, and what a match sets. */
const DIRECTIVES: readonly { readonly name: string; readonly pattern: RegExp; readonly apply: (out: MutableAnnotation, m: RegExpMatchArray, d: string) => void }[] = [
  {
    name: "skip",
    pattern: /^skip\b\s*(?::|\()?\s*(.*?)\)?$/s,
    apply: (out, m) => {
      if (m[1]!.trim().length < 8) throw new Error(`\`skip\` needs a reason: \`skip: why the block is not run\``);
      out.skip = m[1]!.trim();
    },
  },
  {
    name: "expect",
    pattern: /^expect\s+(.*)$/s,
    apply: (out, m, d) => {
      const codes = m[1]!.split(/[\s,]+/).filter(Boolean);
      if (codes.some((c) => !/^A\d{3}$/.test(c)) && !(codes.length === 1 && codes[0] === "none")) throw new Error(`\`expect\` takes diagnostic codes such as A301, or \`none\`: ${d}`);
      out.expect = codes[0] === "none" ? [] : codes;
    },
  },
  {
    name: "schema",
    pattern: /^schema\s+(\S+)$/,
    apply: (out, m) => {
      out.schema = m[1]!;
    },
  },
  {
    name: "decide",
    pattern: /^decide(?:\s+(call|result|output))?\s+(\{.*\})\s*=>\s*(allow|deny|require_approval)(?:\s+by\s+(.+))?$/s,
    apply: (out, m) => {
      const stage = (m[1] ?? "call") as "call" | "result" | "output";
      out.decide = [...(out.decide ?? []), { stage, input: m[2]!, decision: m[3]!, ...(m[4] ? { by: m[4].split(/\s*,\s*/).map((s) => s.trim()) } : {}) }];
    },
  },
  {
    name: "run",
    pattern: /^run\s+(.+)$/s,
    apply: (out, m) => {
      out.run = m[1]!.trim();
    },
  },
  {
    name: "files",
    pattern: /^files\s+(\S+)$/,
    apply: (out, m) => {
      out.files = m[1]!;
    },
  },
  {
    name: "exit",
    pattern: /^exit\s+(\d+)$/,
    apply: (out, m) => {
      out.exit = Number(m[1]);
    },
  },
  {
    name: "stderr",
    pattern: /^stderr$/,
    apply: (out) => {
      out.stderr = true;
    },
  },
  {
    name: "saves",
    pattern: /^saves\s+(\S+)$/,
    apply: (out, m) => {
      out.saves = m[1]!;
    },
  },
  {
    name: "each-line",
    pattern: /^each-line\s+(.+)$/s,
    apply: (out, m) => {
      out.eachLine = m[1]!.trim().replace(/\\n/g, "\n");
    },
  },
];

/** Reads `docs-test:` directives, separated by `;` outside double-quoted strings. */
export function parseAnnotation(text: string): Annotation {
  const out: MutableAnnotation = {};
  // a skip's reason is free text, `;` included
  for (const raw of /^\s*skip\b/.test(text) ? [text] : splitDirectives(text)) {
    const d = raw.trim();
    if (d === "") continue;
    const found = DIRECTIVES.map((directive) => ({ directive, m: d.match(directive.pattern) })).find((x) => x.m !== null);
    if (found === undefined) throw new Error(`unknown docs-test directive \`${d}\` (known: ${DIRECTIVES.map((x) => x.name).join(", ")})`);
    found.directive.apply(out, found.m!, d);
  }
  return out;
}

/** Splits on `;` outside double-quoted strings. */
function splitDirectives(text: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\" && quoted) {
      cur += c + (text[i + 1] ?? "");
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ";" && !quoted) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

export function readMarkdown(file: string, text: string): MarkdownDoc {
  const tokens = md.parse(text, {});
  const blocks: Block[] = [];
  const links: Link[] = [];
  const figures: Figure[] = [];
  const anchors = new Set<string>();
  const anchorCounts = new Map<string, number>();
  let heading = "";
  let afterFix = false;
  let pending: { text: string; line: number } | null = null;
  let lastLine = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.map) lastLine = t.map[0] + 1;
    if (t.type === "heading_open") {
      const inline = tokens[i + 1]!;
      heading =
        inline.children
          ?.filter((c) => c.type === "text" || c.type === "code_inline")
          .map((c) => c.content)
          .join("") ?? inline.content;
      const base = githubAnchor(heading);
      const n = anchorCounts.get(base) ?? 0;
      anchorCounts.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
      afterFix = false;
      pending = null;
    } else if (t.type === "html_block") {
      const m = t.content.trim().match(ANNOTATION);
      pending = m ? { text: m[1]!, line: t.map![0] + 1 } : null;
    } else if (t.type === "fence") {
      let annotation: Annotation = {};
      let annotationError: string | undefined;
      if (pending) {
        try {
          annotation = parseAnnotation(pending.text);
        } catch (e) {
          annotationError = `${file}:${pending.line}: ${(e as Error).message}`;
        }
      }
      const info = t.info.trim();
      blocks.push({ file, line: t.map![0] + 1, info, lang: info.split(/\s+/)[0] ?? "", content: t.content, heading, afterFix, annotation, ...(annotationError ? { annotationError } : {}) });
      pending = null;
    } else if (t.type === "inline") {
      if (/^\*\*How to fix/.test(t.content)) afterFix = true;
      let line = lastLine;
      const hrefs = (t.children ?? []).filter((c) => c.type === "link_open").map((c) => c.attrGet("href") ?? "");
      for (const c of t.children ?? []) {
        if (c.type === "softbreak" || c.type === "hardbreak") line++;
        if (c.type === "link_open") links.push({ file, line, href: c.attrGet("href") ?? "" });
        if (c.type === "image") links.push({ file, line, href: c.attrGet("src") ?? "" });
        if (c.type === "text") for (const m of c.content.matchAll(FIGURE)) figures.push({ file, line, text: m[0], number: m[1]!, links: hrefs });
      }
    } else if (t.type === "paragraph_open") {
      pending = null;
    }
  }
  return { file, blocks, links, figures, anchors };
}

/** Languages shown as prose, which the docs test does not run. */
export const PROSE_LANGS: ReadonlySet<string> = new Set(["text", "ebnf", "lua", "toml"]);

/** The directives each kind of block acts on (besides `skip`, which stops any block running). */
const DIRECTIVES_OF: Record<string, readonly (keyof Annotation)[]> = {
  armor: ["expect", "schema", "decide", "saves"],
  sh: ["files", "exit", "saves"],
  console: ["files", "exit", "saves"],
  js: ["saves"],
  mjs: ["saves"],
  python: ["saves"],
  py: ["saves"],
  json: ["saves"],
};
const RUN_DIRECTIVES: readonly (keyof Annotation)[] = ["run", "files", "exit", "stderr", "saves"];
const EACH_LINE_DIRECTIVES: readonly (keyof Annotation)[] = ["eachLine", "saves"];

/**
 * Why a block would check less than it seems to, or null: a language that is neither run nor
 * prose (a `bash` or `ts` block would pass without running), or a directive its kind of block
 * does not act on (a `decide` over a `text` block, an `exit` on a policy), which would pass
 * without checking anything.
 */
export function blockProblem(block: Pick<Block, "lang" | "annotation">): string | null {
  const a = block.annotation;
  if (a.skip) return null;
  const acted = a.run ? RUN_DIRECTIVES : a.eachLine !== undefined ? EACH_LINE_DIRECTIVES : DIRECTIVES_OF[block.lang];
  if (acted === undefined && block.lang !== "" && !PROSE_LANGS.has(block.lang)) {
    return `a \`${block.lang}\` block is not run; use a language the docs test runs (${Object.keys(DIRECTIVES_OF).join(", ")}) or one of the prose languages (${[...PROSE_LANGS].join(", ")})`;
  }
  const ignored = (Object.keys(a) as (keyof Annotation)[]).filter((d) => !(acted ?? []).includes(d));
  if (ignored.length > 0) return `a \`${block.lang}\` block${a.run ? " with `run`" : ""} does not act on ${ignored.map((d) => `\`${d}\``).join(", ")}, so it would check nothing`;
  return null;
}
