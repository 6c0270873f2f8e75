import { beforeEach, describe, expect, it } from "vitest";
import type { ClaimOutcome, SlotClaim, Store } from "../../src/store/types.js";
import { makeSpec } from "../helpers/spec.js";
import { enqueueNotification, listDeliveries } from "../helpers/outbox.js";

const T0 = Date.UTC(2026, 0, 1);

function claim(store: Store, over: Partial<SlotClaim> & { job: string; specHash: string }): Promise<SlotClaim> {
  return store.getJob(over.job).then((j) => ({
    instanceId: "i1",
    source: { kind: "slot", expected: j!.nextSlot!, next: j!.nextSlot! + 60_000 },
    slot: j!.nextSlot!,
    trigger: "schedule",
    missed: null,
    overlap: "skip",
    waitIfBusy: false,
    now: j!.nextSlot!,
    ...over,
  }) as SlotClaim);
}

const ok = (runId: number, status: "succeeded" | "failed" = "succeeded", at = T0 + 70_000) => ({
  runId, status, attempt: 1, finishedAt: at, exitCode: status === "succeeded" ? 0 : 1, signal: null,
  error: status === "failed" ? "exit 1" : null, output: { stdout: "out", stderr: "err" },
});

/**
 * The behaviour every Store must have. The SQLite store runs it now; the PostgreSQL store runs
 * the same suite, so the engine can rely on one contract.
 */
export function describeStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`${name}: Store contract`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      return () => store.close();
    });

    it("applies jobs: adds, updates keeping history, retires removed ones, never deletes", async () => {
      const a = makeSpec("a");
      const b = makeSpec("b");
      expect(await store.applyJobs([a, b], T0)).toMatchObject({ added: ["a", "b"], retired: [] });
      const job = (await store.getJob("a"))!;
      expect(job.nextSlot).toBe(T0 + 60_000); // first slot one interval after it is applied
      expect(job.anchor).toBe(T0);

      const [c] = await store.claimSlots([await claim(store, { job: "a", specHash: job.specHash })]);
      expect(c!.kind).toBe("started");

      const changed = { ...a, timeoutMs: 5_000 };
      const report = await store.applyJobs([changed], T0 + 1_000);
      expect(report).toMatchObject({ updated: ["a"], retired: ["b"], added: [] });
      const after = (await store.getJob("a"))!;
      expect(after.spec.timeoutMs).toBe(5_000);
      expect(after.nextSlot).toBe(T0 + 120_000); // not re-anchored: the schedule did not change
      expect(await store.listRuns({ job: "a" })).toHaveLength(1); // history kept
      expect((await store.getJob("b"))!.retiredAt).toBe(T0 + 1_000);
      expect((await store.listJobs()).map((j) => j.name)).toEqual(["a"]);
      expect((await store.listJobs({ includeRetired: true })).map((j) => j.name)).toEqual(["a", "b"]);
    });

    it("re-anchors a job whose schedule changed", async () => {
      await store.applyJobs([makeSpec("a")], T0);
      await store.applyJobs([makeSpec("a", { schedule: { kind: "every", everyMs: 10_000 } })], T0 + 5_000);
      const job = (await store.getJob("a"))!;
      expect(job.anchor).toBe(T0 + 5_000);
      expect(job.nextSlot).toBe(T0 + 15_000);
    });

    it("keeps an operator's pause across a reload that does not change `paused`", async () => {
      await store.applyJobs([makeSpec("a")], T0);
      expect(await store.setPaused("a", true, T0)).toBe(true);
      await store.applyJobs([makeSpec("a", { description: "edited" })], T0 + 1);
      expect((await store.getJob("a"))!.paused).toBe(true);
      await store.applyJobs([makeSpec("a", { description: "edited", paused: true })], T0 + 2);
      await store.applyJobs([makeSpec("a", { description: "edited", paused: false })], T0 + 3);
      expect((await store.getJob("a"))!.paused).toBe(false);
      expect(await store.setPaused("nope", true, T0)).toBe(false);
    });

    it("lets exactly one of two competing claims for a slot win", async () => {
      await store.applyJobs([makeSpec("a")], T0);
      const job = (await store.getJob("a"))!;
      const c1 = await claim(store, { job: "a", specHash: job.specHash, instanceId: "i1" });
      const c2 = { ...c1, instanceId: "i2" };
      const outcomes = [...(await store.claimSlots([c1])), ...(await store.claimSlots([c2]))];
      expect(outcomes.map((o) => o.kind).sort()).toEqual(["lost", "started"]);
      expect(await store.listRuns({ job: "a" })).toHaveLength(1);
    });

    it("refuses a claim made with a stale definition", async () => {
      await store.applyJobs([makeSpec("a")], T0);
      const job = (await store.getJob("a"))!;
      const [o] = await store.claimSlots([await claim(store, { job: "a", specHash: "stale" })]);
      expect(o!.kind).toBe("lost");
      expect((await store.getJob("a"))!.nextSlot).toBe(job.nextSlot);
    });

    it("applies overlap policies against runs in the store", async () => {
      const specs = (["skip", "queue", "allow", "replace"] as const).map((p) => makeSpec(p, { overlap: p }));
      await store.applyJobs(specs, T0);
      const first = async (name: string) => {
        const j = (await store.getJob(name))!;
        return (await store.claimSlots([await claim(store, { job: name, specHash: j.specHash, overlap: j.spec.overlap })]))[0]!;
      };
      for (const s of specs) expect((await first(s.name)).kind).toBe("started");
      const second: Record<string, string> = {};
      for (const s of specs) second[s.name] = (await first(s.name)).kind;
      expect(second).toEqual({ skip: "skipped", queue: "queued", allow: "started", replace: "started" });

      const skipped = await store.listRuns({ job: "skip", status: "skipped" });
      expect(skipped[0]!.error).toMatch(/still running/);
      expect((await store.getJob("queue"))!.queuedSlot).toBe(T0 + 120_000);
      expect((await first("queue")).kind).toBe("skipped"); // at most one waits
      expect((await store.getJob("allow"))!.runningCount).toBe(2);
    });

    it("tells replace which runs to cancel", async () => {
      await store.applyJobs([makeSpec("r", { overlap: "replace" })], T0);
      const j = (await store.getJob("r"))!;
      const [a] = await store.claimSlots([await claim(store, { job: "r", specHash: j.specHash, overlap: "replace" })]);
      const [b] = await store.claimSlots([await claim(store, { job: "r", specHash: j.specHash, overlap: "replace" })]);
      expect(b).toMatchObject({ kind: "started", replacing: [(a as { run: { id: number } }).run.id] });
    });

    it("hands a queued slot back when the job becomes idle, once", async () => {
      await store.applyJobs([makeSpec("q", { overlap: "queue" })], T0);
      const j = (await store.getJob("q"))!;
      const [a] = await store.claimSlots([await claim(store, { job: "q", specHash: j.specHash, overlap: "queue" })]);
      await store.claimSlots([await claim(store, { job: "q", specHash: j.specHash, overlap: "queue" })]);
      const runId = (a as { run: { id: number } }).run.id;
      const [fin] = await store.finishRuns([ok(runId)]);
      expect(fin).toEqual({ runId, job: "q", queuedSlot: T0 + 120_000 });
      const queuedClaim: SlotClaim = {
        job: "q", specHash: j.specHash, instanceId: "i1", source: { kind: "queued", expected: T0 + 120_000 },
        slot: T0 + 120_000, trigger: "schedule", missed: null, overlap: "queue", waitIfBusy: false, now: T0 + 130_000,
      };
      expect((await store.claimSlots([queuedClaim]))[0]!.kind).toBe("started");
      expect((await store.claimSlots([{ ...queuedClaim, instanceId: "i2" }]))[0]!.kind).toBe("lost");
    });

    it("waits instead of claiming when asked to (catch-up all) and a run is going", async () => {
      await store.applyJobs([makeSpec("w")], T0);
      const j = (await store.getJob("w"))!;
      await store.claimSlots([await claim(store, { job: "w", specHash: j.specHash })]);
      const [o] = await store.claimSlots([await claim(store, { job: "w", specHash: j.specHash, waitIfBusy: true })]);
      expect(o!.kind).toBe("busy");
      expect((await store.getJob("w"))!.nextSlot).toBe(T0 + 120_000); // not consumed
    });

    it("records missed slots as one row with a count", async () => {
      await store.applyJobs([makeSpec("m")], T0);
      const j = (await store.getJob("m"))!;
      const c = await claim(store, {
        job: "m", specHash: j.specHash, slot: null, source: { kind: "slot", expected: j.nextSlot!, next: T0 + 11 * 60_000 },
        missed: { count: 10, first: T0 + 60_000, last: T0 + 600_000, atLeast: false },
      });
      const [o] = await store.claimSlots([c]);
      expect(o).toMatchObject({
        kind: "advanced",
        missedRun: { status: "missed", missedCount: 10, missedUntil: T0 + 600_000, error: "10 slots missed from 2026-01-01T00:01:00.000Z to 2026-01-01T00:10:00.000Z" },
      });
      const one = await claim(store, {
        job: "m", specHash: j.specHash, slot: null, source: { kind: "slot", expected: T0 + 11 * 60_000, next: T0 + 12 * 60_000 },
        missed: { count: 1, first: T0 + 11 * 60_000, last: T0 + 11 * 60_000, atLeast: false },
      });
      expect((await store.claimSlots([one]))[0]).toMatchObject({ missedRun: { error: "1 slot missed at 2026-01-01T00:11:00.000Z" } });
    });

    it("records a finished run with its output, status and the job's last result", async () => {
      await store.applyJobs([makeSpec("f")], T0);
      const j = (await store.getJob("f"))!;
      const [o] = await store.claimSlots([await claim(store, { job: "f", specHash: j.specHash })]);
      const runId = (o as { run: { id: number } }).run.id;
      await store.finishRuns([ok(runId, "failed")]);
      const run = (await store.getRun(runId))!;
      expect(run).toMatchObject({ status: "failed", exitCode: 1, finishedAt: T0 + 70_000, error: "exit 1" });
      expect(await store.getRunOutput(runId)).toEqual({ stdout: "out", stderr: "err" });
      expect((await store.getJob("f"))!).toMatchObject({ lastStatus: "failed", lastRunId: runId, runningCount: 0 });
    });

    it("claims a manual trigger once, and lists pending triggers as changes", async () => {
      await store.applyJobs([makeSpec("t")], T0);
      const j = (await store.getJob("t"))!;
      const req = (await store.requestTrigger("t", T0 + 5))!;
      expect(await store.requestTrigger("missing", T0)).toBeNull();
      const changes = await store.changesSince(0);
      expect(changes.triggers).toEqual([{ id: req.id, job: "t", requestedAt: T0 + 5 }]);
      const c: SlotClaim = {
        job: "t", specHash: j.specHash, instanceId: "i1", source: { kind: "trigger", triggerId: req.id }, slot: T0 + 5,
        trigger: "manual", missed: null, overlap: "skip", waitIfBusy: false, now: T0 + 6,
      };
      expect((await store.claimSlots([c]))[0]!.kind).toBe("started");
      expect((await store.claimSlots([{ ...c, instanceId: "i2" }]))[0]!.kind).toBe("lost");
      expect((await store.changesSince(changes.rev)).triggers).toEqual([]);
    });

    it("reports changed jobs since a revision", async () => {
      await store.applyJobs([makeSpec("a"), makeSpec("b")], T0);
      const { rev } = await store.changesSince(0);
      await store.setPaused("b", true, T0 + 1);
      const changes = await store.changesSince(rev);
      expect(changes.jobs.map((j) => [j.name, j.paused])).toEqual([["b", true]]);
    });

    it("abandons runs whose heartbeat is stale or whose instance is dead, and frees the job", async () => {
      await store.applyJobs([makeSpec("x", { overlap: "skip" })], T0);
      const j = (await store.getJob("x"))!;
      await store.registerInstance({ id: "dead", host: "h", pid: 1, version: "t", startedAt: T0, lastSeen: T0, stoppedAt: null });
      const [o] = await store.claimSlots([await claim(store, { job: "x", specHash: j.specHash, instanceId: "dead" })]);
      const runId = (o as { run: { id: number } }).run.id;
      expect(await store.abandonRuns({ now: T0 + 61_000, staleBefore: T0 + 30_000 })).toEqual([]); // heartbeat at claim time T0+60s
      await store.heartbeat("dead", T0 + 65_000, [runId]);
      const abandoned = await store.abandonRuns({ now: T0 + 100_000, staleBefore: T0 + 70_000 });
      expect(abandoned.map((r) => [r.id, r.status])).toEqual([[runId, "abandoned"]]);
      expect((await store.getJob("x"))!).toMatchObject({ runningCount: 0, lastStatus: "abandoned" });
      // the job is free: the next slot starts instead of being skipped
      const [next] = await store.claimSlots([await claim(store, { job: "x", specHash: j.specHash })]);
      expect(next!.kind).toBe("started");
      const byInstance = await store.abandonRuns({ now: T0 + 200_000, instanceIds: ["i1"] });
      expect(byInstance).toHaveLength(1);
    });

    it("tells where jobs' schedules stand by name, so an instance sees which slots another claimed", async () => {
      await store.applyJobs([makeSpec("n1"), makeSpec("n2"), makeSpec("gone")], T0);
      const n1 = (await store.getJob("n1"))!;
      const n2 = (await store.getJob("n2"))!;
      await store.claimSlots([await claim(store, { job: "n1", specHash: n1.specHash })]);
      await store.applyJobs([makeSpec("n1"), makeSpec("n2")], T0 + 1); // "gone" is retired
      const rows = await store.nextSlots(["n1", "n2", "gone", "never-was"]);
      expect(rows.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
        { name: "n1", nextSlot: n1.nextSlot! + 60_000, specHash: n1.specHash },
        { name: "n2", nextSlot: n2.nextSlot!, specHash: n2.specHash },
      ]);
    });

    it("heartbeats only the runs the instance names, so a stray running row still goes stale", async () => {
      await store.applyJobs([makeSpec("h1"), makeSpec("h2")], T0);
      const ids: number[] = [];
      for (const name of ["h1", "h2"]) {
        const j = (await store.getJob(name))!;
        const [o] = await store.claimSlots([await claim(store, { job: name, specHash: j.specHash, instanceId: "me", now: T0 })]);
        ids.push((o as { run: { id: number } }).run.id);
      }
      await store.heartbeat("me", T0 + 40_000, [ids[0]!]);
      // An instance can find its own running runs (claims whose answer it lost) by their owner.
      expect((await store.listRuns({ status: "running", instanceId: "me" })).map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(await store.listRuns({ status: "running", instanceId: "someone-else" })).toEqual([]);
      const abandoned = await store.abandonRuns({ now: T0 + 50_000, staleBefore: T0 + 20_000 });
      expect(abandoned.map((r) => r.id)).toEqual([ids[1]]);
    });

    it("records instances", async () => {
      await store.registerInstance({ id: "i9", host: "h", pid: 42, version: "1", startedAt: T0, lastSeen: T0, stoppedAt: null });
      await store.heartbeat("i9", T0 + 5, []);
      await store.markInstanceStopped("i9", T0 + 9);
      const [instance, ...others] = await store.listInstances();
      expect(others).toEqual([]);
      expect(instance).toMatchObject({ id: "i9", host: "h", pid: 42, version: "1", startedAt: T0, lastSeen: T0 + 5, stoppedAt: T0 + 9 });
      // A store with its own clock reports how far ours is from it (T0 is years ago: far off).
      if (store.kind === "postgres") expect(instance!.clockSkewMs).toBeGreaterThan(1_000_000);
      else expect(instance!.clockSkewMs).toBeNull();
      expect(instance).toMatchObject({ supervisor: null, problems: [] });
    });

    it("records who supervises an instance, and the problems it reports (kept until replaced)", async () => {
      await store.registerInstance({ id: "s1", host: "h", pid: 7, version: "1", startedAt: T0, lastSeen: T0, stoppedAt: null, supervisor: "supervisord:jobclock" });
      await store.heartbeat("s1", T0 + 5, [], 0, ["log file /x: ENOSPC"]);
      await store.heartbeat("s1", T0 + 10, []); // no list given: unchanged
      expect((await store.listInstances())[0]).toMatchObject({ supervisor: "supervisord:jobclock", problems: ["log file /x: ENOSPC"], lastSeen: T0 + 10 });
      await store.heartbeat("s1", T0 + 15, [], 0, []);
      expect((await store.listInstances())[0]!.problems).toEqual([]);
    });

    it("prunes history beyond the retention, keeping whichever rule keeps more", async () => {
      await store.applyJobs([makeSpec("p", { overlap: "allow" })], T0);
      const j = (await store.getJob("p"))!;
      for (let i = 0; i < 8; i++) {
        const [o] = await store.claimSlots([await claim(store, { job: "p", specHash: j.specHash, overlap: "allow", now: T0 + i })]);
        await store.finishRuns([ok((o as { run: { id: number } }).run.id)]);
      }
      // All 8 are "old" (created before the cutoff); keep the newest 3.
      expect(await store.pruneRuns({ keepRuns: 3, keepMs: 1_000 }, T0 + 1_000_000, ["p"])).toBe(5);
      expect(await store.listRuns({ job: "p", limit: 100 })).toHaveLength(3);
      // Recent runs are kept even beyond keepRuns.
      expect(await store.pruneRuns({ keepRuns: 1, keepMs: 10_000_000 }, T0 + 1_000_000, ["p"])).toBe(0);
    });

    it("opens one incident per job: a second opener (another instance) loses", async () => {
      const notify = { kind: "opened" as const, payload: { job: "a" }, notifiers: ["slack:1", "webhook:2"] };
      const first = await store.openIncident({ job: "a", state: "delayed", since: T0, now: T0 + 1, notify });
      expect(first).toMatchObject({ job: "a", state: "delayed", since: T0, closedAt: null });
      expect(await store.openIncident({ job: "a", state: "delayed", since: T0, now: T0 + 2, notify })).toBeNull();
      expect(await listDeliveries(store)).toHaveLength(2); // one notification, one delivery per notifier
      expect(await store.listOpenIncidents()).toHaveLength(1);
    });

    it("changes, reminds and closes an incident by compare-and-set, writing one notification each", async () => {
      const n = (kind: "changed" | "reminder" | "recovered") => ({ kind, payload: { kind }, notifiers: ["slack:1"] });
      const inc = (await store.openIncident({ job: "b", state: "delayed", since: T0, now: T0, notify: { kind: "opened", payload: {}, notifiers: ["slack:1"] } }))!;
      expect(await store.changeIncident({ id: inc.id, from: "delayed", to: "failing", since: T0 + 5, now: T0 + 5, notify: n("changed") })).toBe(true);
      expect(await store.changeIncident({ id: inc.id, from: "delayed", to: "failing", since: T0 + 5, now: T0 + 6, notify: n("changed") })).toBe(false);
      expect(await store.remindIncident({ id: inc.id, lastNotifiedAt: T0 + 5, now: T0 + 100, notify: n("reminder") })).toBe(true);
      expect(await store.remindIncident({ id: inc.id, lastNotifiedAt: T0 + 5, now: T0 + 101, notify: n("reminder") })).toBe(false);
      expect(await store.closeIncident({ id: inc.id, now: T0 + 200, notify: n("recovered") })).toBe(true);
      expect(await store.closeIncident({ id: inc.id, now: T0 + 201, notify: n("recovered") })).toBe(false);
      expect((await listDeliveries(store)).map((d) => d.kind)).toEqual(["opened", "changed", "reminder", "recovered"]);
      expect(await store.listOpenIncidents()).toEqual([]);
      // a new incident can open after the old one closed
      expect(await store.openIncident({ job: "b", state: "failing", since: T0, now: T0 + 300, notify: n("changed") })).not.toBeNull();
    });

    it("leases due deliveries per notifier to one instance at a time; only the holder settles", async () => {
      await enqueueNotification(store, { now: T0, notify: { kind: "test", payload: { hello: 1 }, notifiers: ["slack:1", "webhook:2"] } });
      const claim = (instanceId: string, notifier: string, now: number, leaseMs = 60_000) =>
        store.claimDeliveries({ instanceId, notifier, now, leaseMs, limit: 10 });
      const slack = await claim("i1", "slack:1", T0);
      expect(slack.map((d) => [d.notifier, d.kind, d.payload])).toEqual([["slack:1", "test", { hello: 1 }]]);
      const hook = await claim("i1", "webhook:2", T0);
      expect(await claim("i2", "slack:1", T0 + 1)).toEqual([]); // leased
      expect(await store.settleDelivery(slack[0]!.id, "i2", { kind: "delivered" }, T0 + 2)).toBe(false); // not its lease
      expect(await store.settleDelivery(slack[0]!.id, "i1", { kind: "delivered" }, T0 + 2)).toBe(true);
      await store.settleDelivery(hook[0]!.id, "i1", { kind: "retry", at: T0 + 5_000, error: "HTTP 500" }, T0 + 2);
      expect(await claim("i2", "webhook:2", T0 + 4_999)).toEqual([]);
      const again = await claim("i2", "webhook:2", T0 + 5_000);
      expect(again.map((d) => [d.notifier, d.attempts])).toEqual([["webhook:2", 1]]);
      await store.settleDelivery(again[0]!.id, "i2", { kind: "failed", error: "gave up" }, T0 + 6_000);
      expect((await listDeliveries(store)).map((d) => [d.status, d.lastError])).toEqual([["delivered", null], ["failed", "gave up"]]);
      // an expired lease (its instance died mid-send) is claimable again
      await enqueueNotification(store, { now: T0, notify: { kind: "test", payload: {}, notifiers: ["x"] } });
      await claim("dead", "x", T0, 1_000);
      expect(await claim("i1", "x", T0 + 1_001, 1_000)).toHaveLength(1);
    });

    it("keeps the notifier list a config apply wrote", async () => {
      expect(await store.getNotifiers()).toEqual([]);
      await store.setNotifiers(["slack:1", "webhook:2"]);
      await store.setNotifiers(["slack:1"]);
      expect(await store.getNotifiers()).toEqual(["slack:1"]);
    });

    it("gives a job the status of the run that finished last, even if a newer one started (overlap allow)", async () => {
      await store.applyJobs([makeSpec("al", { overlap: "allow" })], T0);
      const j = (await store.getJob("al"))!;
      const [a] = await store.claimSlots([await claim(store, { job: "al", specHash: j.specHash, overlap: "allow" })]);
      const [b] = await store.claimSlots([await claim(store, { job: "al", specHash: j.specHash, overlap: "allow" })]);
      const idA = (a as { run: { id: number } }).run.id;
      const idB = (b as { run: { id: number } }).run.id;
      await store.finishRuns([ok(idA, "failed", T0 + 200_000)]); // the older run fails while the newer one runs
      expect((await store.getJob("al"))!).toMatchObject({ lastStatus: "failed", lastFinishedAt: T0 + 200_000 });
      await store.finishRuns([ok(idB, "succeeded", T0 + 210_000)]);
      expect((await store.getJob("al"))!).toMatchObject({ lastStatus: "succeeded" });
    });

    it("lists runs newest first with filters", async () => {
      await store.applyJobs([makeSpec("l", { overlap: "skip" })], T0);
      const j = (await store.getJob("l"))!;
      await store.claimSlots([await claim(store, { job: "l", specHash: j.specHash })]);
      await store.claimSlots([await claim(store, { job: "l", specHash: j.specHash })]);
      const runs = await store.listRuns({ job: "l" });
      expect(runs.map((r) => r.status)).toEqual(["skipped", "running"]);
      expect((await store.listRuns({ status: "running" })).map((r) => r.job)).toEqual(["l"]);
      expect(await store.listRuns({ job: "l", limit: 1 })).toHaveLength(1);
    });

    it("records any output, even a NUL byte (which PostgreSQL text cannot hold)", async () => {
      await store.applyJobs([makeSpec("z")], T0);
      const j = (await store.getJob("z"))!;
      const [o] = await store.claimSlots([await claim(store, { job: "z", specHash: j.specHash })]);
      const id = (o as { run: { id: number } }).run.id;
      await store.finishRuns([{ ...ok(id, "failed"), error: "bad\u0000error", output: { stdout: "a\u0000b\n", stderr: "" } }]);
      expect((await store.getRun(id))!.status).toBe("failed");
      const out = (await store.getRunOutput(id))!;
      expect(out.stdout).toMatch(/^a.b\n$/); // kept, the NUL perhaps replaced
    });

    it("moves a job past a slot that is already taken, so a claim for it is lost once, not forever", async () => {
      await store.applyJobs([makeSpec("tk")], T0); // every 60 s: first slot T0 + 60 s
      const first = (await store.getJob("tk"))!;
      const [won] = await store.claimSlots([await claim(store, { job: "tk", specHash: first.specHash })]);
      expect(won!.kind).toBe("started");
      // A reload with a new schedule re-anchors so that its first slot is the one just claimed.
      await store.applyJobs([makeSpec("tk", { schedule: { kind: "every", everyMs: 30_000 } })], T0 + 30_000);
      const again = (await store.getJob("tk"))!;
      expect(again.nextSlot).toBe(T0 + 60_000);
      const [taken] = await store.claimSlots([{ ...(await claim(store, { job: "tk", specHash: again.specHash })), source: { kind: "slot", expected: T0 + 60_000, next: T0 + 90_000 } }]);
      expect(taken!.kind).toBe("lost");
      expect((await store.getJob("tk"))!.nextSlot).toBe(T0 + 90_000); // moved on: the next claim can win
      expect((await store.listRuns({ job: "tk" })).map((r) => r.slot)).toEqual([T0 + 60_000]);
    });

    it("gives the timeline: runs since a time counted per job, bucket and status, and each job's newest runs", async () => {
      await store.applyJobs([makeSpec("t1"), makeSpec("t2")], T0);
      const slotRun = async (job: string) => {
        const j = (await store.getJob(job))!;
        const [o] = await store.claimSlots([await claim(store, { job, specHash: j.specHash })]);
        return o as Extract<ClaimOutcome, { kind: "started" | "skipped" }>;
      };
      // t1: slots at T0+60 s, +120 s, +180 s; the first two finish, the third still runs. t2: one, failed.
      for (const at of [70_000, 130_000]) {
        const { run } = await slotRun("t1");
        await store.finishRuns([ok(run.id, "succeeded", T0 + at)]);
      }
      const third = await slotRun("t1");
      const t2 = await slotRun("t2");
      await store.finishRuns([ok(t2.run.id, "failed", T0 + 65_000)]);
      const { counts, runs } = await store.timeline({ from: T0 + 100_000, bucketMs: 60_000, perJob: 1 });
      // Created before `from`: left out. Buckets are minutes since `from`, by start time.
      expect(counts.sort((a, b) => a.job.localeCompare(b.job) || a.bucket - b.bucket)).toEqual([
        { job: "t1", bucket: 0, status: "succeeded", n: 1 },
        { job: "t1", bucket: 1, status: "running", n: 1 },
      ]);
      expect(runs.map((r) => r.id)).toEqual([third.run.id]); // the newest one per job
      const all = await store.timeline({ from: T0, bucketMs: 3_600_000, perJob: 10 });
      expect(all.runs.map((r) => r.job)).toEqual(["t1", "t1", "t1", "t2"]); // oldest first
      expect(all.counts.find((c) => c.job === "t2")).toEqual({ job: "t2", bucket: 0, status: "failed", n: 1 });
    });
  });
}
