/**
 * How `armorc` and `armor` read their arguments (packages/cli/src/args.ts): one parser for both,
 * whose errors name the option and give a hint, and which can stop at the first argument that is
 * not an option (`armor mcp`: the upstream's command line follows).
 */
import { describe, expect, it } from "vitest";
import { type OptionSpecs, parseCommandArgs, UsageError, wantsHelp } from "../packages/cli/src/args.js";

const SPECS: OptionSpecs = {
  policy: { type: "string" },
  output: { type: "string", short: "o" },
  verbose: { type: "boolean" },
  "allowed-host": { type: "string", multiple: true },
};

describe("reading options", () => {
  const accepted: { args: string[]; stop?: boolean; values: Record<string, unknown>; positionals: string[] }[] = [
    { args: ["--policy", "p.armor", "a", "b"], values: { policy: "p.armor" }, positionals: ["a", "b"] },
    { args: ["--policy=p.armor", "-o", "out", "--verbose"], values: { policy: "p.armor", output: "out", verbose: true }, positionals: [] },
    { args: ["--allowed-host", "a", "--allowed-host=b"], values: { "allowed-host": ["a", "b"] }, positionals: [] },
    // stopping at the first positional: the rest is the upstream's, flags included
    { args: ["--policy", "p", "node", "server.js", "--verbose", "--policy", "x"], stop: true, values: { policy: "p" }, positionals: ["node", "server.js", "--verbose", "--policy", "x"] },
    { args: ["--policy", "p", "--", "--verbose"], stop: true, values: { policy: "p" }, positionals: ["--verbose"] },
    { args: ["--verbose", "-o", "-", "cmd"], stop: true, values: { verbose: true, output: "-" }, positionals: ["cmd"] },
    { args: ["--policy", "p", "-x", "y"], stop: true, values: { policy: "p" }, positionals: ["-x", "y"] },
    // a string option takes the next argument as its value, whatever it starts with, unless it is one of our options
    { args: ["--policy", "-s1", "--", "true"], stop: true, values: { policy: "-s1" }, positionals: ["true"] },
    { args: ["--policy", "-s1", "cmd", "-x"], stop: true, values: { policy: "-s1" }, positionals: ["cmd", "-x"] },
    { args: ["-o", "-x", "--policy", "--x", "a"], values: { output: "-x", policy: "--x" }, positionals: ["a"] },
    { args: ["--policy=-p", "--", "--policy", "-x"], values: { policy: "-p" }, positionals: ["--policy", "-x"] },
  ];
  it.each(accepted)("reads $args", ({ args, stop, values, positionals }) => {
    const parsed = parseCommandArgs(args, SPECS, { helpCommand: "armor mcp", ...(stop ? { stopAtPositional: true } : {}) });
    expect({ ...parsed.values }).toEqual(values);
    expect(parsed.positionals).toEqual(positionals);
  });

  const refused: { args: string[]; positionals?: boolean; stop?: boolean; message: string }[] = [
    { args: ["--frobnicate"], message: "unknown option `--frobnicate`; run `armorc check --help` for its options" },
    { args: ["--polcy", "p"], message: "unknown option `--polcy`; did you mean `--policy`? run `armorc check --help` for its options" },
    { args: ["-z"], message: "unknown option `-z`; run `armorc check --help` for its options" },
    { args: ["--policy"], message: "`--policy` needs a value: `--policy VALUE`" },
    { args: ["-o"], message: "`--output` needs a value: `--output VALUE`" },
    { args: ["--policy", "--verbose"], message: "`--policy` needs a value, not another option; to pass a value that starts with `-`, write `--policy=VALUE`" },
    { args: ["-o", "--policy"], message: "`-o` needs a value, not another option; to pass a value that starts with `-`, write `--output=VALUE`" },
    { args: ["--policy", "--help"], message: "`--policy` needs a value, not another option" },
    { args: ["--verbose=yes"], message: "`--verbose` takes no value; run `armorc check --help` for its options" },
    { args: ["stray"], positionals: false, message: "unexpected argument `stray`: this command takes only options; run `armorc check --help` for its options" },
    // names that are properties of every object are no options
    { args: ["--__proto__", "x"], stop: true, message: "unknown option `--__proto__`; run `armorc check --help` for its options" },
    { args: ["--constructor"], message: "unknown option `--constructor`; run `armorc check --help` for its options" },
    { args: ["--toString=1"], message: "unknown option `--toString`; run `armorc check --help` for its options" },
  ];
  it.each(refused)("refuses $args: $message", ({ args, positionals, stop, message }) => {
    const parse = () => parseCommandArgs(args, SPECS, { helpCommand: "armorc check", ...(positionals === false ? { positionals } : {}), ...(stop ? { stopAtPositional: true } : {}) });
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
  });
});

describe("asking for help", () => {
  // only the command's own options ask for help: not after `--`, not an option's value, and with
  // stopAtPositional not in the upstream's command line that starts at the first positional
  const cases: { args: string[]; stop?: boolean; help: boolean }[] = [
    { args: ["--help"], help: true },
    { args: ["--policy", "p", "-h"], stop: true, help: true },
    { args: ["a.armor", "--help"], help: true },
    { args: ["--", "node", "srv.js", "--help"], help: false },
    { args: ["--policy", "p", "node", "srv.js", "--help"], stop: true, help: false },
    { args: ["--policy", "p", "--", "node", "-h"], stop: true, help: false },
    { args: ["-o", "-h"], help: false },
  ];
  it.each(cases)("$args asks for help: $help", ({ args, stop, help }) => {
    expect(wantsHelp(args, SPECS, stop ? { stopAtPositional: true } : {})).toBe(help);
  });
});
