/** Small text helpers shared by the system parsers. Pure. */

/** Split into lines, tolerating CRLF and a missing final newline. */
export function lines(text: string): string[] {
  if (typeof text !== "string" || text === "") return [];
  const out = (text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text).split("\n");
  if (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out;
}

/**
 * Split a shell-like word list: whitespace separates words, single and double quotes group
 * (and are removed), a backslash escapes the next character outside single quotes.
 */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === "\\" && quote === '"' && i + 1 < text.length && /["\\$`]/.test(text[i + 1]!))
        cur += text[++i];
      else cur += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
