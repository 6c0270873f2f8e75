/**
 * `${NAME}` and `${NAME:-default}` in string values take their value from the environment, so
 * secrets never need to be written in the file. `$${` writes a literal `${`. It runs on the
 * parsed YAML's strings, never on raw text, so a value can not inject YAML structure.
 */
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?/g;

export function interpolateTree(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: string[],
  path: string[] = [],
): unknown {
  if (typeof value === "string") return interpolateString(value, env, problems, path.join("."));
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, env, problems, [...path, String(i)]));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateTree(v, env, problems, [...path, k]);
    return out;
  }
  return value;
}

export function interpolateString(text: string, env: NodeJS.ProcessEnv, problems: string[], where: string): string {
  return text.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === "$${") return "${";
    if (name === undefined) {
      problems.push(`${where}: "${match}" is not a valid reference; write \${NAME} or \${NAME:-default}`);
      return match;
    }
    const found = env[name];
    if (found !== undefined && found !== "") return found;
    if (fallback !== undefined) return fallback;
    problems.push(`${where}: environment variable ${name} is not set; set it, or give a default with \${${name}:-value}`);
    return "";
  });
}
