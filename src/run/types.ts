import type { Clock } from "../clock.js";
import type { JobSpec } from "../job-spec.js";
import type { Cancellation } from "./cancellation.js";

export type AttemptStatus = "succeeded" | "failed" | "timed_out" | "cancelled";

export interface AttemptRequest {
  runId: number;
  spec: JobSpec;
  slot: number;
  attempt: number;
  /** Cancelled when the run must stop (shutdown, `replace`); the runner stops the work. */
  cancel: Cancellation;
  clock: Clock;
}

export interface AttemptResult {
  status: AttemptStatus;
  exitCode: number | null;
  signal: string | null;
  error: string | null;
  stdout: string;
  stderr: string;
}

/** What a module's default export or a library handler receives. */
export interface JobContext {
  job: string;
  runId: number;
  slot: Date;
  attempt: number;
  signal: AbortSignal;
  log: JobLog;
}

export interface JobLog {
  (...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export type JobHandler = (ctx: JobContext) => unknown | Promise<unknown>;

export const OUTPUT_LIMIT_BYTES = 64 * 1024;

/** Why a run is being cut short; runners report "cancelled" with this text. */
export class CancelReason extends Error {}
