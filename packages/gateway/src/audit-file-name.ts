/**
 * The audit file of one process. Every process keeps its own hash chain, so processes that log
 * to one folder (replicas of `armor serve`, agent workers) need a file each: the name may hold
 * `{pid}` (the process id) and `{host}` (the host name, with characters other than letters,
 * digits, `.`, `_` and `-` written as `_`), e.g. `audit/serve-{host}-{pid}.jsonl`.
 * `armorc audit verify audit/` then checks every chain in the folder.
 */
import { hostname } from "node:os";

export function auditFileName(template: string): string {
  return template.replace(/\{(pid|host)\}/g, (_all, name: string) => (name === "pid" ? String(process.pid) : hostname().replace(/[^A-Za-z0-9._-]/g, "_")));
}
