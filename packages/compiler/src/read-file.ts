/**
 * Reading a file a policy or a tool names: only a regular file of at most MAX_FILE_BYTES is
 * read. A FIFO or a device would block the reader (a schema path inside a policy could name
 * one), and a huge file would only be refused later.
 *
 * The file is opened once (non-blocking, so a FIFO swapped in cannot block the open), checked
 * through its descriptor and read from it: what is checked is what is read, and the real path
 * returned is the one of the file opened, not of whatever the path names a moment later.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from "node:fs";

/** The largest policy, test or schema file that is read. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/**
 * The text of the file at `path` with the real path of the file read (symbolic links resolved
 * at the moment it was opened), `undefined` when there is none, or why it is not read: only
 * regular files under {@link MAX_FILE_BYTES} are.
 */
export function readRegularFileReal(path: string): { text: string; realPath: string } | { problem: string } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    return { problem: `${path} cannot be read: ${e instanceof Error ? e.message : String(e)}` };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { problem: `${path} is not a regular file` };
    if (stats.size > MAX_FILE_BYTES) return { problem: `${path} is larger than ${MAX_FILE_BYTES / (1024 * 1024)} MiB` };
    const realPath = openedRealPath(fd, path, stats);
    if (realPath === undefined) return { problem: `${path} changed while it was read` };
    // read to the end, but never past the limit: a file that grew after fstat is refused, not read whole
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.max(64 * 1024, Math.min(stats.size, MAX_FILE_BYTES) + 1 - length));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      length += n;
      if (length > MAX_FILE_BYTES) return { problem: `${path} is larger than ${MAX_FILE_BYTES / (1024 * 1024)} MiB` };
    }
    return { text: Buffer.concat(chunks, length).toString("utf8"), realPath };
  } catch (e) {
    return { problem: `${path} cannot be read: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    closeSync(fd);
  }
}

/**
 * The real path of the file open at `fd`: `/proc/self/fd/N` names it on Linux; elsewhere the
 * real path of `path`, kept only when it is the same file (device and inode) as the one open.
 */
function openedRealPath(fd: number, path: string, stats: { dev: number; ino: number }): string | undefined {
  if (process.platform === "linux") {
    try {
      return realpathSync(`/proc/self/fd/${fd}`);
    } catch {
      // no /proc: fall through
    }
  }
  try {
    const real = realpathSync(path);
    const now = statSync(real);
    return now.dev === stats.dev && now.ino === stats.ino ? real : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The text of the file at `path`, `undefined` when there is none, or why it is not read: only
 * regular files under {@link MAX_FILE_BYTES} are.
 */
export function readRegularFile(path: string): { text: string } | { problem: string } | undefined {
  const read = readRegularFileReal(path);
  return read !== undefined && "text" in read ? { text: read.text } : read;
}
