/**
 * Policy reload for `armor serve` and `armor mcp`: on `SIGHUP`, and when the policy file changes
 * (fs.watch on its folder, so an editor that saves by renaming is seen). A change is reloaded
 * only once the file has stopped changing: its size, mtime and content hash the same at three
 * samples 250 ms apart (two quiet periods) with no change event between them, so a file written
 * in steps (`>` then `>>`, a slow copy) is not read half-written; a file still changing after
 * 10 s is not reloaded (the next change, or SIGHUP, reloads it). Reloads run one at a time; a
 * change during one reloads once more after it.
 * Each result is logged: the policy now in force (name, version, source hash), or why the new
 * one did not load (the first diagnostic with FILE:LINE:COLUMN) while the last good policy stays.
 * `onReload` hears every result, for whoever counts them (metrics).
 */
import { createHash } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { PolicyDiagnostic } from "@agent-armor/runtime";
import type { ReloadAnswer } from "./reload-policy.js";

export type ReloadTrigger = "SIGHUP" | "file change";

/** A reload's result as logged and counted. */
export type ReloadEvent =
  | { ok: true; trigger: ReloadTrigger; policy: { name: string; version: string | null; sourceHash: string } }
  | { ok: false; trigger: ReloadTrigger; error: string; location: string | null; kept: { name: string; version: string | null; sourceHash: string } };

export interface PolicyWatchOptions {
  /** The policy file. */
  path: string;
  reload(): Promise<ReloadAnswer>;
  /** The policy in force (kept when a reload fails). */
  current(): { name: string; version: string | null; sourceHash: string };
  /** One line per result, with its fields (for structured logs). */
  log(line: string, fields: Record<string, unknown>): void;
  onReload?: (event: ReloadEvent) => void;
  /** Reload on SIGHUP (default true). */
  signal?: boolean;
  /** Reload when the file changes (default true). */
  watchFile?: boolean;
  /** The quiet period between two samples of a changed file (default 250 ms). */
  settleMs?: number;
  /** How long a changed file may keep changing before it is left alone (default 10 s). */
  maxSettleMs?: number;
}

export interface PolicyWatch {
  /** Reloads now (as SIGHUP does); resolves with the result. */
  reload(trigger: ReloadTrigger): Promise<ReloadEvent>;
  close(): void;
}

const SETTLE_MS = 250;
const MAX_SETTLE_MS = 10_000;

/** What says a file changed: its size, mtime and content hash ("missing" when it cannot be read). */
async function sample(path: string): Promise<string> {
  try {
    const st = await stat(path);
    const text = await readFile(path);
    return `${st.size} ${st.mtimeMs} ${text.length} ${createHash("sha256").update(text).digest("hex")}`;
  } catch (e) {
    return `missing ${(e as NodeJS.ErrnoException).code ?? ""}`;
  }
}

function firstError(diagnostics: readonly PolicyDiagnostic[]): PolicyDiagnostic | undefined {
  return diagnostics.find((d) => d.severity === "error") ?? diagnostics[0];
}

function describePolicy(p: { name: string; version: string | null; sourceHash: string }): string {
  return `${p.name}${p.version !== null ? ` ${p.version}` : ""} (source ${p.sourceHash.slice(0, 12)})`;
}

export function watchPolicy(options: PolicyWatchOptions): PolicyWatch {
  let running: Promise<ReloadEvent> | null = null;
  let again: ReloadTrigger | null = null;

  async function once(trigger: ReloadTrigger): Promise<ReloadEvent> {
    let answer: ReloadAnswer;
    try {
      answer = await options.reload();
    } catch (e) {
      answer = { ok: false, error: (e as Error).message, diagnostics: [] };
    }
    const event: ReloadEvent = answer.ok ? { ok: true, trigger, policy: answer.policy } : failed(trigger, answer);
    if (event.ok) {
      options.log(`policy reloaded (${trigger}): ${describePolicy(event.policy)}`, {
        event: "reload",
        result: "ok",
        trigger,
        policy: event.policy.name,
        version: event.policy.version,
        sourceHash: event.policy.sourceHash,
      });
    } else {
      options.log(`policy reload failed (${trigger}): ${event.location !== null ? `${event.location}: ` : ""}${event.error}; keeping ${describePolicy(event.kept)}`, {
        event: "reload",
        result: "error",
        trigger,
        error: event.error,
        location: event.location,
        policy: event.kept.name,
        version: event.kept.version,
        sourceHash: event.kept.sourceHash,
      });
    }
    try {
      options.onReload?.(event);
    } catch {
      // a listener that throws changes nothing here
    }
    return event;
  }

  function failed(trigger: ReloadTrigger, answer: Extract<ReloadAnswer, { ok: false }>): ReloadEvent {
    const d = firstError(answer.diagnostics);
    const location = d !== undefined ? `${d.file}:${d.line}:${d.column}` : null;
    const error = d !== undefined ? `${d.code} ${d.message}` : answer.error.split("\n")[0]!;
    return { ok: false, trigger, error, location, kept: options.current() };
  }

  function reload(trigger: ReloadTrigger): Promise<ReloadEvent> {
    if (running !== null) {
      again = trigger;
      return running;
    }
    running = once(trigger).finally(() => {
      running = null;
      const next = again;
      again = null;
      if (next !== null) void reload(next);
    });
    return running;
  }

  const onSignal = (): void => void reload("SIGHUP");
  if (options.signal !== false) process.on("SIGHUP", onSignal);

  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  // a change seen since the last sample; the settle in progress (its samples and start)
  let changed = false;
  let settling: { started: number; last: string | null; quiet: number } | null = null;
  const settleMs = options.settleMs ?? SETTLE_MS;
  const maxSettleMs = options.maxSettleMs ?? MAX_SETTLE_MS;
  const full = resolve(options.path);

  /** One sample of a changed file: reloads after two quiet periods with nothing changed. */
  async function tick(): Promise<void> {
    timer = null;
    const st = settling;
    if (closed || st === null) return;
    const now = await sample(full);
    if (closed) return;
    const still = !changed && now === st.last;
    changed = false;
    st.last = now;
    st.quiet = still ? st.quiet + 1 : 0;
    if (st.quiet >= 2) {
      settling = null;
      void reload("file change");
      return;
    }
    if (Date.now() - st.started >= maxSettleMs) {
      settling = null;
      options.log(`policy file still changing after ${Math.round(maxSettleMs / 1000)} s: not reloaded (the next change or SIGHUP reloads it); keeping ${describePolicy(options.current())}`, {
        level: "warn",
        event: "reload",
        result: "unsettled",
        trigger: "file change",
        policy: options.current().name,
      });
      return;
    }
    timer = setTimeout(() => void tick(), settleMs);
  }

  if (options.watchFile !== false) {
    const name = basename(full);
    try {
      watcher = watch(dirname(full), (_event, file) => {
        if (file !== null && file.toString() !== name) return;
        changed = true;
        if (settling !== null) return;
        settling = { started: Date.now(), last: null, quiet: 0 };
        timer = setTimeout(() => void tick(), settleMs);
      });
      watcher.on("error", () => watcher?.close());
      watcher.unref();
    } catch {
      // a folder that cannot be watched: SIGHUP still reloads
      watcher = null;
    }
  }

  return {
    reload,
    close() {
      closed = true;
      settling = null;
      process.off("SIGHUP", onSignal);
      watcher?.close();
      if (timer !== null) clearTimeout(timer);
    },
  };
}
