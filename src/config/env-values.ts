/**
 * What an environment variable handed to a job may be called and hold. Checked when the config
 * is read, because a bad one fails only later, at every run: `"A=B"` as a name sets another
 * variable (`PATH=/evil:/bin` would be a second PATH), `""` is no name at all, and a NUL byte in a
 * value makes every spawn fail with Node's message quoting the value (a secret) into the log,
 * the run records and the API.
 */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ENV_NAME_RULE = 'letters, digits and "_", not starting with a digit';

// C0 controls but tab, DEL, and C1 controls (0x9b is a terminal's CSI).
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
const CONTROL_NAMES: Record<number, string> = { 0: "a NUL byte", 10: "a line break", 13: "a carriage return", 27: "an escape character" };

/** `a NUL byte (U+0000)` for the first control character in `value`, or null: never the value itself. */
export function controlCharacterIn(value: string): string | null {
  const found = CONTROL.exec(value);
  if (!found) return null;
  const code = found[0].charCodeAt(0);
  const unicode = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return `${CONTROL_NAMES[code] ?? "a control character"} (${unicode})`;
}

/** `a NUL byte (U+0000)` when `value` holds one: the one character no process environment can carry. */
export function nulIn(value: string): string | null {
  return value.includes("\u0000") ? "a NUL byte (U+0000)" : null;
}

/** The rest of a message after a job `env` value's `… contains a NUL byte (U+0000)`. */
export const NUL_FIX = "no process environment can hold one; remove it";

/** The rest of a message after `… contains a NUL byte (U+0000)`. */
export const CONTROL_FIX = "environment values may hold printable characters and tabs only; to hand a job a multi-line value, give it a file path instead";

/** A name as shown in a message: quoted, and cut short (it may be anything the file held). */
export function shownName(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
}
