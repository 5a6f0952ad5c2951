/**
 * Reading a file a policy or a tool names: only a regular file of at most MAX_FILE_BYTES is
 * read. A FIFO or a device would block the reader (a schema path inside a policy could name
 * one), and a huge file would only be refused later.
 */
import { readFileSync, statSync } from "node:fs";

/** The largest policy, test or schema file that is read. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/**
 * The text of the file at `path`, `undefined` when there is none, or why it is not read: only
 * regular files under {@link MAX_FILE_BYTES} are.
 */
export function readRegularFile(path: string): { text: string } | { problem: string } | undefined {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch {
    return undefined;
  }
  if (!stats.isFile()) return { problem: `${path} is not a regular file` };
  if (stats.size > MAX_FILE_BYTES) return { problem: `${path} is larger than ${MAX_FILE_BYTES / (1024 * 1024)} MiB` };
  try {
    return { text: readFileSync(path, "utf8") };
  } catch (e) {
    return { problem: `${path} cannot be read: ${e instanceof Error ? e.message : String(e)}` };
  }
}
