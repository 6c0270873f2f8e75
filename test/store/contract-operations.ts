import { beforeEach, describe, expect, it } from "vitest";
import { ApplyRefusedError } from "../../src/store/apply-guard.js";
import { StoreError } from "../../src/errors.js";
import type { Store } from "../../src/store/types.js";
import { makeSpec } from "../helpers/spec.js";
import { listDeliveries } from "../helpers/outbox.js";

const T0 = Date.UTC(2026, 0, 1);
const guarded = { guard: true, source: "cli test@host" };

/** What every Store must do for operations: apply guards, generations, control events, pruning. */
export function describeOperationsContract(name: string, open: () => Promise<Store>): void {
  describe(`${name}: operations contract`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      return () => store.close();
    });

    const active = async () => (await store.listJobs()).map((j) => j.name);
    const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e);

    it("refuses an apply that would retire every job, or more than half, leaving the store untouched; force applies it", async () => {
      await store.applyJobs(["a", "b", "c"].map((n) => makeSpec(n)), T0, guarded);
      const empty = await refusal(store.applyJobs([], T0 + 1, guarded));
      expect(empty).toBeInstanceOf(ApplyRefusedError);
      expect((empty as ApplyRefusedError).reason).toBe("retires_most");
      expect((empty as Error).message).toMatch(/would retire 3 of 3 jobs \(a, b, c\).*jobclock reload --force/);
      expect(await refusal(store.applyJobs([makeSpec("a")], T0 + 1, guarded))).toBeInstanceOf(ApplyRefusedError); // 2 of 3
      expect(await active()).toEqual(["a", "b", "c"]);
      const refusals = (await store.controlEventsSince(0)).filter((e) => e.action === "apply_refused");
      expect(refusals.map((e) => [e.source, (e.detail as { reason: string }).reason])).toEqual([["cli test@host", "retires_most"], ["cli test@host", "retires_most"]]);
      expect(await store.applyJobs([makeSpec("a"), makeSpec("b")], T0 + 2, guarded)).toMatchObject({ retired: ["c"] }); // 1 of 3
      expect(await store.applyJobs([], T0 + 3, { ...guarded, force: true })).toMatchObject({ retired: ["a", "b"] });
      expect(await active()).toEqual([]);
    });

    it("does not guard an apply that did not ask for it (library definitions)", async () => {
      await store.applyJobs([makeSpec("a")], T0);
      expect(await store.applyJobs([], T0 + 1)).toMatchObject({ retired: ["a"] });
    });

    it("numbers each new job set a generation; from another machine, a set identical to an older one than the latest is stale", async () => {
      const h1 = { ...guarded, host: "web1" };
      const h2 = { ...guarded, host: "web2" };
      const first = await store.applyJobs([makeSpec("a"), makeSpec("b")], T0, { ...h1, source: "cli one@web1" });
      const again = await store.applyJobs([makeSpec("b"), makeSpec("a")], T0 + 1, h2); // the same set, reordered
      expect(again.generation).toBe(first.generation);
      const second = await store.applyJobs([makeSpec("a"), makeSpec("b", { description: "edited" })], T0 + 2, { ...h2, source: "cli two@web2" });
      expect(second.generation).toBeGreaterThan(first.generation!);
      const stale = await refusal(store.applyJobs([makeSpec("a"), makeSpec("b")], T0 + 3, h1)); // web1 still has the old file
      expect((stale as ApplyRefusedError).reason).toBe("stale");
      expect((stale as Error).message).toMatch(new RegExp(`generation ${first.generation} \\(applied .* by cli one@web1\\).*generation ${second.generation} \\(applied .* by cli two@web2, from web2\\)`));
      expect((await store.getJob("b"))!.spec.description).toBe("edited");
      const forced = await store.applyJobs([makeSpec("a"), makeSpec("b")], T0 + 4, { ...h1, force: true });
      expect(forced.generation).toBeGreaterThan(second.generation!);
      expect((await store.getJob("b"))!.spec.description).toBeNull();
    });

    it("an older set applied again from the machine that applied the latest is an undo, not a stale file", async () => {
      const web1 = { ...guarded, host: "web1" };
      await store.applyJobs([makeSpec("a"), makeSpec("b")], T0, web1);
      await store.applyJobs([makeSpec("a"), makeSpec("b", { paused: true })], T0 + 1, web1);
      const undo = await store.applyJobs([makeSpec("a"), makeSpec("b")], T0 + 2, web1);
      expect(undo.updated).toEqual(["b"]);
      expect((await store.getJob("b"))!.paused).toBe(false);
    });

    it("records pauses, resumes, triggers and applies with their source, for every instance to log", async () => {
      const before = await store.lastControlEventId();
      await store.applyJobs([makeSpec("a")], T0, guarded);
      await store.setPaused("a", true, T0 + 1, "cli alice@web1");
      await store.setPaused("a", false, T0 + 2, "api 127.0.0.1");
      await store.setPaused("a", true, T0 + 3); // no source: not recorded (the engine's own calls)
      await store.setPaused("missing", true, T0 + 3, "cli alice@web1"); // no such job: nothing happened
      await store.requestTrigger("a", T0 + 4, "cli bob@web2");
      await store.applyJobs([makeSpec("a")], T0 + 5, guarded); // nothing changed: no event
      const events = await store.controlEventsSince(before);
      expect(events.map((e) => [e.action, e.job, e.source])).toEqual([
        ["apply", null, "cli test@host"], ["pause", "a", "cli alice@web1"], ["resume", "a", "api 127.0.0.1"], ["trigger", "a", "cli bob@web2"],
      ]);
      expect(events[0]!.detail).toMatchObject({ added: ["a"], counts: { added: 1, updated: 0, retired: 0 }, forced: false });
      expect(await store.lastControlEventId()).toBe(events.at(-1)!.id);
      expect(await store.controlEventsSince(events[1]!.id)).toHaveLength(2);
    });

    it("prunes settled notifications, closed incidents, handled triggers, control events and old generations; keeps what is still live", async () => {
      const day = 86_400_000;
      await store.applyJobs([makeSpec("a"), makeSpec("b")], T0);
      await store.applyJobs([makeSpec("a"), makeSpec("b", { description: "2" })], T0 + 1);
      await store.setPaused("a", true, T0 + 2, "cli x@h");
      const notify = (job: string, kind: "opened" | "recovered" = "opened") => ({ kind, payload: { job }, notifiers: ["n"] });
      const closed = (await store.openIncident({ job: "a", state: "failing", since: T0, now: T0, notify: notify("a") }))!;
      await store.closeIncident({ id: closed.id, now: T0 + 10, notify: notify("a", "recovered") });
      await store.openIncident({ job: "b", state: "failing", since: T0, now: T0, notify: notify("b") }); // stays open, not yet sent
      for (const d of await store.claimDeliveries({ instanceId: "i", notifier: "n", now: T0, leaseMs: 1_000, limit: 10 })) {
        if ((d.payload as { job: string }).job === "a") await store.settleDelivery(d.id, "i", { kind: "delivered" }, T0 + 20);
      }
      const settled = (await listDeliveries(store)).filter((d) => d.status === "delivered").length;
      const pending = (await listDeliveries(store, { status: "pending" })).length;
      const req = (await store.requestTrigger("a", T0))!;
      await store.claimSlots([{ job: "a", specHash: (await store.getJob("a"))!.specHash, instanceId: "i", source: { kind: "trigger", triggerId: req.id }, slot: T0, trigger: "manual", missed: null, overlap: "allow", waitIfBusy: false, now: T0 }]);
      await store.requestTrigger("b", T0); // unclaimed, its job alive: kept
      const removed = await store.pruneBookkeeping({ keepMs: 30 * day, keepRows: 10_000, triggersKeepMs: day }, T0 + 31 * day);
      expect(removed).toBeGreaterThan(0);
      expect((await listDeliveries(store)).filter((d) => d.status === "delivered")).toHaveLength(0);
      expect(await listDeliveries(store, { status: "pending" })).toHaveLength(pending); // not yet sent: kept
      expect(settled).toBeGreaterThan(0);
      expect((await store.listOpenIncidents()).map((i) => i.job)).toEqual(["b"]);
      expect((await store.changesSince(0)).triggers.map((t) => t.job)).toEqual(["b"]);
      expect(await store.controlEventsSince(0)).toEqual([]);
      // Generations are kept however old (a machine may lag behind for longer than any retention):
      // the first job set, from another machine, is still known as stale.
      const stale = await refusal(store.applyJobs([makeSpec("a"), makeSpec("b")], T0 + 31 * day, { ...guarded, host: "elsewhere" }));
      expect((stale as ApplyRefusedError).reason).toBe("stale");
    });

    it("turns every failure into a StoreError, transient or not, never a raw driver error", async () => {
      const other = await open();
      await other.applyJobs([makeSpec("a")], T0);
      await other.close();
      const calls: [string, () => Promise<unknown>][] = [
        ["listJobs", () => other.listJobs()], ["getRun", () => other.getRun(1)], ["heartbeat", () => other.heartbeat("i", T0, [])],
        ["claimSlots", () => other.claimSlots([])], ["listOpenIncidents", () => other.listOpenIncidents()], ["setPaused", () => other.setPaused("a", true, T0)],
      ];
      for (const [name, call] of calls) {
        const error = await call().then(() => null, (e: unknown) => e);
        if (name === "claimSlots" && error === null) continue; // nothing to claim: no call made
        expect(error, name).toBeInstanceOf(StoreError);
        // A closed PostgreSQL pool is a connection fault (retry); a closed SQLite file is not.
        expect((error as StoreError).transient, name).toBe(other.kind === "postgres");
      }
    });

    it("keeps at most keepRows control events and generations, the newest", async () => {
      await store.applyJobs([makeSpec("a")], T0);
      for (let i = 0; i < 5; i++) await store.setPaused("a", i % 2 === 0, T0 + i, `cli u${i}@h`);
      for (let i = 0; i < 3; i++) await store.applyJobs([makeSpec("a", { description: `v${i}` })], T0 + 5 + i, { ...guarded, host: "h1" });
      await store.pruneBookkeeping({ keepMs: 1e12, keepRows: 2, triggersKeepMs: 1e12 }, T0 + 10);
      expect((await store.controlEventsSince(0)).map((e) => e.action)).toEqual(["apply", "apply"]);
      // The first set's generation is gone: applying it again is a new generation, not "stale".
      expect((await store.applyJobs([makeSpec("a")], T0 + 11, { ...guarded, host: "h2" })).updated).toEqual(["a"]);
    });
  });
}
