import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { BASE_CONFIG, project } from "../helpers/cli.js";

const CONFIG = `${BASE_CONFIG}jobs:\n  a: { every: 1h, shell: "true" }\n`;

/** Runs of job `a` claimed by each of these instances (as daemons on these hosts would). */
async function runsBy(dir: string, instances: { id: string; host: string }[]): Promise<void> {
  const store = SqliteStore.open(join(dir, "data/jobclock.db"));
  try {
    const now = Date.now();
    for (const i of instances) {
      await store.registerInstance({ id: i.id, host: i.host, pid: 1, version: "t", startedAt: now, lastSeen: now, stoppedAt: null });
      const req = (await store.requestTrigger("a", now))!;
      const job = (await store.getJob("a"))!;
      await store.claimSlots([{ job: "a", specHash: job.specHash, instanceId: i.id, source: { kind: "trigger", triggerId: req.id }, slot: now, trigger: "manual", missed: null, overlap: "allow", waitIfBusy: false, now }]);
    }
  } finally {
    await store.close();
  }
}

describe("jobclock runs", () => {
  it("shows which instance ran each run once several instances share the store, and not before", async () => {
    const alone = project(CONFIG);
    expect((await alone.run(["reload"])).code).toBe(0);
    await runsBy(alone.dir, [{ id: "web1-10-aaaa", host: "web1" }]);
    const one = await alone.run(["runs"]);
    expect(one.stdout.split("\n")[0]).not.toMatch(/INSTANCE/);

    const shared = project(CONFIG);
    expect((await shared.run(["reload"])).code).toBe(0);
    await runsBy(shared.dir, [{ id: "web1-10-aaaa", host: "web1" }, { id: "web2-20-bbbb", host: "web2" }]);
    const two = await shared.run(["runs"]);
    expect(two.stdout.split("\n")[0]).toMatch(/TRY\s+INSTANCE\s+RESULT/);
    expect(two.stdout).toMatch(/manual .* web2-20-bbbb/);
    expect(two.stdout).toMatch(/manual .* web1-10-aaaa/);
  });
});
