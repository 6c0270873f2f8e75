import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../src/scheduler.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { makeSpec } from "../helpers/spec.js";
import { tempDir } from "../helpers/spec.js";

describe("the library's Scheduler", () => {
  it("with no job() and no setJobs(), follows the store's jobs instead of retiring them all", async () => {
    const path = join(tempDir(), "shared.db");
    const other = SqliteStore.open(path); // the daemon's config, applied earlier
    await other.applyJobs([makeSpec("a", { action: { kind: "shell", script: "true" } }), makeSpec("b", { action: { kind: "shell", script: "true" } })], Date.now());
    await other.close();
    const clock = createScheduler({ store: `sqlite:${path}` }); // e.g. a web app that only triggers jobs
    const { applied } = await clock.start();
    try {
      expect(applied).toBeNull();
      expect((await clock.jobs()).map((j) => j.name)).toEqual(["a", "b"]);
    } finally {
      await clock.stop({ timeout: 0 });
    }
  });

  it("setJobs([]) before start still means it: no jobs", async () => {
    const path = join(tempDir(), "empty.db");
    const other = SqliteStore.open(path);
    await other.applyJobs([makeSpec("a", { action: { kind: "shell", script: "true" } })], Date.now());
    await other.close();
    const clock = createScheduler({ store: `sqlite:${path}` });
    await clock.setJobs([]);
    const { applied } = await clock.start();
    try {
      expect(applied).toMatchObject({ retired: ["a"] });
    } finally {
      await clock.stop({ timeout: 0 });
    }
  });

  it("job() and setJobs() before start() are one job set (setJobs used to drop the job() jobs)", async () => {
    const path = join(tempDir(), "both.db");
    const clock = createScheduler({ store: `sqlite:${path}` });
    clock.job("handled", { every: "1h" }, () => {});
    await clock.setJobs([makeSpec("configured", { action: { kind: "shell", script: "true" } })]);
    const { applied } = await clock.start();
    try {
      expect(applied).toMatchObject({ added: ["handled", "configured"] });
      expect((await clock.jobs()).map((j) => j.name)).toEqual(["configured", "handled"]);
    } finally {
      await clock.stop({ timeout: 0 });
    }
    const twice = createScheduler({ store: `sqlite:${join(tempDir(), "twice.db")}` });
    twice.job("same", { every: "1h" }, () => {});
    await twice.setJobs([makeSpec("same")]);
    await expect(twice.start()).rejects.toThrow(/jobs\.same: defined by job\(\) and by setJobs\(\); job names are unique/);
  });

  it("drain() lets the running run finish and keeps the store open until close()", async () => {
    const path = join(tempDir(), "drain.db");
    let release!: () => void;
    const clock = createScheduler({ store: `sqlite:${path}` });
    clock.job("slow", { every: "1h", runOnStart: true }, () => new Promise<void>((r) => (release = r)));
    const started = new Promise((r) => clock.on("run:started", r));
    await clock.start();
    await started;
    expect(clock.activeRuns()).toHaveLength(1);
    const drained = clock.drain({ timeout: "10s" });
    release();
    await drained;
    expect((await clock.runs({ job: "slow" }))[0]!.status).toBe("succeeded"); // the store still answers
    await clock.close();
    await expect(clock.runs()).rejects.toThrow();
  });
});
