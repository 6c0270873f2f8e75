import Database from "better-sqlite3";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scheduleHash, specJson, type JobSpec } from "../../src/job-spec.js";
import { stableJson } from "../../src/stable-json.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { makeSpec, tempDir } from "../helpers/spec.js";

const legacyHash = (value: unknown) => createHash("sha1").update(JSON.stringify(value)).digest("hex").slice(0, 16);

/** The same value with every object's keys in reverse order (as another caller might build it). */
function reversed<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversed) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)])) as T;
}

const spec = makeSpec("report", {
  schedule: { kind: "cron", expression: "0 30 2 * * *", timezone: "Europe/London" },
  action: { kind: "command", argv: ["/usr/bin/report", "--all"] },
  env: { A: "1", B: "2" }, retries: { max: 2, delayMs: 5_000 }, tags: ["x", "y"],
});

describe("spec hashes", () => {
  it("the same spec with its keys in another order has the same hash", () => {
    const other = reversed(spec);
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(spec)); // really another order
    expect(specJson(other).hash).toBe(specJson(spec).hash);
    expect(specJson(other).json).toBe(specJson(spec).json);
    expect(scheduleHash(other)).toBe(scheduleHash(spec));
  });

  it("a real change gives another hash, in a nested value too", () => {
    const hash = specJson(spec).hash;
    expect(specJson({ ...spec, timeoutMs: 5_000 }).hash).not.toBe(hash);
    expect(specJson({ ...spec, retries: { max: 3, delayMs: 5_000 } }).hash).not.toBe(hash);
    expect(specJson({ ...spec, env: { A: "1", B: "3" } }).hash).not.toBe(hash);
    expect(specJson({ ...spec, tags: ["y", "x"] }).hash).not.toBe(hash); // arrays keep their order
    expect(scheduleHash({ ...spec, runOnStart: true })).not.toBe(scheduleHash(spec));
  });

  it("leaves undefined out, as JSON does, so an optional field left unset is no change", () => {
    const withUndefined = { ...spec, extra: undefined } as JobSpec;
    expect(specJson(withUndefined).hash).toBe(specJson(spec).hash);
    expect(stableJson({ b: 1, a: [undefined, { d: undefined, c: null }] })).toBe('{"a":[null,{"c":null}],"b":1}');
  });

  it("schedule hashes are those stores already hold, so an upgrade re-anchors nothing", () => {
    // Written by every earlier version: sha1 of JSON.stringify([schedule, runOnStart]), 16 hex digits.
    expect(legacyHash([{ kind: "every", everyMs: 60_000 }, false])).toBe("b479c2a2ddff70a4");
    expect(scheduleHash(makeSpec("a", { schedule: { kind: "every", everyMs: 60_000 } }))).toBe("b479c2a2ddff70a4");
    expect(scheduleHash(makeSpec("a", { schedule: { kind: "cron", expression: "0 30 2 * * *", timezone: "Europe/London" }, runOnStart: true })))
      .toBe("f86c5a5229d553ad");
  });

  it("an apply after an upgrade rewrites old hashes as updated, keeping every slot; then the job is unchanged", async () => {
    const path = join(tempDir(), "s.db");
    const store = SqliteStore.open(path);
    try {
      const every = makeSpec("every", { schedule: { kind: "every", everyMs: 60_000 } });
      await store.applyJobs([every, spec], 1_000);
      const before = await store.listJobs();
      // What an earlier version stored: hashes of JSON.stringify, in the spec's own key order.
      const db = new Database(path);
      const set = db.prepare("UPDATE jobs SET spec_hash = ?, schedule_hash = ? WHERE name = ?");
      for (const s of [every, spec]) set.run(legacyHash(s), legacyHash([s.schedule, s.runOnStart]), s.name);
      db.close();
      const report = await store.applyJobs([reversed(every), reversed(spec)], 500_000);
      expect(report.updated).toEqual(["every", "report"]);
      const after = await store.listJobs();
      expect(after.map((j) => [j.anchor, j.nextSlot, j.paused])).toEqual(before.map((j) => [j.anchor, j.nextSlot, j.paused]));
      expect(after.map((j) => j.specHash)).toEqual(before.map((j) => j.specHash));
      expect((await store.applyJobs([every, spec], 600_000)).unchanged).toEqual(["every", "report"]);
    } finally {
      await store.close();
    }
  });
});

describe("stableJson", () => {
  it("with a memo, serializes a part shared by many specs once, and gives the same text as without", () => {
    const env = { B: "2", A: "1" };
    const memo = new WeakMap<object, string>();
    const a = { name: "a", env };
    const b = { name: "b", env };
    expect(stableJson(a, memo)).toBe(stableJson(a));
    expect(memo.get(env)).toBe('{"A":"1","B":"2"}');
    memo.set(env, '{"A":"memo"}'); // the second spec takes the part's text from the memo
    expect(stableJson(b, memo)).toBe('{"env":{"A":"memo"},"name":"b"}');
    expect(memo.has(a)).toBe(false); // the spec itself is not kept: only its shared parts
  });

  it("is JSON.stringify for values whose keys are already sorted, whatever they hold", () => {
    const values = [
      null, true, 0, -0, 1.5, NaN, Infinity, "", "a \"quoted\" \\ line\n\u2028", [], {}, [1, [2, [3]], { a: null }],
      { a: 1, b: [null, undefined, "x"], c: { d: undefined, e: { f: false } }, "k y": -1e21, "é": "ü" },
    ];
    for (const value of values) expect(stableJson(value)).toBe(JSON.stringify(value));
  });

  it("sorts every object's keys, at every depth", () => {
    expect(stableJson({ b: { z: 1, y: [{ q: 1, p: 2 }] }, a: 0 })).toBe('{"a":0,"b":{"y":[{"p":2,"q":1}],"z":1}}');
    expect(stableJson({ f: () => 1, s: Symbol("x"), u: undefined, v: 1 })).toBe('{"v":1}'); // left out, as JSON.stringify does
  });
});
