import { CONTROL_FIX, controlCharacterIn } from "./env-values.js";
import { FileReadProblem, readTextFile } from "./read-file.js";

/** A secrets file has a few dozen lines; anything this big was not meant. */
const MAX_ENV_FILE_BYTES = 1024 * 1024;
// `s`: a stray carriage return in a value is reported as one (below), not as a malformed line.
const LINE = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/s;

export type EnvFileResult =
  | { ok: true; vars: Map<string, string> }
  /** `unreadable`: the file exists but this user may not read it (EACCES), which operational commands tolerate. */
  | { ok: false; problems: string[]; unreadable: boolean };

/**
 * `env_file:`: `KEY=VALUE` lines whose values `${KEY}` can use. Blank lines and
 * `#` comments are ignored; `export ` and one pair of matching quotes around the value are
 * allowed. Values are taken literally (no escapes, no `$` expansion, no inline comments), and
 * never appear in a message: a malformed line is named by its number only.
 */
export function readEnvFile(path: string): EnvFileResult {
  let text: string;
  let mode: number;
  try {
    const read = readTextFile(path, MAX_ENV_FILE_BYTES);
    text = read.text;
    mode = read.stat.mode;
  } catch (error) {
    if (!(error instanceof FileReadProblem)) throw error;
    const fix = error.code === "EACCES" || error.code === "EPERM"
      ? "; run jobclock as the user the daemon runs as (e.g. sudo -u jobclock jobclock …), or give that user read access"
      : error.code === "ENOENT" ? "; create it (KEY=VALUE lines, chmod 600), or fix the path (relative paths start at the config's folder)" : "";
    return { ok: false, problems: [`env_file: ${path} ${error.why}${fix}`], unreadable: error.code === "EACCES" || error.code === "EPERM" };
  }
  if ((mode & 0o004) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    return {
      ok: false, unreadable: false,
      problems: [`env_file: ${path} can be read by every user on this machine (mode ${octal}); it holds secrets: chmod 600 ${path} (or chmod o-r ${path}) and let only the service user own it`],
    };
  }
  return parseEnvText(text, path);
}

/** The parsing half of readEnvFile, separate so it can be tested without files. */
export function parseEnvText(text: string, path: string): EnvFileResult {
  const vars = new Map<string, string>();
  const problems: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const at = `env_file: ${path} line ${index + 1}`;
    const match = LINE.exec(line);
    if (!match) {
      problems.push(`${at}: expected KEY=VALUE (KEY: letters, digits and "_", not starting with a digit; "export KEY=VALUE" also works)`);
      return;
    }
    const [, key, rawValue] = match as unknown as [string, string, string];
    const value = unquote(rawValue.trim());
    if (value === null) {
      problems.push(`${at}: the value of ${key} starts with a quote but does not end with the same quote; quote the whole value, e.g. ${key}="…" (nothing may follow the closing quote)`);
      return;
    }
    const control = controlCharacterIn(value);
    if (control) {
      problems.push(`${at}: the value of ${key} contains ${control}; ${CONTROL_FIX}`);
      return;
    }
    vars.set(key, value); // a key given twice: the last line wins, as in a shell
  });
  return problems.length > 0 ? { ok: false, problems, unreadable: false } : { ok: true, vars };
}

/** `"x"` and `'x'` lose their quotes; a value that starts a quote it does not close is refused (null). */
function unquote(value: string): string | null {
  const first = value[0];
  if (first !== '"' && first !== "'") return value;
  if (value.length >= 2 && value.endsWith(first)) return value.slice(1, -1);
  return null;
}
