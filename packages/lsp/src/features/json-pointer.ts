/**
 * The offset of the value a JSON pointer names inside a JSON text (for go-to-definition on a
 * schema field). A small scanner over the text: it only tracks where keys and values start.
 */
export function jsonPointerSpan(text: string, pointer: string): { start: number; end: number } | null {
  const keys =
    pointer === ""
      ? []
      : pointer
          .split("/")
          .slice(1)
          .map((k) => decodeURIComponent(k).replace(/~1/g, "/").replace(/~0/g, "~"));
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return "";
    }
  };
  const skip = (): void => {
    ws();
    const c = text[i];
    if (c === '"') return void str();
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      for (;;) {
        ws();
        if (i >= text.length) return;
        if (text[i] === close) return void i++;
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (c === "{") {
          str();
          ws();
          i++; // ':'
        }
        skip();
      }
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
  };
  let keyStart = 0;
  for (const key of keys) {
    ws();
    if (text[i] === "{") {
      i++;
      let found = false;
      for (;;) {
        ws();
        if (i >= text.length || text[i] === "}") return null;
        if (text[i] === ",") {
          i++;
          continue;
        }
        const start = i;
        const k = str();
        ws();
        i++; // ':'
        if (k === key) {
          keyStart = start;
          found = true;
          break;
        }
        skip();
      }
      if (!found) return null;
    } else if (text[i] === "[") {
      i++;
      const index = Number(key);
      for (let n = 0; ; n++) {
        ws();
        if (text[i] === ",") {
          i++;
          ws();
        }
        if (i >= text.length || text[i] === "]") return null;
        if (n === index) {
          keyStart = i;
          break;
        }
        skip();
      }
    } else return null;
  }
  ws();
  const valueStart = i;
  skip();
  return { start: keys.length > 0 ? keyStart : valueStart, end: i };
}
