/**
 * Reading a command's arguments, for `armorc` and `armor` alike: node:util `parseArgs` (strict)
 * under a thin layer that turns its errors into usage errors naming the flag, with a hint, and
 * that can stop at the first argument that is not an option (`armor mcp`: what follows is the
 * upstream server's command line, whose flags are never ours).
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

export interface ParsedArgs {
  values: Record<string, unknown>;
  positionals: string[];
}

/** A usage error: printed with the command's usage line, exit code 2. */
export class UsageError extends Error {}

export interface ParseOptions {
  /** Whether the command takes positional arguments (default true). */
  readonly positionals?: boolean;
  /**
   * Options end at `--` or at the first argument that is neither an option nor an option's value;
   * that argument and the rest are the positionals, read as they are.
   */
  readonly stopAtPositional?: boolean;
  /** What to run for the list of options, named in hints (e.g. `armorc check --help`). */
  readonly helpCommand: string;
}

export function parseCommandArgs(args: readonly string[], specs: OptionSpecs, how: ParseOptions): ParsedArgs {
  const [own, rest] = how.stopAtPositional === true ? splitAtPositional(args, specs) : [args, null];
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({ args: joinDashValues(own, specs), options: specs, allowPositionals: rest === null && how.positionals !== false, strict: true }) as ParsedArgs;
  } catch (e) {
    throw new UsageError(describe(e as Error & { code?: string }, specs, how.helpCommand));
  }
  return rest === null ? parsed : { values: parsed.values, positionals: [...rest] };
}

/**
 * Whether `args` ask for the command's help: `-h` or `--help` among the command's own options,
 * never after `--`, never as an option's value, and, with `stopAtPositional`, never in the
 * upstream's command line that starts at the first positional.
 */
export function wantsHelp(args: readonly string[], specs: OptionSpecs, how: Pick<ParseOptions, "stopAtPositional">): boolean {
  return optionFlags(args, specs, how.stopAtPositional === true).some((arg) => arg === "-h" || arg === "--help");
}

/** The spec of the long option `name`, read as an own property only (`--__proto__` is no option). */
function specOf(specs: OptionSpecs, name: string): OptionSpecs[string] | undefined {
  return Object.hasOwn(specs, name) ? specs[name] : undefined;
}

/** The spec `arg` names: `--name`, `--name=value`, or a short option the command declares. */
function specNamed(arg: string, specs: OptionSpecs): OptionSpecs[string] | undefined {
  if (arg.startsWith("--")) return specOf(specs, arg.slice(2).split("=")[0]!);
  return /^-[^-]$/.test(arg) ? Object.values(specs).find((s) => s.short === arg.slice(1)) : undefined;
}

/** Whether `arg` reads as one of the command's options (help included) rather than a value. */
function isDeclaredOption(arg: string, specs: OptionSpecs): boolean {
  return arg === "--" || arg === "-h" || arg === "--help" || specNamed(arg, specs) !== undefined;
}

/** Whether `arg` is a string option that takes the next argument as its value (`--name`, `-o`). */
function takesNext(arg: string, specs: OptionSpecs): boolean {
  return !arg.includes("=") && specNamed(arg, specs)?.type === "string";
}

/**
 * parseArgs refuses a value that starts with `-` (`--session -s1`). A string option takes the
 * next argument as its value whatever it starts with, as getopt does, unless that argument is
 * itself one of the command's options (`--policy --verbose`): that is refused, with the
 * `--name=VALUE` form as the hint.
 */
function joinDashValues(args: readonly string[], specs: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return [...out, ...args.slice(i)];
    const next = args[i + 1];
    if (takesNext(arg, specs) && next?.startsWith("-") === true && next !== "-" && !isDeclaredOption(next, specs)) {
      const spec = specNamed(arg, specs)!;
      const name = arg.startsWith("--") ? arg.slice(2) : Object.keys(specs).find((k) => specs[k] === spec)!;
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/**
 * The command's own option flags in `args` (not their values): up to `--`, and with
 * `stopAtPositional` up to the first argument that is neither an option nor an option's value.
 */
function optionFlags(args: readonly string[], specs: OptionSpecs, stopAtPositional: boolean): string[] {
  const own = stopAtPositional ? splitAtPositional(args, specs)[0] : args;
  const flags: string[] = [];
  for (let i = 0; i < own.length; i++) {
    const arg = own[i]!;
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") continue;
    flags.push(arg);
    if (takesNext(arg, specs)) i++;
  }
  return flags;
}

/** The options part of `args` and what follows it (after `--`, or from the first positional). */
function splitAtPositional(args: readonly string[], specs: OptionSpecs): [readonly string[], readonly string[]] {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return [args.slice(0, i), args.slice(i + 1)];
    // `--name`, `--name=value`, `-h`, or a short option the command declares; anything else starts the rest
    if (!arg.startsWith("--") && arg !== "-h" && specNamed(arg, specs) === undefined) return [args.slice(0, i), args.slice(i)];
    if (takesNext(arg, specs)) i++;
  }
  return [args, []];
}

/** The flag an error of parseArgs is about, as written in its message (`'--name'`, `'-x'`). */
function flagOf(message: string): string | null {
  // `'--name <value>'`, or `'-n, --name <value>'` for an option with a short form
  const m = /'(?:-\w, )?(-{1,2}[^' ,]+)/.exec(message);
  return m === null ? null : m[1]!;
}

/** A long option's name that is close to `flag` (a typo), or null. */
function nearest(flag: string, specs: OptionSpecs): string | null {
  const name = flag.replace(/^-+/, "").split("=")[0]!;
  const names = Object.keys(specs);
  return names.find((n) => n.startsWith(name) || name.startsWith(n) || (name.length >= 3 && n.startsWith(name.slice(0, 3)))) ?? null;
}

/** `--name` for a flag as written (`-o` → `--output`): only the long form takes `=VALUE`. */
function longForm(flag: string | null, specs: OptionSpecs): string {
  if (flag === null) return "--name";
  if (flag.startsWith("--")) return flag;
  const name = Object.keys(specs).find((k) => specs[k]!.short === flag.slice(1));
  return name === undefined ? flag : `--${name}`;
}

function describe(e: Error & { code?: string }, specs: OptionSpecs, helpCommand: string): string {
  const flag = flagOf(e.message);
  const help = `run \`${helpCommand} --help\` for its options`;
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const near = flag === null ? null : nearest(flag, specs);
      return `unknown option \`${flag ?? "?"}\`; ${near !== null ? `did you mean \`--${near}\`? ` : ""}${help}`;
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (flag !== null && specOf(specs, flag.replace(/^-+/, ""))?.type === "boolean") return `\`${flag}\` takes no value; ${help}`;
      if (/ambiguous/.test(e.message)) return `\`${flag ?? "?"}\` needs a value, not another option; to pass a value that starts with \`-\`, write \`${longForm(flag, specs)}=VALUE\``;
      return `\`${flag ?? "?"}\` needs a value: \`${flag ?? "--name"} VALUE\``;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const m = /'([^']*)'/.exec(e.message);
      return `unexpected argument \`${m?.[1] ?? "?"}\`: this command takes only options; ${help}`;
    }
    default:
      return `${e.message}; ${help}`;
  }
}
