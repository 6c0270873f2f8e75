import { describe, expect, it } from "vitest";
import { StartQueue } from "../../src/engine/runs/start-queue.js";
import { Cancellation } from "../../src/run/cancellation.js";
import { settle } from "../../src/testing/fake-clock.js";

const T0 = Date.UTC(2026, 0, 1);

describe("StartQueue: runs claimed ahead wait for their fire time", () => {
  it("lets each run begin only when startDue reaches its time, earliest first", async () => {
    const q = new StartQueue();
    const begun: string[] = [];
    const enqueue = (name: string, at: number) => void q.wait(at, new Cancellation()).then(() => begun.push(name));
    enqueue("late", T0 + 300);
    enqueue("early", T0 + 100);
    enqueue("middle", T0 + 200);
    expect(q.size).toBe(3);
    expect(q.nextAt()).toBe(T0 + 100);
    q.startDue(T0 + 99);
    await settle();
    expect(begun).toEqual([]);
    q.startDue(T0 + 200);
    await settle();
    expect(begun).toEqual(["early", "middle"]);
    expect(q.size).toBe(1);
    expect(q.nextAt()).toBe(T0 + 300);
    q.startDue(T0 + 10_000);
    await settle();
    expect(begun).toEqual(["early", "middle", "late"]);
    expect(q.size).toBe(0);
    expect(q.nextAt()).toBeUndefined();
  });

  // Ties are not first-in first-out (the heap is not stable): runs due at one time begin in
  // the same startDue, which is all the engine needs.
  it("runs due at the same time all begin together, none before", async () => {
    const q = new StartQueue();
    const begun: number[] = [];
    for (let i = 0; i < 5; i++) void q.wait(T0, new Cancellation()).then(() => begun.push(i));
    q.startDue(T0 - 1);
    await settle();
    expect(begun).toEqual([]);
    q.startDue(T0);
    await settle();
    expect(begun.sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it("a cancelled run stops waiting at once; its entry is a no-op when its time comes", async () => {
    const q = new StartQueue();
    const cancel = new Cancellation();
    let begun = false;
    void q.wait(T0 + 1_000, cancel).then(() => (begun = true));
    const other = q.wait(T0 + 1_000, new Cancellation());
    cancel.cancel(new Error("shutdown"));
    await settle();
    expect(begun).toBe(true);
    expect(cancel.reason?.message).toBe("shutdown"); // the caller tells a cancel from its time by this
    q.startDue(T0 + 1_000);
    await expect(other).resolves.toBeUndefined();
    expect(q.size).toBe(0);
  });
});
