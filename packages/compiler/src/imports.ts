/**
 * Policies in many files (docs/language.md §18). A file's `import "PATH" as NS` items are
 * resolved through the host, each imported file is parsed and checked on its own (its `param`s
 * set by the importer), and its checked rules join the importer's under `NS.` ids, renumbered
 * into one IR: the emitted module stays one self-contained file. `disable NS.R` drops an
 * imported rule and `override NS.R ...` puts the importer's rule in its place, under its id.
 *
 * Paths: relative to the importing file (`./x.armor`, `../shared/x.armor`), and never outside
 * the root policy's directory tree (or the host's `importRoot`); a pack (`armor:NAME`) is
 * the host's file for NAME, and a pack's own relative imports stay inside the packs' folder.
 * Absolute paths are refused, and so is a path whose real location (symbolic links followed,
 * when the host can tell) leaves the tree. This module reads nothing itself and uses no Node
 * built-in: paths are strings, reading is the host's.
 */
import { catalog } from "./diagnostics/catalog.js";
import { type Diagnostic, DiagnosticBag, type RelatedInfo } from "./diagnostics/diagnostic.js";
import type * as IR from "./ir.js";
import { offsets, type Renumbering, renumberEffect, renumberExpr, renumberProperty, renumberRegex, renumberTracker } from "./ir-renumber.js";
import type { CheckOutput } from "./semantic/checker.js";
import { checkFile } from "./semantic/checker.js";
import { closest } from "./semantic/names.js";
import { dataValue, PARAM_TYPE_HELP, paramTypeProblem, paramTypeText } from "./semantic/params.js";
import type { ActionSchema } from "./semantic/schema.js";
import type { Type } from "./semantic/types.js";
import type * as A from "./syntax/ast.js";
import { type ParseResult, parse } from "./syntax/parse.js";
import { SourceFile, type Span } from "./syntax/source.js";

/** The deepest chain of imports (a file importing a file importing ...). */
export const MAX_IMPORT_DEPTH = 32;
/** The most files one policy may import, counting each import of a file. */
export const MAX_IMPORTED_FILES = 256;
/**
 * The most text one policy may import in all, counting each import of a file (a file imported
 * eight times counts eight times: its rules are merged eight times): the size limit of one file
 * (MAX_FILE_BYTES), so an import graph compiles to no more than two files at that limit would.
 */
export const MAX_IMPORTED_BYTES = 16 * 1024 * 1024;

/** What the importer needs of the host: reading, and where packs and real paths are. */
export interface ImportHost {
  readFile(path: string): string | undefined;
  /**
   * The file's text together with the real path of the file actually read (symbolic links
   * resolved when it was opened), or undefined. An imported file is read through this when the
   * host has it, and the tree is checked against that path: a link swapped between the check of
   * `realPath` and the read cannot lead outside the tree.
   */
  readReal?(path: string): { readonly text: string; readonly realPath: string } | undefined;
  refuse?(path: string): string | null;
  /** The file of the pack `armor:NAME`, or undefined when there is no such pack. */
  packFile?(name: string): string | undefined;
  /** The path with symbolic links resolved, or undefined when it cannot be found. */
  realPath?(path: string): string | undefined;
  /** The directory every imported file must be inside; the root policy's directory when absent. */
  readonly importRoot?: string;
}

/** One file of a policy: the root first, then every imported file in import order (depth first), each once. */
export interface PolicyFile {
  /** The host path of the file. */
  readonly path: string;
  /** How the source hash names it: relative to the root policy's directory, or `armor:NAME/...` for a pack's files. */
  readonly name: string;
  readonly source: SourceFile;
  readonly syntax: ParseResult;
}

/** An import as resolved, for tools: where it is written and which file it names. */
export interface ResolvedImport {
  /** The file the `import` is written in, its span there, and its namespace from the root (`agent.base`). */
  readonly from: string;
  readonly span: Span;
  readonly namespace: string;
  readonly path: string;
}

export interface ImportResult {
  readonly policy: IR.Policy;
  readonly files: readonly PolicyFile[];
  readonly imports: readonly ResolvedImport[];
  /** Every diagnostic of the imported files, and of the imports, overrides and disables of any file. */
  readonly diagnostics: readonly Diagnostic[];
}

/** A file's lets and params, with where each is declared (null for a param), for `NS.LET` reads. */
type LetTable = ReadonlyMap<string, { readonly value: IR.Value; readonly type: Type; readonly declared?: Span | null }>;

interface Frame {
  readonly file: string;
  readonly span: Span;
}

const PACK_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
/** Namespaces an import may not take: the input's roots and the words a path starts with. */
const RESERVED_NAMESPACES: ReadonlySet<string> = new Set(["action", "user", "context", "time", "current", "result", "output", "session", "labels", "std", "type"]);

// ---- paths, as strings ---------------------------------------------------------------------

/** Whether a path is absolute on POSIX or Windows. */
function isAbsolutePath(p: string): boolean {
  return p.startsWith("/") || p.startsWith("\\") || /^[A-Za-z]:[\\/]/.test(p);
}

/** `a/./b/../c` → `a/c`; `..` above the start is kept (`../x`). */
export function normalizePath(p: string): string {
  const absolute = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.split(/[\\/]+/)) {
    if (seg === "" || seg === ".") continue;
    if (seg === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (seg === ".." && absolute) continue;
    else out.push(seg);
  }
  const body = out.join("/");
  return absolute ? `/${body}` : body === "" ? "." : body;
}

export function dirOf(p: string): string {
  const at = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return at < 0 ? "." : at === 0 ? "/" : p.slice(0, at);
}

/** Whether `p` is `dir` or inside it (both normalized). */
function inside(dir: string, p: string): boolean {
  if (dir === ".") return !p.startsWith("../") && p !== ".." && !p.startsWith("/");
  return p === dir || p.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/** `p` relative to `dir` when inside it (both normalized). */
function relativeTo(dir: string, p: string): string {
  if (dir === ".") return p;
  return p === dir ? "." : p.slice(dir.length + (dir.endsWith("/") ? 0 : 1));
}

// ---- the import graph ----------------------------------------------------------------------

interface Checked {
  readonly policy: IR.Policy;
  readonly lets: LetTable;
}

/**
 * Resolves and merges the imports of a root policy already parsed. `checkRoot` checks the root's
 * own AST given the lets of its imports (the same checker every file goes through).
 */
export function resolveImports(
  root: { readonly path: string; readonly source: SourceFile; readonly syntax: ParseResult },
  host: ImportHost,
  schema: ActionSchema | null,
  checkRoot: (imported: ReadonlyMap<string, LetTable>, importedRules: ReadonlySet<string>) => CheckOutput,
): ImportResult & { readonly root: CheckOutput } {
  const graph = new ImportGraph(host, root.path, schema);
  graph.files.push({ path: root.path, name: baseOf(root.path), source: root.source, syntax: root.syntax });
  graph.seen.add(normalizePath(root.path));
  let rootCheck: CheckOutput | undefined;
  const merged = graph.load(root.path, root.syntax.ast, root.source, [], "", graph.allowedFor(root.path), (imported, importedRules) => {
    rootCheck = checkRoot(imported, importedRules);
    return rootCheck;
  });
  return {
    policy: merged.policy,
    files: graph.files,
    imports: graph.imports,
    diagnostics: dedupe(graph.diagnostics).filter((d) => !(d.code === catalog.unusedLet.code && graph.readLets.has(`${normalizePath(d.file)}\0${d.span.start}\0${d.span.end}`))),
    root: rootCheck!,
  };
}

/** A key for a set of parameter values: equal values give equal keys. */
function paramsKey(params: ReadonlyMap<string, IR.Value>): string {
  // numbers and strings tagged, so that no two different values print alike (Infinity and null, -0 and 0)
  const tagged = (_: string, v: unknown): unknown => (typeof v === "number" ? `n:${Object.is(v, -0) ? "-0" : String(v)}` : typeof v === "string" ? `s:${v}` : v);
  return JSON.stringify(
    [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    tagged,
  );
}

function baseOf(p: string): string {
  const at = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return p.slice(at + 1);
}

function dedupe(ds: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const key = `${d.file}\0${d.code}\0${d.span.start}\0${d.span.end}\0${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

class ImportGraph {
  readonly files: PolicyFile[] = [];
  readonly seen = new Set<string>();
  readonly imports: ResolvedImport[] = [];
  readonly diagnostics: Diagnostic[] = [];
  /** The lets of imported files some importer reads (`FILE\0START\0END` of the let's name): not reported unused. */
  readonly readLets = new Set<string>();
  private loaded = 0;
  /** The characters of every import read so far, each import of a file counted (see MAX_IMPORTED_BYTES). */
  private importedBytes = 0;
  /**
   * Each file parsed and checked once per set of parameters: an import of a file already loaded
   * with the same values reuses its result, with what its own imports added (files counted,
   * imports for tools, the depth below it).
   */
  private readonly cache = new Map<string, { text: string; syntax: ParseResult; checked: Checked; imports: readonly ResolvedImport[]; loaded: number; bytes: number; depth: number }>();
  /** The deepest chain reached so far, to know how deep a cached file's imports go. */
  private deepest = 0;
  private readonly rootDir: string;
  private readonly versions = new Map<string, { version: string; file: string; span: Span }>();

  constructor(
    private readonly host: ImportHost,
    rootPath: string,
    private readonly schema: ActionSchema | null,
  ) {
    this.rootDir = normalizePath(host.importRoot ?? dirOf(rootPath));
  }

  /** The tree a file's relative imports must stay in: the packs' folder for a pack's files, the root's otherwise. */
  allowedFor(path: string): string {
    return this.packDir !== null && inside(this.packDir, normalizePath(path)) ? this.packDir : this.rootDir;
  }

  /** The folder of the packs imported so far (one folder: the compiler's `packs/`). */
  private packDir: string | null = null;

  private nameOf(path: string): string {
    const n = normalizePath(path);
    if (this.packDir !== null && inside(this.packDir, n)) return `armor:${relativeTo(this.packDir, n).replace(/\.armor$/, "")}`;
    return inside(this.rootDir, n) ? relativeTo(this.rootDir, n) : n;
  }

  /**
   * Checks a file with its imports: each import resolved, loaded (recursively) and its lets
   * handed to `check`; the result is the file's IR with its imports' rules merged in.
   */
  load(
    path: string,
    ast: A.FileNode,
    source: SourceFile,
    stack: readonly Frame[],
    prefix: string,
    allowed: string,
    check: (imported: ReadonlyMap<string, LetTable>, importedRules: ReadonlySet<string>, bag: DiagnosticBag) => CheckOutput,
  ): Checked {
    const bag = new DiagnosticBag(path);
    const children: { ns: string; decl: A.ImportDecl; checked: Checked; file: string }[] = [];
    const namespaces = new Map<string, A.ImportDecl>();
    const lets = new Set(ast.items.flatMap((i) => ((i.kind === "let" || i.kind === "param") && i.name ? [i.name.name] : [])));
    for (const item of ast.items) {
      if (item.kind !== "import" || item.name === null || item.path === null) continue;
      const ns = item.name.name;
      if (!this.namespaceOk(item.name, namespaces, lets, bag)) continue;
      namespaces.set(ns, item);
      const child = this.loadImport(path, item, item.path, stack, prefix, allowed, bag);
      if (child !== null) children.push({ ns, decl: item, checked: child.checked, file: child.file });
    }
    const imported = new Map<string, LetTable>(children.map((c) => [c.ns, c.checked.lets]));
    const importedRules = new Set(children.flatMap((c) => c.checked.policy.rules.map((r) => `${c.ns}.${r.id}`)));
    const own = check(imported, importedRules, bag);
    // a let an importer reads as `NS.LET` is used, though its own file never names it (A403)
    for (const child of children) {
      for (const name of own.importedReads.get(child.ns) ?? []) {
        const declared = child.checked.lets.get(name)?.declared;
        if (declared) this.readLets.add(`${normalizePath(child.file)}\0${declared.start}\0${declared.end}`);
      }
    }
    const policy = mergeImports(own.policy, children, ast, source, bag);
    // only the root's `default` counts: an imported file without one is not told to add one
    this.diagnostics.push(...(stack.length === 0 ? bag.items : bag.items.filter((d) => d.code !== catalog.missingDefault.code)));
    const letTable = new Map<string, { value: IR.Value; type: Type; declared: Span | null }>();
    for (const sym of own.model.lets.values()) letTable.set(sym.name, { value: sym.value ?? null, type: sym.type, declared: sym.decl.name?.span ?? null });
    return { policy, lets: letTable };
  }

  private namespaceOk(name: A.Ident, namespaces: Map<string, A.ImportDecl>, lets: ReadonlySet<string>, bag: DiagnosticBag): boolean {
    const ns = name.name;
    const first = namespaces.get(ns);
    if (first !== undefined) {
      bag.report(catalog.importName, name.span, `the namespace \`${ns}\` is taken by an earlier import`, {
        help: "give each import its own name after `as`",
        related: [{ file: bag.file, span: first.name!.span, message: "first imported here" }],
      });
      return false;
    }
    if (RESERVED_NAMESPACES.has(ns) || lets.has(ns)) {
      bag.report(catalog.importName, name.span, `\`${ns}\` cannot name an import: it is ${lets.has(ns) ? "a let of this file" : "a word conditions already read"}`, {
        help: `choose another name after \`as\` (\`${ns}_rules\`)`,
      });
      return false;
    }
    // `NS.F` reads the import, never the field: a namespace named like a field of the schema's
    // actions would silently take that field's shorthand (`body.text`) from every rule
    const field = this.fieldNamed(ns);
    if (field !== null) {
      bag.report(catalog.importName, name.span, `\`${ns}\` cannot name an import: it is the field \`${ns}\` of the action type \`${field}\` in the schema`, {
        help: `\`${ns}.NAME\` would read the import instead of the field; choose another name after \`as\` (\`${ns}_rules\`)`,
      });
      return false;
    }
    return true;
  }

  /** The first action type of the schema with a field of this name, or null. */
  private fieldNamed(name: string): string | null {
    for (const t of this.schema?.types.values() ?? []) if (t.fields.has(name)) return t.name;
    return null;
  }

  /** Resolves, reads, parses and checks one import; null (with a diagnostic) when it cannot. */
  private loadImport(from: string, item: A.ImportDecl, spec: A.StringNode, stack: readonly Frame[], prefix: string, allowed: string, bag: DiagnosticBag): { checked: Checked; file: string } | null {
    const resolved = this.resolve(from, spec, allowed, bag);
    if (resolved === null) return null;
    const frame: Frame = { file: from, span: item.span };
    const chain = [...stack, frame];
    const cycleAt = stack.findIndex((f) => normalizePath(f.file) === normalizePath(resolved));
    if (normalizePath(resolved) === normalizePath(from) || cycleAt >= 0) {
      const involved = cycleAt >= 0 ? chain.slice(cycleAt) : [frame];
      bag.report(catalog.importCycle, spec.span, `\`${spec.value}\` imports ${involved.length === 1 ? "this file itself" : "a file that imports this one"}`, {
        help: "imports form a tree: move what both files need into a third file that both import",
        related: involved.filter((f) => f !== frame).map((f): RelatedInfo => ({ file: f.file, span: f.span, message: "part of the cycle" })),
      });
      return null;
    }
    if (chain.length > MAX_IMPORT_DEPTH || this.loaded >= MAX_IMPORTED_FILES) {
      const deep = chain.length > MAX_IMPORT_DEPTH;
      bag.report(catalog.importTooDeep, spec.span, deep ? `imports nest more than ${MAX_IMPORT_DEPTH} files deep here` : `the policy imports more than ${MAX_IMPORTED_FILES} files`, {
        help: "flatten the chain: import the shared files from the root policy",
        related: [chain[0]!, chain[chain.length - 1]!].filter((f) => f !== frame).map((f) => ({ file: f.file, span: f.span, message: "the chain starts here" })),
      });
      return null;
    }
    this.loaded++;
    this.deepest = Math.max(this.deepest, chain.length);
    // a pack is the compiler's own file: a host's limits on what a policy may read are not about it
    const refused = spec.value.startsWith("armor:") ? null : (this.host.refuse?.(resolved) ?? null);
    const read = refused === null ? this.read(resolved, spec.value.startsWith("armor:") ? null : allowed) : undefined;
    if (read === "outside") {
      bag.report(catalog.importRefused, spec.span, `\`${spec.value}\` is outside the policy's directory tree (${allowed})`, {
        help: "an import reaches only files under the root policy's directory; move the file there",
      });
      return null;
    }
    const text = read;
    if (text === undefined) {
      bag.report(catalog.importNotFound, spec.span, refused !== null ? `\`${spec.value}\` is not read: ${refused}` : `cannot read \`${spec.value}\` (${resolved})`, {
        help: refused !== null ? "import files inside the workspace" : "the path is relative to this file; check that the file exists, is a regular file and is at most 16 MiB",
      });
      return null;
    }
    if (this.importedBytes + text.length > MAX_IMPORTED_BYTES) {
      bag.report(catalog.importTooDeep, spec.span, `the policy imports more than ${MAX_IMPORTED_BYTES / (1024 * 1024)} MiB of text in all here (each import of a file counts)`, {
        help: "import each shared file once, from the root policy, and split or trim the largest files",
      });
      return null;
    }
    this.importedBytes += text.length;
    const key = normalizePath(resolved);
    const ns = `${prefix}${item.name!.name}`;
    this.imports.push({ from, span: item.span, namespace: ns, path: resolved });
    const cached = this.cache.get(key);
    const syntax = cached !== undefined && cached.text === text ? cached.syntax : parse(resolved, text);
    const params = this.params(item, syntax.ast, resolved, bag);
    const cacheKey = `${key}\0${paramsKey(params)}`;
    const hit = this.cache.get(cacheKey);
    if (
      hit !== undefined &&
      hit.text === text &&
      chain.length + hit.depth <= MAX_IMPORT_DEPTH &&
      this.loaded + hit.loaded <= MAX_IMPORTED_FILES &&
      this.importedBytes + hit.bytes <= MAX_IMPORTED_BYTES
    ) {
      // the same file with the same values: its result again, and what its imports add, under this namespace
      this.loaded += hit.loaded;
      this.deepest = Math.max(this.deepest, chain.length + hit.depth);
      this.importedBytes += hit.bytes;
      for (const i of hit.imports) this.imports.push({ ...i, namespace: `${ns}.${i.namespace}` });
      return { checked: hit.checked, file: resolved };
    }
    const source = new SourceFile(resolved, text);
    if (syntax !== cached?.syntax) this.diagnostics.push(...syntax.diagnostics);
    if (!this.seen.has(key)) {
      this.seen.add(key);
      this.files.push({ path: resolved, name: this.nameOf(resolved), source, syntax });
    }
    this.version(syntax.ast, resolved);
    const before = { imports: this.imports.length, loaded: this.loaded, bytes: this.importedBytes, deepest: this.deepest };
    this.deepest = chain.length;
    const checked = this.load(resolved, syntax.ast, source, chain, `${ns}.`, this.allowedFor(resolved), (imported, importedRules, childBag) =>
      checkFile({ ast: syntax.ast, source, schema: this.schema, bag: childBag, params, imported, importedRules }),
    );
    const entry = {
      text,
      syntax,
      checked,
      imports: this.imports.slice(before.imports).map((i) => ({ ...i, namespace: i.namespace.slice(ns.length + 1) })),
      loaded: this.loaded - before.loaded,
      bytes: this.importedBytes - before.bytes,
      depth: this.deepest - chain.length,
    };
    this.deepest = Math.max(this.deepest, before.deepest);
    this.cache.set(key, entry);
    this.cache.set(cacheKey, entry);
    return { checked, file: resolved };
  }

  /**
   * The text of an imported file; "outside" when the file the host read (its real path, when the
   * host tells it) is not inside `allowed` (null: a pack, not bound to a tree).
   */
  private read(path: string, allowed: string | null): string | "outside" | undefined {
    if (this.host.readReal === undefined) return this.host.readFile(path);
    const read = this.host.readReal(path);
    if (read === undefined) return undefined;
    const realRoot = allowed === null ? undefined : this.host.realPath?.(allowed);
    if (realRoot !== undefined && !inside(normalizePath(realRoot), normalizePath(read.realPath))) return "outside";
    return read.text;
  }

  /** The host path an import names, or null (reported) when it names none it may read. */
  private resolve(from: string, spec: A.StringNode, allowed: string, bag: DiagnosticBag): string | null {
    const named = spec.value;
    if (named.startsWith("armor:")) {
      const name = named.slice("armor:".length);
      const file = PACK_NAME.test(name) ? this.host.packFile?.(name) : undefined;
      if (file === undefined || this.host.readFile(file) === undefined) {
        bag.report(catalog.importNotFound, spec.span, `there is no pack \`${named}\``, {
          help: "the packs that ship with the compiler are listed in docs/packs/ (`armor:secrets`, `armor:pci`, `armor:pii`, `armor:coding`, `armor:finance`)",
        });
        return null;
      }
      this.packDir ??= normalizePath(dirOf(file));
      return file;
    }
    if (isAbsolutePath(named) || !(named.startsWith("./") || named.startsWith("../"))) {
      bag.report(catalog.importRefused, spec.span, `\`${named}\` is not a relative path`, {
        help: 'import files by a path relative to this file (`"./base.armor"`), or a pack by `"armor:NAME"`',
      });
      return null;
    }
    if (!named.endsWith(".armor")) {
      bag.report(catalog.importRefused, spec.span, `\`${named}\` is not a .armor file`, { help: "an import names a policy file (`./base.armor`)" });
      return null;
    }
    const target = normalizePath(`${dirOf(from)}/${named}`);
    const outside = (): null => {
      bag.report(catalog.importRefused, spec.span, `\`${named}\` is outside the policy's directory tree (${allowed})`, {
        help: "an import reaches only files under the root policy's directory; move the file there",
      });
      return null;
    };
    if (!inside(allowed, target)) return outside();
    if (this.host.realPath !== undefined) {
      const realTarget = this.host.realPath(target);
      const realRoot = this.host.realPath(allowed);
      if (realTarget !== undefined && realRoot !== undefined && !inside(normalizePath(realRoot), normalizePath(realTarget))) return outside();
    }
    return target;
  }

  /** The values an import gives the file's params, each checked against its declared type. */
  private params(item: A.ImportDecl, ast: A.FileNode, file: string, bag: DiagnosticBag): ReadonlyMap<string, IR.Value> {
    const out = new Map<string, IR.Value>();
    if (item.params === null) return out;
    const declared = new Map(ast.items.flatMap((i) => (i.kind === "param" && i.name ? [[i.name.name, i] as const] : [])));
    for (const entry of item.params.entries) {
      const key = entry.key.name;
      const param = declared.get(key);
      if (param === undefined) {
        const suggestion = closest(key, declared.keys());
        bag.report(catalog.importParam, entry.key.span, `\`${key}\` is not a parameter of \`${item.path!.value}\``, {
          help: suggestion ? `did you mean \`${suggestion}\`?` : declared.size === 0 ? "the file declares no `param`" : `its parameters are ${[...declared.keys()].map((k) => `\`${k}\``).join(", ")}`,
        });
        continue;
      }
      if (out.has(key)) {
        bag.report(catalog.importParam, entry.key.span, `\`${key}\` is set twice`, { help: "keep one value" });
        continue;
      }
      const value = dataValue(entry.value);
      const problem = paramTypeProblem(param, value);
      if (problem !== null) {
        bag.report(catalog.importParam, entry.value.span, `the value of \`${key}\` ${problem}`, {
          help: `\`${key}\` is declared \`${paramTypeText(param)}\`; ${PARAM_TYPE_HELP}`,
          related: [{ file, span: param.span, message: "declared here" }],
        });
        continue;
      }
      out.set(key, value);
    }
    return out;
  }

  /** Two files that say they are one policy (`policy NAME version "V"`) at different versions conflict. */
  private version(ast: A.FileNode, file: string): void {
    const decl = ast.items.find((i): i is A.PolicyDecl => i.kind === "policy");
    if (decl?.name == null || decl.version === null) return;
    const known = this.versions.get(decl.name.name);
    if (known === undefined) {
      this.versions.set(decl.name.name, { version: decl.version.value, file, span: decl.span });
      return;
    }
    if (known.version === decl.version.value) return;
    const bag = new DiagnosticBag(file);
    bag.report(catalog.importVersion, decl.version.span, `\`${decl.name.name}\` is imported at version ${decl.version.value} here and ${known.version} in ${known.file}`, {
      help: "import one version of a policy: update the older copy",
      related: [{ file: known.file, span: known.span, message: `version ${known.version}` }],
    });
    this.diagnostics.push(...bag.items);
  }
}

// ---- merging IR ----------------------------------------------------------------------------

/**
 * The importer's IR with its imports' rules in front of its own (in import order), their ids
 * under `NS.`, their regexes and trackers renumbered after the importer's; `disable` drops an
 * imported rule, `override` puts the importer's rule (already named `NS.R`) in its place.
 */
function mergeImports(own: IR.Policy, children: readonly { ns: string; decl: A.ImportDecl; checked: Checked; file: string }[], ast: A.FileNode, source: SourceFile, bag: DiagnosticBag): IR.Policy {
  if (children.length === 0 && !ast.items.some((i) => i.kind === "override" || i.kind === "disable")) return own;
  const regexes: IR.RegexDef[] = [...own.regexes];
  const trackers: IR.Tracker[] = [...own.trackers];
  const imported: IR.Rule[] = [];
  const replacements: IR.ReplacedRule[] = [];
  const placed: { child: (typeof children)[number]; regexFrom: number; trackerFrom: number }[] = [];
  const origin = new Map<string, { ns: string; local: string; rule: IR.Rule; file: string }>();
  for (const child of children) {
    const zone = child.checked.policy.timezone;
    if (zone !== null && zone !== own.timezone) {
      bag.report(catalog.importHeader, child.decl.span, `\`${child.decl.path!.value}\` reads time in ${zone}, and this policy in ${own.timezone ?? "UTC"}`, {
        help: "a policy reads time in one zone, its root's: remove the imported file's `timezone` or set the same one here",
      });
    }
    const o = offsets(regexes.length, trackers.length);
    placed.push({ child, regexFrom: regexes.length, trackerFrom: trackers.length });
    regexes.push(...child.checked.policy.regexes.map((r) => renumberRegex(r, o)));
    trackers.push(...child.checked.policy.trackers.map((t) => renumberTracker(t, o)));
    for (const r of child.checked.policy.replacedRules ?? []) {
      const id = `${child.ns}.${r.rule.id}`;
      replacements.push({ ...r, rule: { ...r.rule, id, file: r.rule.file ?? child.file, condition: renumberExpr(r.rule.condition, o), effect: renumberEffect(r.rule.effect, o, id) } });
    }
    for (const r of child.checked.policy.rules) {
      const id = `${child.ns}.${r.id}`;
      const rule: IR.Rule = { ...r, id, file: r.file ?? child.file, condition: renumberExpr(r.condition, o), effect: renumberEffect(r.effect, o, id) };
      imported.push(rule);
      origin.set(id, { ns: child.ns, local: r.id, rule, file: r.file ?? child.file });
    }
  }
  const replaced = new Map<string, IR.Rule | null>();
  const overrides = new Set<string>();
  for (const item of ast.items) {
    if (item.kind !== "override" && item.kind !== "disable") continue;
    if (item.target.length < 2) continue;
    const id = item.target.map((t) => t.name).join(".");
    const at = { start: item.target[0]!.span.start, end: item.target[item.target.length - 1]!.span.end };
    if (!origin.has(id)) {
      const suggestion = closest(id, origin.keys());
      bag.report(catalog.importTarget, at, `\`${id}\` is not an imported rule`, {
        help: suggestion ? `did you mean \`${suggestion}\`?` : "`override` and `disable` name a rule of an imported file as `NAMESPACE.RULE`",
      });
      continue;
    }
    if (replaced.has(id)) {
      bag.report(catalog.importTarget, at, `\`${id}\` is already overridden or disabled`, { help: "keep one `override` or `disable` per imported rule" });
      continue;
    }
    const pos = source.positionAt(item.span.start);
    replacements.push({ rule: origin.get(id)!.rule, how: item.kind, file: bag.file, line: pos.line + 1, column: pos.column + 1 });
    if (item.kind === "disable") replaced.set(id, null);
    else {
      overrides.add(id);
      const rule = own.rules.find((r) => r.id === id);
      const target = origin.get(id)!.rule;
      if (rule !== undefined && rule.stage !== target.stage) {
        // a rule replaced at another stage would stop deciding where the imported file meant it to
        bag.report(catalog.importTarget, item.rule.stage?.span ?? at, `\`${id}\` decides the ${target.stage} stage, and this override the ${rule.stage} stage`, {
          help: `write \`override ${id} on ${target.stage} when ...\` to replace it where it decides, or \`disable ${id}\` and add a rule of this file`,
          related: [{ file: origin.get(id)!.file, span: target.span, message: `the imported rule, on ${target.stage}` }],
        });
      }
      replaced.set(id, rule ?? null);
    }
  }
  const locals: IR.Rule[] = [];
  const byLocalName = new Map<string, { ns: string; local: string; rule: IR.Rule; file: string }>();
  for (const o of origin.values()) if (!o.rule.anonymous && !o.local.includes(".") && !byLocalName.has(o.local)) byLocalName.set(o.local, o);
  for (const r of own.rules) {
    if (overrides.has(r.id) || r.id.includes(".")) continue;
    const same = r.anonymous ? undefined : byLocalName.get(r.id);
    if (same !== undefined) {
      bag.report(catalog.importName, r.span, `rule \`${r.id}\` has the name of the imported rule \`${same.ns}.${same.local}\``, {
        help: `write \`override ${same.ns}.${same.local} when ...\` to replace it, \`disable ${same.ns}.${same.local}\` to drop it, or rename this rule`,
        related: [{ file: same.file, span: same.rule.span, message: "the imported rule" }],
      });
    }
    locals.push(r);
  }
  const rules: IR.Rule[] = [];
  for (const r of imported) {
    const replacement = replaced.has(r.id) ? replaced.get(r.id)! : r;
    if (replacement !== null) rules.push(replacement);
  }
  rules.push(...locals);
  const numbered = rules.map((r, index) => ({ ...r, index }));
  return {
    ...own,
    rules: numbered,
    regexes,
    trackers,
    ...mergeProperties(own, placed, trackers.length),
    replacedRules: replacements,
    grants: numbered.some((r) => r.effect.kind === "require_approval" && r.effect.grant !== null),
  };
}

/**
 * Every file's properties in the merged policy, the importer's first, then each import's under
 * `NS.` (proved against the merged policy: the importer's `disable`, `override` and parameters
 * included). The trackers only properties read come after every rule tracker (`ruleTrackers`),
 * the importer's first; each file's conditions are renumbered to match.
 */
function mergeProperties(
  own: IR.Policy,
  placed: readonly { child: { ns: string; checked: Checked; file: string }; regexFrom: number; trackerFrom: number }[],
  ruleTrackers: number,
): Pick<IR.Policy, "properties" | "propertyTrackers"> {
  const properties: IR.Property[] = [];
  const propertyTrackers: IR.Tracker[] = [];
  const join = (p: IR.Policy, n: Renumbering, ns: string, file: string | undefined): void => {
    propertyTrackers.push(...p.propertyTrackers.map((t) => renumberTracker(t, n)));
    for (const prop of p.properties) {
      const renumbered = renumberProperty(prop, n);
      properties.push(ns === "" ? renumbered : { ...renumbered, name: `${ns}.${prop.name}`, file: prop.file ?? file });
    }
  };
  const ownRules = own.trackers.length;
  join(own, { regex: (i) => i, tracker: (i) => (i < ownRules ? i : ruleTrackers + i - ownRules) }, "", undefined);
  for (const { child, regexFrom, trackerFrom } of placed) {
    const p = child.checked.policy;
    const from = ruleTrackers + propertyTrackers.length;
    join(p, { regex: (i) => i + regexFrom, tracker: (i) => (i < p.trackers.length ? i + trackerFrom : from + i - p.trackers.length) }, child.ns, child.file);
  }
  return { properties, propertyTrackers };
}
