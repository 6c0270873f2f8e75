const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const SKIP = new Set(["level", "time", "msg", "pid", "hostname"]);
// Deeper than this, a nested value is shown as JSON: a log line stays one line of bounded width.
const MAX_DEPTH = 3;

/**
 * pino's JSON line as one readable text line:
 *   2026-11-26T20:10:41.123Z INFO  run succeeded job=sync run=12 durationMs=830
 * Lists read as lists (`running=nightly-report#7,backup#9`) and nested objects are flattened
 * (`store.kind=sqlite`), because an operator reads these with `tail -f` and greps them, and
 * `running="[\"nightly-report#7\"]"` is neither readable nor greppable.
 */
export function formatText(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    const end = line.endsWith("\n") ? "\n" : "";
    return escapeControls(line.slice(0, line.length - end.length)) + end;
  }
  const time = typeof entry.time === "string" ? entry.time : new Date(Number(entry.time)).toISOString();
  const level = (LEVELS[Number(entry.level)] ?? String(entry.level)).padEnd(5);
  const fields: string[] = [];
  for (const [k, v] of Object.entries(entry)) {
    if (!SKIP.has(k) && v !== undefined) fields.push(...fieldsOf(k, v, 0));
  }
  const msg = entry.msg === undefined ? "" : typeof entry.msg === "string" ? entry.msg : JSON.stringify(entry.msg);
  return `${escapeControls(time)} ${escapeControls(level)} ${escapeControls(msg)}${fields.length ? " " + fields.join(" ") : ""}\n`;
}

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators (some viewers break lines there).
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const CONTROLS_TEST = new RegExp(CONTROLS.source);

/**
 * A message can hold text from outside (a job name, a path, SUDO_USER): written raw, a "\n"
 * in it would start a forged line (`… ERROR …`) that `tail -f` and grep take for the daemon's
 * own, and an escape sequence would drive the operator's terminal. Escaped as JSON escapes them.
 */
function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** A JSON log line for a message the sink writes itself (the same shape pino writes). */
export function sinkLine(level: "info" | "warn", msg: string): string {
  return `${JSON.stringify({ level: level === "info" ? 30 : 40, time: new Date().toISOString(), msg })}\n`;
}

function fieldsOf(name: string, v: unknown, depth: number): string[] {
  const key = escapeControls(name); // keys may be data too (a job's name as a key)
  if (isError(v)) return [`${key}=${quote(v.code ? `${v.code}: ${v.message}` : v.message)}`];
  if (Array.isArray(v)) {
    if (v.length === 0) return [`${key}=[]`];
    if (v.every(isScalar)) return [`${key}=${v.map((x) => quote(scalarText(x), ",")).join(",")}`];
    if (depth >= MAX_DEPTH) return [`${key}=${quote(JSON.stringify(v))}`];
    return v.flatMap((x, i) => fieldsOf(`${key}.${i}`, x, depth + 1));
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return [`${key}={}`];
    if (depth >= MAX_DEPTH) return [`${key}=${quote(JSON.stringify(v))}`];
    return entries.flatMap(([k, x]) => fieldsOf(`${key}.${k}`, x, depth + 1));
  }
  if (typeof v === "number" && isTimeKey(key) && v > 1e12 && v < 1e13) return [`${key}=${new Date(v).toISOString()}`];
  return [`${key}=${quote(scalarText(v))}`];
}

/** Epoch milliseconds under these names read as times (`since=2026-11-30T23:29:12.587Z`), as the line's own time does. */
function isTimeKey(key: string): boolean {
  const name = key.slice(key.lastIndexOf(".") + 1);
  return /^(since|slot|until|at|earliest)$|At$|Slot$|Until$/.test(name);
}

function isError(v: unknown): v is { message: string; code?: string } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && typeof (v as { message?: unknown }).message === "string";
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== "object";
}

function scalarText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
}

/**
 * Quoted (as JSON) only when the value would otherwise run into the next field or item, or holds
 * a control character (JSON escapes those; an unquoted one could forge a line or drive a terminal).
 */
function quote(s: string, extra = ""): string {
  const needs = new RegExp(`[\\s"=${extra}]`).test(s) || s === "" || CONTROLS_TEST.test(s);
  return needs ? escapeControls(JSON.stringify(s)) : s;
}
