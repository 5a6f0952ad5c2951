// The generated policy the language server's benchmarks use (bench/lsp-tokens.mjs,
// bench/lsp-lens.mjs): lets, rules of several shapes over test/cases/check/actions.schema.json,
// and tests, to `lines` lines.
export function generate(lines) {
  const out = ['policy generated version "1.0.0"', 'schema "./actions.schema.json"', "default deny", ""];
  for (let i = 0; out.length + 6 < lines; i++) {
    if (i % 4 === 0) out.push(`let LIST_${i} = ["acct-${i}", "acct-${i + 1}"]`, `// wires of group ${i}`);
    if (i % 4 === 1) out.push(`rule wire_${i}`, `  when action.type == "wire_transfer" and amount > ${1000 + i} and recipient in LIST_${i - 1}`, `  require approval from "finance" timeout 1h`);
    if (i % 4 === 2) out.push(`rule post_${i}`, `  when action.type == "http_post" and seen(type == "read_file" and path matches /secret-${i}/ within 30m)`, `  deny because "exfiltration ${i}"`);
    if (i % 4 === 3) out.push(`test "wire ${i}" {`, `  action { type: "wire_transfer", amount: ${i}, recipient: "bob" }`, "  expect deny", "}");
    out.push("");
  }
  while (out.length < lines) out.push(`// filler ${out.length}`);
  return `${out.join("\n")}\n`;
}
