/**
 * `verifyAuditLogFile`: verifyAuditLog over a file read in chunks, in constant memory whatever
 * its size (Node only; node:fs is loaded when it is called). The lines are cut from the chunks
 * here rather than with node:readline, which would hand over every line through an event or a
 * promise: on a log of millions of lines the per-line overhead is what this avoids.
 */
import { ChainCheck, Classifier, type VerifyOptions, type VerifyResult } from "./audit-verify.js";

export interface VerifyFileOptions extends VerifyOptions {
  /** Bytes read at a time (default 1 MiB). */
  chunkBytes?: number;
  /** A line longer than this is a problem rather than a reason to run out of memory (default 64 MiB). */
  maxLineBytes?: number;
  /** Called after every chunk with the bytes read so far and the file's size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

const DEFAULT_CHUNK_BYTES = 1 << 20;
const DEFAULT_MAX_LINE_BYTES = 64 << 20;

class LineTooLong extends Error {
  constructor(
    readonly line: number,
    readonly limit: number,
  ) {
    super(`line ${line} is longer than ${limit} bytes`);
  }
}

/**
 * Reads a file chunk by chunk and calls `f` with every line (decoded as UTF-8, without its
 * newline); a line split across chunks is carried over. Stops when `f` returns false. A line
 * longer than `maxLineBytes` throws `LineTooLong`, or, with `tooLong`, is skipped (never held
 * whole) and `tooLong` is called with its number.
 */
export async function eachLineOfFile(path: string, options: VerifyFileOptions, f: (n: number, line: string, unterminated: boolean) => boolean, tooLong?: (n: number) => void): Promise<void> {
  const { open } = await import("node:fs/promises");
  const chunkBytes = Math.max(1, options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  const maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const fh = await open(path, "r");
  try {
    const total = (await fh.stat()).size;
    const buffer = Buffer.allocUnsafe(chunkBytes);
    let carried: Buffer[] = [];
    let carriedBytes = 0;
    let n = 1;
    let read = 0;
    /** Inside a line that is too long, which is being skipped up to its newline. */
    let skipping = false;
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      read += bytesRead;
      let start = 0;
      for (;;) {
        const nl = buffer.indexOf(0x0a, start);
        if (nl < 0 || nl >= bytesRead) break;
        let line: string;
        if (skipping) {
          skipping = false;
          tooLong!(n++);
          start = nl + 1;
          continue;
        }
        if (carriedBytes > 0) {
          carried.push(buffer.subarray(start, nl));
          line = Buffer.concat(carried).toString("utf8");
          carried = [];
          carriedBytes = 0;
        } else line = buffer.toString("utf8", start, nl);
        if (!f(n++, line, false)) return;
        start = nl + 1;
      }
      if (start < bytesRead && !skipping) {
        carriedBytes += bytesRead - start;
        if (carriedBytes > maxLine && tooLong !== undefined) {
          skipping = true;
          carried = [];
          carriedBytes = 0;
          options.onProgress?.(read, total);
          continue;
        }
        if (carriedBytes > maxLine) throw new LineTooLong(n, maxLine);
        // copied: the buffer is reused for the next chunk
        carried.push(Buffer.from(buffer.subarray(start, bytesRead)));
      }
      options.onProgress?.(read, total);
    }
    if (skipping) tooLong!(n);
    else if (carriedBytes > 0) f(n, Buffer.concat(carried).toString("utf8"), true);
  } finally {
    await fh.close();
  }
}

/** Verifies an audit log file as verifyAuditLog verifies its text, reading it in chunks. */
export async function verifyAuditLogFile(path: string, options: VerifyFileOptions = {}): Promise<VerifyResult> {
  const check = new ChainCheck(options);
  try {
    await eachLineOfFile(path, options, (n, line, unterminated) => check.line(n, line, unterminated));
  } catch (e) {
    if (!(e instanceof LineTooLong)) throw e;
    check.problem = { line: e.line, seq: null, kind: "malformed", message: `line ${e.line} is not an audit record: it is longer than ${e.limit} bytes` };
  }
  if (check.misfit !== null) {
    // the second pass only names the problem: no progress for it
    const classifier = new Classifier(check.misfit);
    await eachLineOfFile(path, { ...options, onProgress: undefined }, (n, line) => classifier.line(n, line)).catch((e: unknown) => {
      if (!(e instanceof LineTooLong)) throw e;
    });
    check.problem = classifier.problem();
    check.misfit = null;
  }
  return check.result();
}
