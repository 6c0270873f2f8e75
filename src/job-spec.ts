import { createHash } from "node:crypto";
import type { CatchupPolicy } from "./schedule/catchup.js";
import { stableJson } from "./stable-json.js";

export type OverlapPolicy = "skip" | "queue" | "allow" | "replace";

export type JobAction =
  | { kind: "command"; argv: string[] }
  | { kind: "shell"; script: string }
  | { kind: "module"; path: string }
  /** An in-process function registered through the library (`clock.job(name, opts, fn)`). */
  | { kind: "handler" };

export type JobScheduleSpec =
  | { kind: "every"; everyMs: number }
  | { kind: "cron"; expression: string; timezone: string };

/** A job fully resolved: every default applied, every duration in milliseconds. */
export interface JobSpec {
  name: string;
  schedule: JobScheduleSpec;
  action: JobAction;
  cwd: string | null;
  env: Record<string, string>;
  /** null: no timeout. */
  timeoutMs: number | null;
  killGraceMs: number;
  overlap: OverlapPolicy;
  catchup: CatchupPolicy;
  catchupWindowMs: number;
  jitterMs: number;
  runOnStart: boolean;
  retries: { max: number; delayMs: number };
  graceMs: number;
  /** Re-notify while an incident stays open; null: once per incident. */
  remindMs: number | null;
  paused: boolean;
  description: string | null;
  tags: string[];
}

export const JOB_DEFAULTS = {
  timezone: "UTC",
  timeoutMs: 3_600_000,
  killGraceMs: 10_000,
  overlap: "skip" as OverlapPolicy,
  catchup: "once" as CatchupPolicy,
  catchupWindowMs: 3_600_000,
  jitterMs: 0,
  runOnStart: false,
  retries: { max: 0, delayMs: 30_000 },
  graceMs: 300_000,
} as const;

/** Job names appear in CLI arguments, log lines and URLs, so keep them plain and short. */
export const JOB_NAME_MAX_LENGTH = 128;
export const JOB_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const JOB_NAME_RULE = `letters, digits, ".", "_" and "-", starting with a letter or digit, at most ${JOB_NAME_MAX_LENGTH} characters`;

/** The text of spec parts shared by many jobs (a resolved spec is never changed in place). */
const SHARED_PARTS = new WeakMap<object, string>();

/**
 * A spec's stored form and its fingerprint, from one serialization with sorted keys: the hash
 * says whether a definition changed, so it must not depend on the order its keys were built in
 * (see "Spec hashes" in docs/behaviour.md for the one-time change this made to stored hashes).
 */
export function specJson(spec: JobSpec): { json: string; hash: string } {
  const json = stableJson(spec, SHARED_PARTS);
  return { json, hash: fingerprint(json) };
}

/**
 * What decides the slots: a change here re-anchors the job; other edits keep its next slot.
 * Built field by field, in the order these hashes have always been written in: a caller's key
 * order cannot change it, and every hash already stored stays valid (a new one would re-anchor
 * every job, moving `every` slots, on the first apply after an upgrade).
 */
export function scheduleHash(spec: JobSpec): string {
  const s = spec.schedule;
  const schedule = s.kind === "every" ? { kind: s.kind, everyMs: s.everyMs } : { kind: s.kind, expression: s.expression, timezone: s.timezone };
  return fingerprint(JSON.stringify([schedule, spec.runOnStart]));
}

function fingerprint(text: string): string {
  return createHash("sha1").update(text).digest("hex").slice(0, 16);
}
