import { isScalar, LineCounter, parseDocument, visit, type Document, type YAMLError } from "yaml";
import { ConfigError } from "../errors.js";

const SEE_EXAMPLE = "see examples/jobclock.yaml";
// Aliases beyond this are refused by the yaml library as a "billion laughs" expansion.
const MAX_ALIAS_COUNT = 100;

/**
 * The config's text as a plain tree whose top level is a map (an empty file is refused: it is
 * what a truncated or emptied config looks like). YAML mistakes get a hint where one helps, an INI file is recognised as such, and a
 * file built to explode (aliases of aliases) is a config error like any other.
 */
export function parseYamlTree(text: string, path: string): Record<string, unknown> {
  // The library's own uniqueKeys check compares each key with every other (50,000 jobs: 18 s);
  // duplicateKeys does the same in one pass.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: true, lineCounter });
  const lines = text.split(/\r?\n/);
  if (doc.errors.length > 0 && looksLikeIni(lines)) throw notYaml(path);
  const errors = [...describeYamlErrors(doc.errors, lines), ...(doc.errors.length === 0 ? duplicateKeys(doc, lineCounter) : [])];
  if (errors.length > 0) throw new ConfigError(errors, `${path} is not valid YAML`, "yaml");
  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (error instanceof ReferenceError) {
      throw new ConfigError(
        [`its aliases (*name) expand to too many values (more than ${MAX_ALIAS_COUNT} uses of an alias; a "billion laughs" file); write the values out, or use fewer aliases`],
        `${path} is refused`, "yaml",
      );
    }
    if (error instanceof RangeError) {
      throw new ConfigError(["it is nested too deeply to read"], `${path} is refused`, "yaml");
    }
    throw error;
  }
  if (tree === null || tree === undefined) {
    // An emptied or truncated file must not silently point every command at a default store and
    // pidfile next to it (a new, empty store; "not running" for a daemon that runs).
    throw new ConfigError(
      ["the file is empty (or only comments); refused, so an emptied or truncated config never points jobclock at another store. " +
        `Restore it from your deploy tool or backup; to mean "no jobs", write the store, pidfile and log lines and \`jobs: {}\` (${SEE_EXAMPLE})`],
      `${path} is refused`, "yaml",
    );
  }
  const tagged = typedValues(tree, []);
  if (tagged.length > 0) throw new ConfigError(tagged, `${path} has problems`, "yaml");
  if (typeof tree === "object" && !Array.isArray(tree)) return tree as Record<string, unknown>;
  if (looksLikeIni(lines)) throw notYaml(path);
  const what = Array.isArray(tree) ? "a list" : "a single value";
  throw new ConfigError(
    [`(top level): the file is ${what}; it must be a map of keys such as store:, log: and jobs: (${SEE_EXAMPLE})`],
    `${path} has problems`, "yaml",
  );
}

/**
 * Values that YAML tags turn into something other than a map, list or scalar: `!!omap` and
 * `!!set` give a Map or a Set, `!!binary` bytes, `!!timestamp` a Date. Every check after this
 * reads plain objects, so a Map was silently an empty map (`--- !!omap` was "OK, 0 jobs" with the
 * default store; `log: !!omap [file: …]` was ignored): each is refused, naming its key.
 */
function typedValues(value: unknown, at: string[]): string[] {
  if (value === null || typeof value !== "object") return [];
  const where = at.length > 0 ? at.join(".") : "(top level)";
  if (value instanceof Map) return [`${where}: is a YAML !!omap (an ordered map); write a plain map (key: value lines, without the tag)`];
  if (value instanceof Set) return [`${where}: is a YAML !!set; write a plain map (key: value lines) or a list, without the tag`];
  if (value instanceof Date) return [`${where}: is a YAML !!timestamp; write the value as a quoted string, without the tag`];
  if (ArrayBuffer.isView(value)) return [`${where}: is YAML !!binary data; write a string, without the tag`];
  if (Array.isArray(value)) return value.flatMap((v, i) => typedValues(v, [...at, String(i)]));
  return Object.entries(value).flatMap(([k, v]) => typedValues(v, [...at, k]));
}

function notYaml(path: string): ConfigError {
  return new ConfigError([`this looks like an INI file ([section] and key = value lines), not YAML; ${SEE_EXAMPLE}`], `${path} is not valid YAML`, "yaml");
}

/** `[section]` lines, or `key = value` lines at the start of a line, and no `key: value` at all. */
function looksLikeIni(lines: string[]): boolean {
  const meaningful = lines.map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith(";"));
  if (meaningful.length === 0) return false;
  const yamlish = meaningful.some((l) => /^[\w"'.-]+\s*:(\s|$)/.test(l) || l.startsWith("- "));
  const section = meaningful.some((l) => /^\[[^\][]+\]$/.test(l));
  const assignment = meaningful.some((l) => /^[\w.-]+\s*=\s*/.test(l));
  return !yamlish && (section || assignment);
}

/** A key written twice in one map: YAML forbids it, and the second would silently win. */
function duplicateKeys(doc: Document, lineCounter: LineCounter): string[] {
  const offsets: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (!seen.has(key)) {
          seen.add(key);
          continue;
        }
        offsets.push(pair.key.range?.[0] ?? 0);
      }
    },
  });
  return offsets.sort((a, b) => a - b).map((offset) => {
    const pos = lineCounter.linePos(offset);
    return `line ${pos.line}, column ${pos.col}: ${DUPLICATE_KEY}`;
  });
}

const DUPLICATE_KEY = "a key appears twice (for jobs: two jobs with the same name); rename or remove one";

/** One problem per line (a single mistake often makes the parser complain several times). */
function describeYamlErrors(errors: YAMLError[], lines: string[]): string[] {
  const seen = new Set<number>();
  const out: string[] = [];
  for (const error of errors) {
    const pos = error.linePos?.[0];
    if (pos && seen.has(pos.line)) continue;
    if (pos) seen.add(pos.line);
    const source = pos ? (lines[pos.line - 1] ?? "") : "";
    const where = pos ? `line ${pos.line}, column ${pos.col}: ` : "";
    out.push(`${where}${describe(error, source)}`);
  }
  return out;
}

function describe(error: YAMLError, line: string): string {
  // prettyErrors adds " at line L, column C:" and a source excerpt; the prefix says where.
  const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  const value = /^\s*(?:-\s+)?[^\s:#]+:\s+(.*)$/.exec(line)?.[1] ?? "";
  switch (error.code) {
    case "DUPLICATE_KEY":
      return DUPLICATE_KEY;
    case "TAB_AS_INDENT":
      return "a tab is used for indentation; indent with spaces (YAML does not allow tabs there)";
    case "BLOCK_AS_IMPLICIT_KEY":
    case "BLOCK_IN_FLOW":
      if (/:\s/.test(value) || /:\s/.test(line.replace(/^[^:]*:/, ""))) {
        return `${message}; a value containing ": " must be quoted, e.g. key: "a: b"`;
      }
      return `${message}; check the indentation (keys of one map line up, in spaces)`;
    case "BAD_ALIAS":
    case "BAD_SCALAR_START": {
      const first = value.trimStart()[0];
      return first ? `${message}; a value starting with ${JSON.stringify(first)} must be quoted, e.g. key: "${first}…"` : message;
    }
    case "BAD_INDENT":
      return `${message}; check the indentation (keys of one map line up, in spaces)`;
    default:
      return message;
  }
}
