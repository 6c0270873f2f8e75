import type { z } from "zod";
import { describeInput, describeIssues, isMap, jobFields, topFields, unknownKeysProblem, type RawConfig, type RawJob } from "./schema.js";
import { setOwn } from "./interpolate.js";

export interface CheckedTree {
  /** The top-level keys that are valid; an invalid one is left out (its default applies). */
  raw: RawConfig;
  /** `defaults:` without its invalid keys, so each job is still checked against the rest. */
  defaults: RawJob;
  /** Jobs in file order, each still to be checked on its own. */
  jobs: [name: string, value: unknown][];
}

/**
 * Checks the top level, `defaults` and the list of jobs independently, so a config with a
 * problem in each lists them all in one pass (so a user fixes everything after one run), instead of the first
 * failing section hiding the rest.
 */
export function checkTree(tree: Record<string, unknown>, problems: string[]): CheckedTree {
  problems.push(...nulBytes(tree, []));
  const raw: Record<string, unknown> = {};
  const unknown = Object.keys(tree).filter((k) => !Object.hasOwn(topFields, k));
  if (unknown.length > 0) problems.push(unknownKeysProblem([], unknown));
  for (const [key, schema] of Object.entries(topFields) as [string, z.ZodType][]) {
    if (key === "defaults" || key === "jobs" || !Object.hasOwn(tree, key)) continue;
    const parsed = schema.safeParse(tree[key], { reportInput: true });
    if (parsed.success) raw[key] = parsed.data;
    else problems.push(...describeIssues(parsed.error, [key]));
  }
  return {
    raw: raw as RawConfig,
    defaults: checkDefaults(Object.hasOwn(tree, "defaults") ? tree.defaults : undefined, problems),
    jobs: listJobs(Object.hasOwn(tree, "jobs") ? tree.jobs : undefined, problems),
  };
}

function checkDefaults(value: unknown, problems: string[]): RawJob {
  if (value === undefined || value === null) return {};
  if (!isMap(value)) {
    problems.push(`defaults: expected a map of job keys (timezone, timeout, overlap, …), got ${describeInput(value)}`);
    return {};
  }
  const unknown = Object.keys(value).filter((k) => !Object.hasOwn(jobFields, k));
  if (unknown.length > 0) problems.push(unknownKeysProblem(["defaults"], unknown));
  const kept: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(jobFields) as [string, z.ZodType][]) {
    if (!Object.hasOwn(value, key)) continue;
    const parsed = schema.safeParse(value[key], { reportInput: true });
    if (parsed.success) setOwn(kept, key, parsed.data);
    else problems.push(...describeIssues(parsed.error, ["defaults", key]));
  }
  return kept as RawJob;
}

function listJobs(value: unknown, problems: string[]): [string, unknown][] {
  if (value === undefined || value === null) return [];
  if (!isMap(value)) {
    problems.push(`jobs: expected a map of job name to job (e.g. sync-orders: { every: 5m, command: … }), got ${describeInput(value)}`);
    return [];
  }
  return Object.entries(value);
}

/**
 * A NUL byte (YAML's "\0", or one an env_file variable brought in) can be in no argument, path,
 * or setting: every run of a job would fail, with Node's message quoting the whole value. `env`
 * values have their own check (any control character), so they are not reported twice.
 */
function nulBytes(value: unknown, at: string[]): string[] {
  if (typeof value === "string") {
    return value.includes("\0") ? [`${at.join(".") || "(top level)"}: contains a NUL byte (U+0000), which no command, path or setting can hold; remove it`] : [];
  }
  if (value === null || typeof value !== "object") return [];
  if (at.length >= 1 && at[at.length - 1] === "env" && (at[0] === "defaults" || at[0] === "jobs")) return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return entries.flatMap(([k, v]) => nulBytes(v, [...at, k]));
}
