import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { JOB_DEFAULTS, type JobSpec } from "../../src/job-spec.js";

/** A resolved JobSpec with defaults, for tests that skip the config layer. */
export function makeSpec(name: string, overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name,
    schedule: { kind: "every", everyMs: 60_000 },
    action: { kind: "handler" },
    cwd: null,
    env: {},
    timeoutMs: JOB_DEFAULTS.timeoutMs,
    killGraceMs: 1_000,
    overlap: "skip",
    catchup: "once",
    catchupWindowMs: JOB_DEFAULTS.catchupWindowMs,
    jitterMs: 0,
    runOnStart: false,
    retries: { max: 0, delayMs: 1_000 },
    graceMs: JOB_DEFAULTS.graceMs,
    remindMs: null,
    paused: false,
    description: null,
    tags: [],
    ...overrides,
  };
}

const dirs: string[] = [];

/** A temp folder removed after the current test. */
export function tempDir(prefix = "jobclock-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
