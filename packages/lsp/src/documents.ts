/**
 * Open documents and files on disk, by URI. Everything the server reads goes through here: an
 * open document wins over the file on disk (a schema or a sibling policy being edited).
 */
import { realpathSync } from "node:fs";
import { basename, dirname, isAbsolute, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type CompilerHost, nodeHost, readRegularFile } from "@agent-armor/compiler";
import { TextDocument } from "vscode-languageserver-textdocument";

export interface DocumentText {
  readonly uri: string;
  /** The editor's version for open documents; `null` for a file read from disk. */
  readonly version: number | null;
  readonly text: string;
}

export function uriToPath(uri: string): string {
  return uri.startsWith("file:") ? fileURLToPath(uri) : uri;
}

/** Why `uri` names no local file (a `file:` URI with a remote host, a malformed URI), or null. */
export function badUri(uri: string): string | null {
  try {
    uriToPath(uri);
    return null;
  } catch (e) {
    return `${JSON.stringify(uri)} is not a local file URI (${e instanceof Error ? e.message : String(e)})`;
  }
}

export function pathToUri(path: string): string {
  return pathToFileURL(path).href;
}

export function isTestFile(uri: string): boolean {
  return uri.endsWith(".test.armor");
}

/** `dir/NAME.test.armor` → `dir/NAME.armor` */
export function policyUriOf(testUri: string): string {
  return testUri.replace(/\.test\.armor$/, ".armor");
}

/** `dir/NAME.armor` → `dir/NAME.test.armor` */
export function testUriOf(policyUri: string): string {
  return policyUri.replace(/\.armor$/, ".test.armor");
}

export { basename };

/** A path with its symbolic links resolved, when it exists (a link inside a folder may point out of it). */
function real(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

export class Documents {
  private readonly open = new Map<string, TextDocument>();
  /** The workspace folders (paths): a policy's schema is read only inside them. */
  private roots: readonly string[] = [];

  setRoots(roots: readonly string[]): void {
    this.roots = roots;
  }

  openDocument(uri: string, version: number, text: string): TextDocument {
    const doc = TextDocument.create(uri, "armor", version, text);
    this.open.set(uri, doc);
    return doc;
  }

  change(uri: string, version: number, changes: Parameters<typeof TextDocument.update>[1]): TextDocument | undefined {
    const doc = this.open.get(uri);
    if (!doc) return undefined;
    const updated = TextDocument.update(doc, changes, version);
    this.open.set(uri, updated);
    return updated;
  }

  close(uri: string): void {
    this.open.delete(uri);
  }

  isOpen(uri: string): boolean {
    return this.open.has(uri);
  }

  openUris(): string[] {
    return [...this.open.keys()];
  }

  /** The text of an open document, or of the file on disk; `undefined` when neither exists or the file is not read. */
  get(uri: string): DocumentText | undefined {
    const read = this.read(uri);
    return read && "text" in read ? read : undefined;
  }

  /** Why the file behind `uri` exists but is not read (see `readRegularFile` in the compiler), or null. */
  problem(uri: string): string | null {
    const read = this.read(uri);
    return read && "problem" in read ? read.problem : null;
  }

  private read(uri: string): DocumentText | { problem: string } | undefined {
    const doc = this.open.get(uri);
    if (doc) return { uri, version: doc.version, text: doc.getText() };
    if (badUri(uri) !== null) return undefined;
    const file = readRegularFile(uriToPath(uri));
    return file && "text" in file ? { uri, version: null, text: file.text } : file;
  }

  /**
   * The compiler's view of files (the schema) for the policy at `policyPath`: open documents
   * first, then the disk, and only inside the workspace folders (without folders, inside the
   * policy's own folder), so a policy opened from anywhere cannot make the editor read any file.
   */
  host(policyPath: string): CompilerHost {
    const roots = this.roots.length > 0 ? this.roots : [dirname(policyPath)];
    return {
      packFile: nodeHost.packFile,
      realPath: nodeHost.realPath,
      readFile: (path) => this.get(pathToUri(path))?.text,
      // an open document is the editor's text, its real path the file's; a file on disk is read
      // once, and kept only when the file opened is inside the roots or the packs' folder (a link
      // swapped after `refuse` looked at it is not followed out)
      readReal: (path) => {
        const doc = this.open.get(pathToUri(path));
        if (doc) return { text: doc.getText(), realPath: real(path) };
        if (badUri(pathToUri(path)) !== null || nodeHost.readReal === undefined) return undefined;
        const read = nodeHost.readReal(path);
        const packs = nodeHost.packFile?.("secrets");
        const allowed = packs === undefined ? roots : [...roots, dirname(packs)];
        return read !== undefined && allowed.some((r) => inside(read.realPath, real(r))) ? read : undefined;
      },
      refuse: (path) => {
        const target = real(path);
        if (roots.some((r) => inside(target, real(r)))) return null;
        const where = this.roots.length > 0 ? `the workspace folders (${roots.join(", ")})` : `the policy's folder (${roots[0]}), and no workspace folder is open`;
        return `it is outside ${where}`;
      },
    };
  }
}
