import { createHash } from "node:crypto";
import type { CatchupPolicy } from "./schedule/catchup.js";

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

/**
 * A spec's stored form and its fingerprint. Specs are built by resolveJob with a fixed key
 * order (and sorted env keys), so plain JSON is canonical; hashing it once serves both.
 */
export function specJson(spec: JobSpec): { json: string; hash: string } {
  const json = JSON.stringify(spec);
  return { json, hash: fingerprint(json) };
}

/** What decides the slots: a change here re-anchors the job; other edits keep its next slot. */
export function scheduleHash(spec: JobSpec): string {
  return fingerprint(JSON.stringify([spec.schedule, spec.runOnStart]));
}

function fingerprint(text: string): string {
  return createHash("sha1").update(text).digest("hex").slice(0, 16);
}
