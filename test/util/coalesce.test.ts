import { describe, expect, it } from "vitest";
import { coalescing as serverCoalescing } from "../../src/util/coalesce.js";
// The dashboard's plain-JS copy must behave the same (plain browser JavaScript: no types).
// @ts-expect-error -- no declaration file, on purpose
import { coalescing as dashboardCoalescing } from "../../src/http/dashboard/coalesce.js";

/** A pass that waits until released, counting its starts. */
function gatedPass() {
  const releases: (() => void)[] = [];
  let started = 0;
  let going = 0;
  let most = 0;
  return {
    get started() {
      return started;
    },
    get most() {
      return most;
    },
    release: () => releases.shift()?.(),
    pass: () => {
      started++;
      most = Math.max(most, ++going);
      return new Promise<void>((resolve) => releases.push(() => (going--, resolve())));
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe.each([
  ["src/util/coalesce.ts", serverCoalescing],
  ["src/http/dashboard/coalesce.js", dashboardCoalescing as typeof serverCoalescing],
])("coalescing (%s)", (_file, coalescing) => {
  it("starts the pass at once, inside run()", () => {
    const gated = gatedPass();
    const passes = coalescing(gated.pass);
    void passes.run();
    expect(gated.started).toBe(1);
    expect(passes.busy).toBe(true);
  });

  it("runs one more pass for all the requests made during a pass, never two at once", async () => {
    const gated = gatedPass();
    const passes = coalescing(gated.pass);
    const first = passes.run();
    const asked = [passes.run(), passes.run(), passes.run()];
    expect(gated.started).toBe(1);
    gated.release();
    await first;
    await flush();
    expect(gated.started).toBe(2);
    gated.release();
    await Promise.all(asked);
    expect(gated.started).toBe(2);
    expect(gated.most).toBe(1);
    expect(passes.busy).toBe(false);
  });

  it("a request made during a pass is answered by the next pass, not the one going", async () => {
    const gated = gatedPass();
    const passes = coalescing(gated.pass);
    void passes.run();
    let answered = false;
    void passes.run().then(() => (answered = true));
    gated.release();
    await flush();
    expect(answered).toBe(false);
    gated.release();
    await flush();
    expect(answered).toBe(true);
  });

  it("idle() waits for the pass asked for meanwhile too", async () => {
    const gated = gatedPass();
    const passes = coalescing(gated.pass);
    void passes.run();
    void passes.run();
    let idle = false;
    void passes.idle().then(() => (idle = true));
    gated.release();
    await flush();
    expect(idle).toBe(false);
    gated.release();
    await flush();
    expect(idle).toBe(true);
    expect(gated.started).toBe(2);
  });

  it("idle() resolves at once when nothing runs", async () => {
    await expect(coalescing(async () => {}).idle()).resolves.toBeUndefined();
  });

  it("a failed pass rejects its own callers, and the pass asked for meanwhile still runs", async () => {
    let calls = 0;
    let releaseFirst!: () => void;
    const passes = coalescing(async () => {
      calls++;
      if (calls === 1) {
        await new Promise<void>((r) => (releaseFirst = r));
        throw new Error("first pass failed");
      }
    });
    const first = passes.run();
    const second = passes.run();
    releaseFirst();
    await expect(first).rejects.toThrow("first pass failed");
    await expect(second).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });

  it("a pass that throws before its first await is caught the same way", async () => {
    const passes = coalescing(() => {
      throw new Error("at once");
    });
    await expect(passes.run()).rejects.toThrow("at once");
    expect(passes.busy).toBe(false);
  });
});
