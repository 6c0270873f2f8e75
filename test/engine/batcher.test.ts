import { describe, expect, it } from "vitest";
import { Batcher } from "../../src/engine/runs/batcher.js";

const turn = () => new Promise((r) => setImmediate(r));

describe("Batcher: calls in one turn of the event loop go to the store together", () => {
  it("one flush for a burst, each caller gets its own result, in the order it called", async () => {
    const flushed: number[][] = [];
    const batcher = new Batcher<number, string>(async (items) => (flushed.push(items), items.map((i) => `done ${i}`)));
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.add(i)));
    expect(flushed).toEqual([[1, 2, 3, 4, 5]]);
    expect(results).toEqual(["done 1", "done 2", "done 3", "done 4", "done 5"]);
  });

  it("does not flush in the same turn (later calls of the turn still join), but in the next", async () => {
    const flushed: number[][] = [];
    const batcher = new Batcher<number, number>(async (items) => (flushed.push(items), items));
    const a = batcher.add(1);
    await Promise.resolve(); // microtasks of the same turn
    const b = batcher.add(2);
    expect(flushed).toEqual([]);
    await turn();
    expect(flushed).toEqual([[1, 2]]);
    await expect(Promise.all([a, b])).resolves.toEqual([1, 2]);
  });

  it("calls in a later turn make a new batch, even while the first is still being written", async () => {
    const flushed: number[][] = [];
    let release: () => void = () => {};
    const slow = new Promise<void>((r) => (release = r));
    const batcher = new Batcher<number, number>(async (items) => {
      flushed.push(items);
      if (items[0] === 1) await slow;
      return items.map((i) => i * 10);
    });
    const first = batcher.add(1);
    await turn();
    const second = batcher.add(2);
    await turn();
    expect(flushed).toEqual([[1], [2]]);
    await expect(second).resolves.toBe(20);
    release();
    await expect(first).resolves.toBe(10);
  });

  it("a failed flush fails every call of its batch, and the next batch is written as usual", async () => {
    let fail = true;
    const batcher = new Batcher<number, number>(async (items) => {
      if (fail) throw new Error("store away");
      return items;
    });
    const failed = [batcher.add(1), batcher.add(2)].map((p) => p.then(() => "ok", (e: Error) => e.message));
    expect(await Promise.all(failed)).toEqual(["store away", "store away"]);
    fail = false;
    await expect(batcher.add(3)).resolves.toBe(3);
  });
});
