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
});
