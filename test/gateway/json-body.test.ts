/**
 * The services' JSON bodies are read as sent or refused: a key repeated in one object (JSON.parse
 * keeps the last), an integer beyond 2^53 (read rounded) and a non-zero number too small for a
 * double (read as 0) are a 400 naming the line and column, never a value other than the one sent.
 */
import { describe, expect, it } from "vitest";
import { parseJsonBody } from "../../packages/gateway/src/http-util.js";

describe("parseJsonBody", () => {
  // [body, the error's message part (null: read as sent), line, column]
  const BODIES: [string, RegExp | null, number, number][] = [
    ['{"action":{"type":"wire","to":"acme","to":"evil"}}', /repeats the key "to"/, 1, 38],
    ['{"a":1,\n "a":2}', /repeats the key "a"/, 2, 2],
    ['{"a":{"k":1},"b":{"k":2}}', null, 0, 0],
    ['[{"k":1},{"k":2}]', null, 0, 0],
    ['{"a\\"b":1,"a\\u0022b":2}', /repeats the key/, 1, 11],
    ['{"s":"{\\"k\\":1,\\"k\\":2}"}', null, 0, 0],
    ['{"amount":9007199254740993}', /beyond 2\^53/, 1, 11],
    ['{"amount":-9007199254740991}', null, 0, 0],
    ['{"amount":1e-400}', /too small/, 1, 11],
    ['{"amount":0.000e-400}', null, 0, 0],
    ['{"amount":1e20,"x":0.1,"y":-0}', null, 0, 0],
  ];
  it.each(BODIES)("%s", (body, problem, line, column) => {
    if (problem === null) {
      expect(parseJsonBody(body)).toEqual(JSON.parse(body));
      return;
    }
    let thrown: unknown;
    try {
      parseJsonBody(body);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ status: 400, code: "invalid_json", message: expect.stringMatching(problem) });
    expect((thrown as { message: string }).message).toContain(`line ${line}, column ${column}`);
  });
});
