/**
 * What `armor serve` and `armor mcp` share to run as a service: the log format (`--log-format
 * text|json`), a policy's diagnostics as log lines in JSON, and policy reload on SIGHUP and on
 * file change, its results logged.
 */
import { createLogger, LOG_FORMATS, type LogFormat, type Logger, type ReloadAnswer, type ReloadEvent, watchPolicy } from "@agent-armor/gateway/serve";
import type { PolicyDiagnostic } from "@agent-armor/runtime";
import { UsageError } from "../args.js";

export function logFormat(value: unknown): LogFormat {
  if (value === undefined) return "text";
  if (typeof value !== "string" || !(LOG_FORMATS as readonly string[]).includes(value)) throw new UsageError(`--log-format is text or json, not \`${String(value)}\``);
  return value as LogFormat;
}

export function logger(format: LogFormat, command: "serve" | "mcp"): Logger {
  return createLogger(format, command);
}

/** A policy's diagnostics as JSON log lines, one each, with the place (text format: the shared printer). */
export function logDiagnostics(log: Logger, diagnostics: readonly PolicyDiagnostic[]): void {
  for (const d of diagnostics) {
    log(`${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`, {
      level: d.severity === "error" ? "error" : "warn",
      code: d.code,
      file: d.file,
      line: d.line,
      column: d.column,
    });
  }
}

/**
 * Reloads the policy on SIGHUP and when its file changes (once it has stopped changing: see
 * watchPolicy), logging each result; `onReload` hears every result (for metrics). Returns the
 * function that stops watching.
 */
export function reloadOnChange(
  path: string,
  target: { reload(): Promise<ReloadAnswer>; readonly policy: { name: string; version: string | null; sourceHash: string } },
  log: Logger,
  onReload?: (event: ReloadEvent) => void,
): () => void {
  const watch = watchPolicy({
    path,
    reload: () => target.reload(),
    current: () => target.policy,
    log: (line, fields) => log(line, fields),
    ...(onReload !== undefined ? { onReload } : {}),
  });
  return () => watch.close();
}
