import type { Variables } from "./variables.js";

/**
 * `${NAME}` and `${NAME:-default}` in string values take their value from the environment (and
 * the env_file), so secrets never need to be written in the file. A default may itself hold a
 * reference, as in a shell: `${A:-${B:-x}}`. `$${` writes a literal `${`. It runs on the parsed
 * YAML's strings, never on raw text, so a value can not inject YAML structure.
 */

/** What interpolation found wrong, by kind: operational commands treat a missing secret leniently. */
export interface Interpolation {
  /** `path: NAME is not set …` or `… is set but empty …`. */
  missing: { at: string; text: string }[];
  /** `path: "${1x}" is not a valid reference …`: a mistake in the file itself. */
  invalid: { at: string; text: string }[];
  /** Paths whose value is incomplete: checks of those values would only repeat the problem. */
  failedPaths: Set<string>;
  /**
   * Every `${NAME}` met, where, and the value it gave (null: none): the variables the config uses
   * for its own secrets are hidden from jobs, and the values are redacted from job listings.
   */
  used: { at: string; name: string; value: string | null }[];
}

// `${A:-${A:-${A:-…` a thousand deep is an attack on the parser's stack, not a config.
const MAX_NESTING = 8;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

export function newInterpolation(): Interpolation {
  return { missing: [], invalid: [], failedPaths: new Set(), used: [] };
}

export function interpolateTree(value: unknown, vars: Variables, found: Interpolation, path: string[] = []): unknown {
  if (typeof value === "string") return interpolateString(value, vars, found, path.join(".") || "(top level)");
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, vars, found, [...path, String(i)]));
  if (value && typeof value === "object") {
    // Keys are the user's (job names, env names): a key "__proto__" must stay a key, never set
    // the prototype (with `out[k] = v` that job would vanish without a word).
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, interpolateTree(v, vars, found, [...path, k]));
    return out;
  }
  return value;
}

export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function interpolateString(text: string, vars: Variables, found: Interpolation, at: string): string {
  if (!text.includes("${")) return text;
  const local: Interpolation = newInterpolation();
  const result = new Scanner(text, vars, local, at).expand(0, false, 0);
  for (const p of local.missing) found.missing.push(p);
  for (const p of local.invalid) found.invalid.push(p);
  for (const u of local.used) found.used.push(u);
  if (local.missing.length > 0 || local.invalid.length > 0) found.failedPaths.add(at);
  return result.value;
}

class Scanner {
  constructor(
    private readonly text: string,
    private readonly vars: Variables,
    private readonly found: Interpolation,
    private readonly at: string,
  ) {}

  /** Expands from `pos` to the end, or (inside a default) to its closing `}`, which `closed` reports. */
  expand(pos: number, inDefault: boolean, depth: number): { value: string; end: number; closed: boolean } {
    let value = "";
    const t = this.text;
    while (pos < t.length) {
      if (t.startsWith("$${", pos)) {
        value += "${";
        pos += 3;
      } else if (t.startsWith("${", pos)) {
        const ref = this.reference(pos, depth);
        value += ref.value;
        pos = ref.end;
      } else if (inDefault && t[pos] === "}") {
        return { value, end: pos + 1, closed: true };
      } else {
        value += t[pos];
        pos++;
      }
    }
    return { value, end: pos, closed: false };
  }

  /** `${NAME}` or `${NAME:-default}` starting at `start`. */
  private reference(start: number, depth: number): { value: string; end: number } {
    const t = this.text;
    NAME.lastIndex = start + 2;
    const name = NAME.exec(t)?.[0];
    const after = start + 2 + (name?.length ?? 0);
    if (name !== undefined && t[after] === "}") return { value: this.lookup(name), end: after + 1 };
    if (name !== undefined && t.startsWith(":-", after)) {
      if (depth >= MAX_NESTING) return this.invalid(start, `nests references more than ${MAX_NESTING} deep`);
      // The default is expanded on its own record: its problems count only if it is used.
      const own: Interpolation = newInterpolation();
      const fallback = new Scanner(t, this.vars, own, this.at).expand(after + 2, true, depth + 1);
      if (!fallback.closed) return this.invalid(start, "is not closed; add the missing }");
      const found = this.vars.find(name);
      // A name in an unused default counts as used too: `${SLACK_URL:-${OLD_SLACK_URL}}` names two secrets.
      this.found.used.push({ at: this.at, name, value: found && "value" in found ? found.value : null }, ...own.used);
      if (found && "value" in found) return { value: found.value, end: fallback.end };
      this.found.missing.push(...own.missing);
      this.found.invalid.push(...own.invalid);
      return { value: fallback.value, end: fallback.end };
    }
    return this.invalid(start, "is not a valid reference; write ${NAME} or ${NAME:-default}");
  }

  private lookup(name: string): string {
    const found = this.vars.find(name);
    this.found.used.push({ at: this.at, name, value: found && "value" in found ? found.value : null });
    if (found && "value" in found) return found.value;
    const text = found
      ? `environment variable ${name} is set but empty (in ${found.emptyIn}); give it a value, or a default with \${${name}:-value}`
      : `environment variable ${name} is not set${this.vars.whereLooked()}; set it, or give a default with \${${name}:-value}`;
    this.found.missing.push({ at: this.at, text });
    return "";
  }

  /** Records a malformed reference and skips to its `}` (or the end). */
  private invalid(start: number, why: string): { value: string; end: number } {
    const close = this.text.indexOf("}", start);
    const end = close === -1 ? this.text.length : close + 1;
    const shown = this.text.slice(start, Math.min(end, start + 60)) + (end > start + 60 ? "…" : "");
    this.found.invalid.push({ at: this.at, text: `"${shown}" ${why}` });
    return { value: this.text.slice(start, end), end };
  }
}
