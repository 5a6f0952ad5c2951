/**
 * `replayAuditLogFile`: an audit log file verified (its hash chain, as `armorc audit verify`
 * does), then replayed against a candidate policy (replay.ts), both streaming the file in chunks
 * (Node only; node:fs is loaded when it is called).
 */
import type { PolicyModule } from "@agent-armor/contract";
import type { VerifyResult } from "./audit-verify.js";
import { eachLineOfFile, verifyAuditLogFile } from "./audit-verify-file.js";
import { Replayer, type ReplayOptions, type ReplayReport } from "./replay.js";

export interface ReplayFileOptions extends ReplayOptions {
  /** Replay even when the chain does not verify (the report then says so). */
  noVerify?: boolean;
  /** Lines longer than this are unreadable, skipped without being held (default 64 MiB). */
  maxLineBytes?: number;
}

export interface ReplayFileResult {
  /** The chain's verification. */
  verification: VerifyResult;
  /** The replay, or null when the chain does not verify and `noVerify` was not given. */
  replay: ReplayReport | null;
}

export async function replayAuditLogFile(path: string, module: PolicyModule, options: ReplayFileOptions = {}): Promise<ReplayFileResult> {
  const limits = options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes };
  const verification = await verifyAuditLogFile(path, limits);
  if (!verification.ok && options.noVerify !== true) return { verification, replay: null };
  const replayer = new Replayer(module, options);
  await eachLineOfFile(
    path,
    limits,
    (n, line) => {
      replayer.line(n, line);
      return true;
    },
    (n) => replayer.line(n, ""),
  );
  return { verification, replay: replayer.report() };
}
