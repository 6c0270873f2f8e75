/**
 * Splits `command: "./sync.sh --full 'two words'"` into argv without a shell: quotes group,
 * backslash escapes, and nothing else is special. Returns an error text for input that only a
 * shell would understand, so the user is told to say `shell:` explicitly.
 */
export function splitCommand(text: string): { argv: string[] } | { error: string } {
  const argv: string[] = [];
  let current = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
      continue;
    }
    if (c === "'" || c === '"') (quote = c), (inWord = true);
    else if (c === "\\" && i + 1 < text.length) (current += text[++i]), (inWord = true);
    else if (/\s/.test(c)) {
      if (inWord) argv.push(current);
      (current = ""), (inWord = false);
    } else if ("|&;<>()$`*?".includes(c)) {
      return { error: `contains ${JSON.stringify(c)}, which only a shell understands; quote it to pass it literally, or use shell: "…" to run it through /bin/sh` };
    } else (current += c), (inWord = true);
  }
  if (quote) return { error: `has an unclosed ${quote} quote` };
  if (inWord) argv.push(current);
  if (argv.length === 0) return { error: "is empty; give the program to run" };
  return { argv };
}
