/** A guest's call of a host function, as the parent answers it for a worker or a Python process. */
import type { HostFunction } from "./quickjs-run.js";

/**
 * Runs the host function `name` on the guest's JSON arguments and posts the answer: `ok` with the
 * result as JSON text, or not, with the error's message (an unknown name, a host function that
 * throws or rejects, a result JSON cannot hold, arguments longer than `maxArgs` characters of
 * JSON, which the host function never sees). Never throws, never rejects.
 */
export function answerHostCall(host: Readonly<Record<string, HostFunction>>, name: string, args: string, post: (ok: boolean, json: string) => void, maxArgs = Number.POSITIVE_INFINITY): void {
  if (args.length > maxArgs) {
    post(false, `the arguments of \`${name}\` are longer than ${maxArgs} characters of JSON`);
    return;
  }
  const fn = Object.hasOwn(host, name) ? host[name] : undefined;
  if (fn === undefined) {
    post(false, `no host function \`${name}\``);
    return;
  }
  Promise.resolve()
    .then(() => fn(JSON.parse(args) as unknown[]))
    .then((v) => JSON.stringify(v === undefined ? null : v))
    .then(
      (json) => post(true, json),
      (e: unknown) => post(false, e instanceof Error ? e.message : String(e)),
    );
}
