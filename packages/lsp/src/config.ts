/** Server settings, from the client's `initializationOptions`. */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface Settings {
  /**
   * Where `docs/diagnostics.md` lives: a diagnostic's link is this base followed by
   * `docs/diagnostics.md#a302-unknown-field`. `null` omits the links.
   */
  readonly docsBaseUrl: string | null;
  /** How long to wait after a change before publishing diagnostics. */
  readonly debounceMs: number;
}

/**
 * The docs shipped with the server: beside the bundle (the VS Code extension copies
 * `docs/diagnostics.md` into its `dist/docs/`, so a link works offline), beside the package, or
 * those of the repository it is built in.
 */
function defaultDocsBase(): string | null {
  for (const base of ["./", "../", "../../../"]) {
    const url = new URL(base, import.meta.url);
    if (existsSync(fileURLToPath(new URL("docs/diagnostics.md", url)))) return url.href;
  }
  return null;
}

export function settingsFrom(options: unknown): Settings {
  const o = (typeof options === "object" && options !== null ? options : {}) as Record<string, unknown>;
  const docs = o.docsBaseUrl;
  const debounce = o.debounceMs;
  return {
    docsBaseUrl: typeof docs === "string" ? docs : docs === null ? null : defaultDocsBase(),
    debounceMs: typeof debounce === "number" && debounce >= 0 ? debounce : 50,
  };
}
