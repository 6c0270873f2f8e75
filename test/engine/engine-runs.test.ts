import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hostname } from "node:os";
import { afterEach, expect, it } from "vitest";
import { makeSpec, tempDir } from "../helpers/spec.js";
import { gate, nextEvent, startOn, T0, waitFor, type Harness, every } from "../helpers/engine-harness.js";
import { describeOnEachStore } from "../helpers/engine-stores.js";

let h: Harness | undefined;

/** Alive and not a zombie (a killed child may wait a moment to be reaped). */
function processAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describeOnEachStore("engine: timeouts", (on) => {
  it("times out a handler: ctx.signal is aborted and the run is timed_out", async () => {
    const g = gate();
    h = await startOn(on, [makeSpec("slow", { ...every(60_000), timeoutMs: 5_000 })], { slow: g.handler });
    await h.clock.advance(64_999);
    expect((await h.runs("slow"))[0]!.status).toBe("running");
    await h.clock.advance(1);
    const [run] = await h.runs("slow");
    expect(run).toMatchObject({ status: "timed_out", error: expect.stringMatching(/timed out after 5s/) });
    expect(g.calls[0]!.signal.aborted).toBe(true);
  });

  it("kills a command's whole process group on timeout, with SIGKILL after kill_grace", async () => {
    // The shell ignores SIGTERM and starts a grandchild; both must be gone after the timeout.
    const started = join(tempDir(), "child.pid"); // written once the grandchild exists
    const script = `trap '' TERM; sleep 60 & echo "child $!"; echo $! > ${started}; wait`;
    h = await startOn(on, [makeSpec("tree", { ...every(60_000), action: { kind: "shell", script }, timeoutMs: 1_000, killGraceMs: 2_000 })]);
    await h.clock.advance(60_000);
    await waitFor("the child to start", async () => (await h!.store.listRuns({ job: "tree" })).length === 1);
    await waitFor("the shell to start its child", () => existsSync(started) && readFileSync(started, "utf8").endsWith("\n"));
    await h.clock.advance(1_000); // timeout: SIGTERM to the group (the shell ignores it; sleep dies)
    await h.clock.advance(2_000); // kill_grace: SIGKILL
    await waitFor("the run to end", async () => (await h!.runs("tree"))[0]!.status !== "running");
    const [run] = await h.runs("tree");
    expect(run!.status).toBe("timed_out");
    const out = (await h.store.getRunOutput(run!.id))!.stdout;
    const childPid = Number(/child (\d+)/.exec(out)?.[1]);
    expect(childPid).toBeGreaterThan(0);
    await waitFor("the grandchild to be gone too", () => !processAlive(childPid), 3_000);
  });
});

describeOnEachStore("engine: retries", (on) => {
  it("retries a failed attempt with exponential backoff inside the same run record", async () => {
    let calls = 0;
    const at: number[] = [];
    h = await startOn(on, [makeSpec("flaky", { ...every(3_600_000), retries: { max: 3, delayMs: 1_000 } })], {
      flaky: () => {
        at.push(h!.clock.now());
        if (++calls < 3) throw new Error(`boom ${calls}`);
      },
    });
    await h.clock.advance(3_600_000 + 10_000);
    expect(at.map((t) => t - T0 - 3_600_000)).toEqual([0, 1_000, 3_000]); // delays 1s, then 2s
    const runs = await h.runs("flaky");
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "succeeded", attempt: 3 });
  });

  it("keeps the status of the last attempt when retries run out", async () => {
    h = await startOn(on, [makeSpec("bad", { ...every(3_600_000), retries: { max: 2, delayMs: 10 } })], {
      bad: () => { throw new Error("always"); },
    });
    await h.clock.advance(3_600_000 + 1_000);
    const [run] = await h.runs("bad");
    expect(run).toMatchObject({ status: "failed", attempt: 3, error: expect.stringMatching(/always/) });
  });
});

describeOnEachStore("engine: recovery of abandoned runs", (on) => {
  it("at start, marks runs of a dead local instance abandoned and frees the job", async () => {
    const g = gate();
    h = await startOn(on, [makeSpec("j", { ...every(60_000), overlap: "skip" })], { j: g.handler }, { start: false });
    // A previous daemon on this host (pid 2^22+1 cannot exist) died 15 s ago while running the job.
    await h.store.registerInstance({ id: "dead", host: hostname(), pid: 4_194_305, version: "t", startedAt: T0 - 60_000, lastSeen: T0 - 15_000, stoppedAt: null });
    const job = (await h.store.getJob("j"))!;
    await h.store.claimSlots([{
      job: "j", specHash: job.specHash, instanceId: "dead", source: { kind: "slot", expected: job.nextSlot!, next: job.nextSlot! + 60_000 },
      slot: job.nextSlot!, trigger: "schedule", missed: null, overlap: "skip", waitIfBusy: false, now: T0,
    }]);
    await h.engine.start();
    const [old] = await h.runs("j");
    expect(old).toMatchObject({ status: "abandoned", instanceId: "dead", error: expect.stringMatching(/stopped heartbeating/) });
    await h.clock.advance(120_000);
    expect((await h.runs("j")).map((r) => r.status)).toEqual(["abandoned", "running"]); // not skipped
    g.release();
    await h.clock.advance(1);
  });

  it("does not trust a vanished pid alone: a same-host instance that still heartbeats keeps its runs", async () => {
    // Containers can share a hostname but not a pid namespace: the pid looks gone, the instance is alive.
    h = await startOn(on, [makeSpec("j", every(3_600_000))], { j: () => {} }, { start: false });
    await h.store.registerInstance({ id: "twin", host: hostname(), pid: 4_194_305, version: "t", startedAt: T0, lastSeen: T0, stoppedAt: null });
    const job = (await h.store.getJob("j"))!;
    await h.store.claimSlots([{
      job: "j", specHash: job.specHash, instanceId: "twin", source: { kind: "slot", expected: job.nextSlot!, next: job.nextSlot! + 3_600_000 },
      slot: job.nextSlot!, trigger: "schedule", missed: null, overlap: "skip", waitIfBusy: false, now: T0,
    }]);
    await h.engine.start();
    expect((await h.runs("j"))[0]!.status).toBe("running");
  });

  it("abandons a remote instance's run once its heartbeat is older than the budget", async () => {
    h = await startOn(on, [makeSpec("j", every(3_600_000))], { j: () => {} });
    await h.store.registerInstance({ id: "far", host: "elsewhere", pid: 1, version: "t", startedAt: T0, lastSeen: T0, stoppedAt: null });
    const job = (await h.store.getJob("j"))!;
    await h.store.claimSlots([{
      job: "j", specHash: job.specHash, instanceId: "far", source: { kind: "slot", expected: job.nextSlot!, next: job.nextSlot! + 3_600_000 },
      slot: job.nextSlot!, trigger: "schedule", missed: null, overlap: "skip", waitIfBusy: false, now: T0,
    }]);
    await h.clock.advance(25_000);
    expect((await h.runs("j"))[0]!.status).toBe("running");
    await h.clock.advance(10_000); // heartbeat loop after the 30 s budget
    expect((await h.runs("j"))[0]!.status).toBe("abandoned");
  });

  it("keeps its own running runs heartbeated, so they are never abandoned", async () => {
    const g = gate();
    h = await startOn(on, [makeSpec("long", { ...every(60_000), timeoutMs: null })], { long: g.handler });
    await h.clock.advance(60_000 + 120_000);
    expect((await h.runs("long"))[0]!.status).toBe("running");
    g.release();
    await h.clock.advance(1);
  });
});

describeOnEachStore("engine: robustness", (on) => {
  it("a throwing event listener neither strands a run nor stops the engine", async () => {
    let ran = 0;
    h = await startOn(on, [makeSpec("x", every(10_000))], { x: () => void ran++ });
    const warnings: string[] = [];
    h.engine.events.on("engine:warning", (w) => warnings.push(w.message));
    h.engine.events.on("run:started", () => { throw new Error("listener bug"); });
    h.engine.events.on("run:finished", () => { throw new Error("listener bug"); });
    await h.clock.advance(20_000);
    expect(ran).toBe(2);
    expect((await h.runs("x")).map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
    expect(warnings).toContain("a listener of run:started threw");
  });
});

describeOnEachStore("engine: control from the store", (on) => {
  it("starts a manual trigger, outside the schedule", async () => {
    const seen: string[] = [];
    h = await startOn(on, [makeSpec("m", every(3_600_000))], { m: () => void seen.push("ran") });
    await h.engine.trigger("m");
    await h.clock.advance(0);
    expect((await h.runs("m")).map((r) => [r.trigger, r.status])).toEqual([["manual", "succeeded"]]);
    await expect(h.engine.trigger("nope")).rejects.toMatchObject({ code: "JOB_NOT_FOUND" });
  });

  it("follows pause, resume and trigger written by another process as soon as the store pushes them", async () => {
    let n = 0;
    h = await startOn(on, [makeSpec("p", every(10_000))], { p: () => void n++ });
    const cli = await h.openOther(); // what `jobclock pause` does
    // The push (a watch on SQLite's files, NOTIFY on PostgreSQL) arrives in real time and is
    // waited for before the fake clock moves, so the fallback poll cannot be what noticed it.
    const changed = () => nextEvent(h!.engine.events, "jobs:changed", (names) => names.includes("p"));
    await h.clock.advance(10_000);
    expect(n).toBe(1);
    let pushed = changed();
    await cli.setPaused("p", true, h.clock.now());
    await pushed;
    await h.clock.advance(1_000);
    await h.clock.advance(60_000);
    expect(n).toBe(1);
    const started = nextEvent(h.engine.events, "run:started", (run) => run.trigger === "manual");
    await cli.requestTrigger("p", h.clock.now()); // a trigger still runs a paused job
    await started;
    await h.clock.advance(1_000);
    expect(n).toBe(2);
    pushed = changed();
    await cli.setPaused("p", false, h.clock.now());
    await pushed;
    await h.clock.advance(10_000);
    expect(n).toBe(3);
    expect((await h.runs("p")).every((r) => r.status === "succeeded")).toBe(true); // no catch-up burst on resume
  });

  it("a resume that lands just before a slot (inside the claim-ahead) still runs that slot", async () => {
    const slots: number[] = [];
    h = await startOn(on, [makeSpec("r", { ...every(10_000), paused: true })], { r: (ctx) => void slots.push(ctx.slot.getTime() - T0) });
    const cli = await h.openOther();
    await h.clock.advance(19_960); // the 10 s slot passed while paused; the 20 s one is 40 ms away
    const pushed = nextEvent(h.engine.events, "jobs:changed", (names) => names.includes("r"));
    await cli.setPaused("r", false, h.clock.now());
    await pushed; // the push arrives (real time)
    await h.clock.advance(1_000);
    expect(slots).toEqual([20_000]);
  });

  it("notices a change whose push was lost at the next poll: the heartbeat on SQLite, its own 1 s loop on PostgreSQL", async () => {
    let n = 0;
    h = await startOn(on, [makeSpec("p", every(10_000))], { p: () => void n++ }, { start: false });
    h.store.subscribe = async () => async () => {}; // subscribed, but no push ever comes
    await h.engine.start();
    const cli = await h.openOther();
    await cli.requestTrigger("p", h.clock.now());
    // SQLite's file watch loses nothing, so its fallback poll rides on the heartbeat (5 s);
    // PostgreSQL's NOTIFY is lost with a connection, so it polls every second.
    const pollMs = h.kind === "sqlite" ? 5_000 : 1_000;
    await h.clock.advance(pollMs - 1);
    expect(n).toBe(0);
    await h.clock.advance(1);
    expect(n).toBe(1);
  });

  it("picks up a config applied by another process (reload) without restart", async () => {
    h = await startOn(on, [makeSpec("old", every(10_000))], { old: () => {}, fresh: () => {} });
    const cli = await h.openOther();
    await cli.applyJobs([makeSpec("fresh", every(5_000))], h.clock.now());
    await h.clock.advance(1_000);
    await h.clock.advance(10_000);
    expect((await h.runs("fresh")).length).toBe(2);
    expect(await h.runs("old")).toEqual([]); // retired before its first slot
  });
});

describeOnEachStore("engine: graceful stop", (on) => {
  it("waits for running runs to finish", async () => {
    const g = gate();
    h = await startOn(on, [makeSpec("d", every(10_000))], { d: g.handler });
    await h.clock.advance(10_000);
    let stopped = false;
    const stopping = h.engine.stop(30_000).then(() => (stopped = true));
    await h.clock.advance(5_000);
    expect(stopped).toBe(false);
    g.release();
    await h.clock.advance(1);
    await stopping;
    expect((await h.runs("d")).map((r) => r.status)).toEqual(["succeeded"]);
    expect(h.clock.pendingTimers()).toBe(0);
  });

  it("lets a run claimed ahead of its slot start and finish when stopped just before the slot", async () => {
    const seen: number[] = [];
    h = await startOn(on, [makeSpec("a", every(10_000))], { a: (ctx) => void seen.push(ctx.slot.getTime()) });
    await h.clock.advance(9_950); // inside the 100 ms claim-ahead window: claimed, not started
    expect((await h.runs("a")).map((r) => r.status)).toEqual(["running"]);
    expect(seen).toEqual([]);
    const stopping = h.engine.stop(30_000);
    await h.clock.advance(50);
    await stopping;
    expect(seen).toEqual([T0 + 10_000]);
    expect((await h.runs("a")).map((r) => r.status)).toEqual(["succeeded"]);
  });

  it("records a run claimed ahead as cancelled if it is cancelled before its slot", async () => {
    h = await startOn(on, [makeSpec("a", every(10_000))], { a: () => {} });
    await h.clock.advance(9_950);
    const stopping = h.engine.stop(0); // no drain time: cancel at once
    await h.clock.advance(0);
    await stopping;
    expect((await h.runs("a"))[0]).toMatchObject({ status: "cancelled", error: expect.stringMatching(/shutdown_timeout/) });
  });

  it("a second stop while draining cancels at once", async () => {
    const g = gate();
    h = await startOn(on, [makeSpec("d", every(10_000))], { d: g.handler });
    await h.clock.advance(10_000);
    const first = h.engine.stop(30_000);
    await h.clock.advance(1_000);
    const second = h.engine.stop(0); // what a second SIGTERM does
    await h.clock.advance(0);
    await Promise.all([first, second]);
    expect((await h.runs("d"))[0]).toMatchObject({ status: "cancelled", error: expect.stringMatching(/asked to stop again/) });
  });

  it("cancels what is still running after shutdown_timeout and records it", async () => {
    const g = gate();
    h = await startOn(on, [makeSpec("d", every(10_000))], { d: g.handler });
    await h.clock.advance(10_000);
    const stopping = h.engine.stop(30_000);
    await h.clock.advance(30_000);
    await stopping;
    expect((await h.runs("d"))[0]).toMatchObject({ status: "cancelled", error: expect.stringMatching(/shutdown_timeout/) });
  });
});
