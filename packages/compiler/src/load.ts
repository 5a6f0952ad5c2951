/**
 * Loads emitted code into this process. The module imports nothing, so it can be evaluated from
 * a data URL without touching the file system.
 */
import type { PolicyModule } from "@agent-armor/contract";

export async function loadModule(js: string): Promise<PolicyModule> {
  const url = `data:text/javascript;base64,${Buffer.from(js, "utf8").toString("base64")}`;
  return (await import(url)) as PolicyModule;
}
