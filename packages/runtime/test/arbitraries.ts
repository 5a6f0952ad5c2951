/** Generators shared by the property tests. */
import fc from "fast-check";

/** Strings of arbitrary UTF-16 code units, with what JSON escapes (quotes, backslashes, control characters, lone surrogates) often. */
export const anyString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc
    .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0x22, 0x5c, 0x00, 0x0a, 0x1f, 0x7f, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0x2028, 0xe9)), { maxLength: 20 })
    .map((codes) => String.fromCharCode(...codes)),
);
