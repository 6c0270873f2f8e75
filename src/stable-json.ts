/**
 * JSON with every object's keys in sorted order, so equal values give equal text whatever order
 * their keys were written in (a spec built by hand, read back from a database, or merged from
 * defaults). Otherwise as JSON.stringify: undefined properties are left out, undefined in an
 * array is null. For plain data (no toJSON, Map or class instances), which is what specs are.
 */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : stableJson(v))).join(",")}]`;
  const record = value as Record<string, unknown>;
  const fields: string[] = [];
  for (const key of Object.keys(record).sort()) {
    if (record[key] !== undefined) fields.push(`${JSON.stringify(key)}:${stableJson(record[key])}`);
  }
  return `{${fields.join(",")}}`;
}
