/**
 * `watch`: reloading a `.armor` policy when it or a file it imports changes. The folders of the
 * policy's files are watched rather than the files, so that a file an editor replaces (a rename
 * over it) or an import created after a failed load is seen; after each successful reload the
 * folders of the new set of files are watched, and the folders of their real paths (symbolic links
 * resolved), so that a file reached through a link is seen when it is edited where it is, or when a
 * link on the way is swapped to another target (a Kubernetes ConfigMap's `..data`). `node:fs` is imported only when watching starts,
 * so the runtime core loads without Node built-ins.
 */
import type { LoadResult } from "./api.js";

export interface PolicyWatch {
  close(): void;
}

interface WatchOptions {
  readonly debounceMs?: number;
  readonly onReload?: (result: LoadResult) => void;
}

function dirOf(p: string): string {
  const at = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return at < 0 ? "." : at === 0 ? "/" : p.slice(0, at);
}

function baseOf(p: string): string {
  return p.slice(Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\")) + 1);
}

/**
 * Watches `files` (the policy first) and calls `reload` after a change to any of them settles;
 * `report` hears a failed reload. Reloads run one at a time.
 */
export async function watchPolicy(path: string, files: readonly string[], reload: (path: string) => Promise<LoadResult>, options: WatchOptions, report: (error: Error) => void): Promise<PolicyWatch> {
  const { realpathSync, watch } = await import("node:fs");
  const realOf = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  // each file's real path when armed: a link swapped to another target (a Kubernetes ConfigMap
  // swaps its `..data` link) changes it without an event naming the file
  let reals = new Map<string, string>();
  let closed = false;
  let watchers: ReturnType<typeof watch>[] = [];
  let names = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const arm = (set: readonly string[]): void => {
    for (const w of watchers) w.close();
    const all = set.length > 0 ? set : [path];
    reals = new Map(all.map((f) => [f, realOf(f)]));
    // the folders of the files as named and of their real paths (a file reached through a link is edited there)
    const real = [...reals.values()];
    names = new Set([...all, ...real].map(baseOf));
    watchers = [...new Set([...all, ...real].map(dirOf))].map((dir) => {
      const w = watch(dir, (_event, file) => {
        // a folder event without a name, or naming one of the policy's files (or any .armor file, which a broken import may be waiting for)
        if (file === null || names.has(String(file)) || String(file).endsWith(".armor")) schedule();
        // any other name (a link on the way to a file): reload when a file's real path changed
        else if ([...reals].some(([f, r]) => realOf(f) !== r)) schedule();
      });
      w.on("error", (e) => report(e instanceof Error ? e : new Error(String(e))));
      return w;
    });
  };
  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(async () => {
        if (closed) return;
        const result = await reload(path);
        if (result.ok && result.files !== undefined) arm(result.files);
        if (!result.ok) report(new Error(`the policy ${path} was not reloaded, the last good policy stays in force: ${result.error ?? "it does not load"}`));
        options.onReload?.(result);
      });
    }, options.debounceMs ?? 50);
  };
  arm(files);
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
