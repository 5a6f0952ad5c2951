/**
 * `--config armor.yaml` for `armor serve` and `armor mcp`: a YAML file whose keys are the
 * command's options without their dashes (`policy`, `audit`, `ship-to`, `allowed-host: [a, b]`),
 * read into the values the argument parser gives, so the command checks them one way whichever
 * they came from; options on the command line override the file's.
 *
 * The `yaml` package parses with positions (every error says FILE:LINE:COLUMN), and ajv checks
 * the values against a JSON Schema made from the command's options (types, enums, ranges).
 * What the file cannot do: hold more than 1 MiB, use anchors and aliases (a "billion laughs"
 * file is refused before anything is expanded), name a key the command does not have (the
 * nearest one is offered), or smuggle a prototype key (`__proto__` is an unknown key, and the
 * values are kept in an object without a prototype).
 */
import { closest, readRegularFile } from "@agent-armor/compiler";
import { Ajv, type ErrorObject } from "ajv";
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, type Pair, parseDocument, visit } from "yaml";
import { type OptionSpecs, UsageError } from "../args.js";

/** The largest config file read. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** A config file that cannot be used: the message starts with FILE:LINE:COLUMN (a usage error: exit 2). */
export class ConfigError extends UsageError {
  override readonly name = "ConfigError";
}

type JsonSchema = Record<string, unknown>;

/** The options whose values are not any string: their schema in the file. */
const TYPED: Record<string, JsonSchema> = {
  port: { type: "integer", minimum: 0, maximum: 65535 },
  "approvals-port": { type: "integer", minimum: 0, maximum: 65535 },
  "max-body": { type: "integer", minimum: 1 },
  "queue-timeout": { type: "integer", minimum: 1 },
  "ship-batch": { type: "integer", minimum: 1, maximum: 999_999_999 },
  "ship-interval": { type: "integer", minimum: 1, maximum: 999_999_999 },
  "ship-buffer": { type: "integer", minimum: 1, maximum: 999_999_999 },
  "ship-overflow": { enum: ["drop", "deny"] },
  approvals: { enum: ["terminal", "queue", "web"] },
  "approvals-webhook-format": { enum: ["json", "slack"] },
  "log-format": { enum: ["text", "json"] },
};

/** The deepest nesting read (options are values and lists of values). */
const MAX_NESTING = 64;

/** A block indicator (`- `, `? `, `: ` at the start of a line's content): it opens a level. */
function isIndicator(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c !== 0x2d && c !== 0x3f && c !== 0x3a) return false;
  const next = text.charCodeAt(i + 1);
  return Number.isNaN(next) || next === 0x20 || next === 0x09 || next === 0x0a || next === 0x0d;
}

/** A line (its content, without the indentation) that ends in a block scalar's header (`|`, `>-`, `|2`). */
const BLOCK_SCALAR = /(^|[\s:-])[|>][0-9+-]*[ \t]*(#.*)?$/;

/**
 * Where the file first nests deeper than MAX_NESTING, or null: checked before parsing, since the
 * parser recurses once per level (200,000 `- ` overflow its stack) and its time grows faster than
 * the text. A level is a `[` or `{`, a block indicator (`- `, `? `, `: `, several on one line
 * too: `- - - x`), or a line indented deeper than the lines it is inside. Quotes are not
 * followed, so a string holding 64 unbalanced brackets is refused too; no option's value needs
 * that. A block scalar's lines (after `|` or `>`) are text, whatever their indentation.
 */
function tooDeep(text: string): number | null {
  let brackets = 0;
  // the columns of the block levels open at the current line
  const block: number[] = [];
  // the indentation of a line that started a block scalar, whose deeper lines are its text
  let scalarIndent = -1;
  for (let start = 0; start < text.length; ) {
    let eol = text.indexOf("\n", start);
    if (eol < 0) eol = text.length;
    let i = start;
    while (i < eol && text.charCodeAt(i) === 0x20) i++;
    const indent = i - start;
    const blank = i >= eol || text.charCodeAt(i) === 0x0d || text.charCodeAt(i) === 0x23;
    if (scalarIndent >= 0 && (blank || indent > scalarIndent)) {
      start = eol + 1;
      continue;
    }
    scalarIndent = -1;
    if (!blank && brackets === 0) {
      // a block line: it closes the levels at its column or right of it, and opens its own
      while (block.length > 0 && block[block.length - 1]! >= indent) block.pop();
      block.push(indent);
      if (block.length > MAX_NESTING) return i;
      while (i < eol && isIndicator(text, i)) {
        const at = i;
        i++;
        while (i < eol && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
        block.push(i - start);
        if (block.length > MAX_NESTING) return at;
      }
      const line = text.slice(i, eol);
      if (line.length < 4096 && BLOCK_SCALAR.test(line.trimEnd())) scalarIndent = indent;
    }
    for (; i < eol; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x5b || c === 0x7b) {
        if (++brackets + block.length > MAX_NESTING) return i;
      } else if ((c === 0x5d || c === 0x7d) && brackets > 0) brackets--;
    }
    start = eol + 1;
  }
  return null;
}

/** The key that gives `armor mcp` its upstream command (a list: the command and its arguments). */
export const UPSTREAM_COMMAND_KEY = "upstream-command";

/** The JSON Schema of a command's config file, from its options. */
export function configSchema(specs: OptionSpecs, command: "serve" | "mcp"): JsonSchema {
  const properties: Record<string, JsonSchema> = Object.create(null);
  for (const [name, spec] of Object.entries(specs)) {
    if (name === "config") continue;
    if (Object.hasOwn(TYPED, name)) properties[name] = TYPED[name]!;
    else if (spec.type === "boolean") properties[name] = { type: "boolean" };
    else if (spec.multiple === true) properties[name] = { type: "array", items: { type: "string" }, maxItems: 1000 };
    // another option's value: a string, or a number written as one
    else properties[name] = { type: ["string", "number"] };
  }
  if (command === "mcp") properties[UPSTREAM_COMMAND_KEY] = { type: "array", items: { type: "string" }, minItems: 1, maxItems: 1000 };
  return { type: "object", properties, additionalProperties: false };
}

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });

/** Where an offset is, as FILE:LINE:COLUMN (1-based). */
function at(file: string, lines: LineCounter, offset: number): string {
  const { line, col } = lines.linePos(offset);
  return `${file}:${line}:${col}`;
}

/** A node's value in the shapes options take (a scalar, a list of scalars); anything else as an object, which the schema refuses. */
function plain(node: unknown): unknown {
  if (isScalar(node)) return node.value;
  if (isSeq(node)) return node.items.map((item) => (isScalar(item) ? item.value : {}));
  return {};
}

const TYPE_NAMES: Record<string, string> = { integer: "a whole number", number: "a number", string: "a string", boolean: "true or false", array: "a list" };

function describeError(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "type": {
      const types = (Array.isArray(p.type) ? (p.type as string[]) : [String(p.type)]).map((t) => TYPE_NAMES[t] ?? t);
      return `must be ${types.join(" or ")}`;
    }
    case "enum":
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return e.message ?? "is not valid";
  }
}

/**
 * The option values in `file` for a command with `specs`, as parseArgs gives them (strings,
 * booleans, lists of strings; numbers written as strings), in an object without a prototype;
 * `upstream-command` for mcp as a list. Throws ConfigError.
 */
export function readConfigFile(file: string, specs: OptionSpecs, command: "serve" | "mcp"): Record<string, unknown> {
  const read = readRegularFile(file);
  if (read === undefined) throw new ConfigError(`${file}: no such file; --config names a YAML file of the command's options`);
  if ("problem" in read) throw new ConfigError(`${file}: ${read.problem}`);
  if (read.text.length > MAX_CONFIG_BYTES) throw new ConfigError(`${file}: the config file is larger than ${MAX_CONFIG_BYTES / 1024} KiB`);
  const lines = new LineCounter();
  const deep = tooDeep(read.text);
  if (deep !== null) {
    lines.addNewLine(0);
    for (let i = read.text.indexOf("\n"); i >= 0; i = read.text.indexOf("\n", i + 1)) lines.addNewLine(i + 1);
    throw new ConfigError(`${at(file, lines, deep)}: the file nests deeper than ${MAX_NESTING} levels (brackets, \`- \` lists or indentation); options are values and lists of values`);
  }
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(read.text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    // the parser's own limits (a file nested past what it can read)
    throw new ConfigError(`${file}:1:1: the file cannot be read as YAML: ${(e as Error).message}`);
  }
  // a warning (an unknown tag such as `!!js/function`) is as much a mistake as an error here
  const syntax = doc.errors[0] ?? doc.warnings[0];
  if (syntax !== undefined) throw new ConfigError(`${at(file, lines, syntax.pos[0])}: ${syntax.message.split("\n")[0]}`);
  // anchors and aliases: refused where they are, before anything could expand them
  visit(doc, {
    Alias(_key, node) {
      throw new ConfigError(`${at(file, lines, node.range?.[0] ?? 0)}: aliases (*${node.source}) are not allowed in a config file; write the value out`);
    },
    Node(_key, node) {
      if ((node as { anchor?: string }).anchor !== undefined) {
        throw new ConfigError(`${at(file, lines, (node as Node).range?.[0] ?? 0)}: anchors (&${(node as { anchor?: string }).anchor}) are not allowed in a config file; write the value out`);
      }
    },
  });
  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) return Object.create(null);
  if (!isMap(contents)) throw new ConfigError(`${at(file, lines, contents.range?.[0] ?? 0)}: a config file is a map of options (\`policy: p.armor\`), one per line`);
  const schema = configSchema(specs, command);
  const properties = schema.properties as Record<string, JsonSchema>;
  const values: Record<string, unknown> = Object.create(null);
  const pairs = new Map<string, Pair>();
  for (const pair of contents.items) {
    const keyNode = pair.key;
    const where = at(file, lines, (keyNode as Node | null)?.range?.[0] ?? 0);
    if (!isScalar(keyNode) || typeof keyNode.value !== "string") throw new ConfigError(`${where}: a key is an option's name (a string)`);
    const key = keyNode.value;
    if (!Object.hasOwn(properties, key)) {
      const near = key.length <= 64 ? closest(key, Object.keys(properties)) : null;
      const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
      throw new ConfigError(`${where}: unknown key \`${shown}\`${near !== null ? `; did you mean \`${near}\`?` : ""} (the keys are the options of armor ${command}, without their dashes)`);
    }
    if (isAlias(pair.value)) throw new ConfigError(`${where}: aliases are not allowed in a config file`);
    values[key] = plain(pair.value);
    pairs.set(key, pair);
  }
  const validate = ajv.compile(schema);
  if (!validate(values)) {
    const e = validate.errors![0]!;
    const key = decodeURIComponent(e.instancePath.split("/")[1] ?? "");
    const pair = pairs.get(key);
    const node = (pair?.value ?? pair?.key ?? contents) as Node;
    const path = e.instancePath.slice(1).replace(/\//g, ".");
    throw new ConfigError(`${at(file, lines, node.range?.[0] ?? 0)}: \`${path}\` ${describeError(e)}`);
  }
  // as the argument parser gives them: numbers as the text a flag would have
  for (const key of Object.keys(values)) if (typeof values[key] === "number") values[key] = String(values[key]);
  return values;
}

/**
 * The command's option values with `--config FILE`'s under them: an option given on the command
 * line overrides the file's (a repeatable one as a whole). For mcp, the file's `upstream-command`
 * is the upstream when the command line names none.
 */
export function withConfig(flags: Record<string, unknown>, specs: OptionSpecs, command: "serve" | "mcp"): { values: Record<string, unknown>; upstreamCommand: string[] } {
  const file = Object.hasOwn(flags, "config") ? flags.config : undefined;
  if (typeof file !== "string") return { values: flags, upstreamCommand: [] };
  const fromFile = readConfigFile(file, specs, command);
  const upstream = fromFile[UPSTREAM_COMMAND_KEY];
  delete fromFile[UPSTREAM_COMMAND_KEY];
  const values: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(fromFile)) values[k] = v;
  for (const [k, v] of Object.entries(flags)) if (v !== undefined && k !== "config") values[k] = v;
  return { values, upstreamCommand: Array.isArray(upstream) ? (upstream as string[]) : [] };
}
