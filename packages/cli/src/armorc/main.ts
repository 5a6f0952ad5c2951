/**
 * `armorc`: the command-line entry. Parses the command and its options (args.ts),
 * dispatches to one module per command, and turns usage errors into a message and exit code 2.
 *
 * Exit codes: 0 success; 1 the policy has errors, a check failed, or formatting differs;
 * 2 usage errors and unreadable inputs; 70 an internal error (a bug).
 */
import { VERSION } from "@agent-armor/compiler";
import { type OptionSpecs, type ParsedArgs, parseCommandArgs, wantsHelp } from "../args.js";
import { type Io, nodeIo, UsageError } from "../io.js";
import { runAudit } from "./audit.js";
import { runCheck } from "./check.js";
import { runCompile } from "./compile.js";
import { runDiff } from "./diff.js";
import { runEval } from "./eval.js";
import { runFmt } from "./fmt.js";
import { runReplay } from "./replay.js";
import { runSchema } from "./schema.js";
import { runTest } from "./test.js";

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly help: string;
  readonly options: OptionSpecs;
  run(args: ParsedArgs, io: Io): Promise<number>;
}

const commands: Command[] = [runCompile, runCheck, runEval, runTest, runFmt, runDiff, runReplay, runAudit, runSchema];

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `armorc ${VERSION}: the Agent Armor policy compiler`,
    "",
    "Usage: armorc <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Options:",
    "  -h, --help     show help (also `armorc <command> --help`)",
    "  -v, --version  print the version",
    "",
    "Exit codes: 0 success, 1 errors or failed checks, 2 usage errors, 70 internal errors.",
    "Docs: docs/cli.md and docs/language.md",
    "",
  ].join("\n");
}

function commandHelp(c: Command): string {
  return `Usage: ${c.usage}\n\n${c.summary}\n\n${c.help}\n`;
}

export async function main(argv: string[], io: Io = nodeIo()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    // no command is a usage error: usage on stderr, exit 2 (asking for help is not)
    io.stderr.write(mainHelp());
    return 2;
  }
  if (first === "-h" || first === "--help" || first === "help") {
    const topic = first === "help" ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(topic ? commandHelp(topic) : mainHelp());
    return 0;
  }
  if (first === "-v" || first === "--version") {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === first);
  if (!command) {
    const names = commands.map((c) => c.name);
    const near = names.find((n) => n.startsWith(first.slice(0, 2)));
    io.stderr.write(`armorc: unknown command \`${first}\`${near ? `; did you mean \`${near}\`?` : ""}\nrun \`armorc --help\` for the list of commands\n`);
    return 2;
  }
  // what follows `--` (an upstream's command line) never asks for armorc's help
  if (wantsHelp(rest, command.options, {})) {
    io.stdout.write(commandHelp(command));
    return 0;
  }
  try {
    return await command.run(parseCommandArgs(rest, command.options, { helpCommand: `armorc ${command.name}` }), io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`armorc ${command.name}: ${e.message}\nusage: ${command.usage}\n`);
      return 2;
    }
    throw e;
  }
}
