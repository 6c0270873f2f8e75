import Database from "better-sqlite3";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { makeSpec, tempDir } from "../helpers/spec.js";
import { describeStoreContract } from "./contract.js";
import { describeOperationsContract } from "./contract-operations.js";
import { describeClaimContract } from "./contract-claims.js";

describeStoreContract("SqliteStore", async () => SqliteStore.open(join(tempDir(), "jobclock.db")));
describeOperationsContract("SqliteStore", async () => SqliteStore.open(join(tempDir(), "jobclock.db")));
describeClaimContract("SqliteStore", async () => SqliteStore.open(join(tempDir(), "jobclock.db")));

describe("SqliteStore on disk", () => {
  it("creates the database file readable by its owner only", async () => {
    const path = join(tempDir(), "new", "s.db");
    await SqliteStore.open(path).close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("uses WAL and records its schema version", async () => {
    const path = join(tempDir(), "s.db");
    const store = SqliteStore.open(path);
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.prepare("SELECT version, name FROM schema_migrations").all()).toEqual([{ version: 1, name: "initial" }, { version: 2, name: "health" }, { version: 3, name: "instance_skew" }, { version: 4, name: "runs_by_time" }, { version: 5, name: "operations" }, { version: 6, name: "blocked_by" }]);
    db.close();
  });

  it("refuses a database whose schema is newer than the code, and leaves it alone", async () => {
    const path = join(tempDir(), "s.db");
    await SqliteStore.open(path).applyJobs([makeSpec("keep")], 1).then(() => {});
    const db = new Database(path);
    db.prepare("INSERT INTO schema_migrations VALUES (99, 'future', 0)").run();
    db.close();
    expect(() => SqliteStore.open(path)).toThrow(/schema version 99, newer than this jobclock understands \(6\); upgrade jobclock/);
    const check = new Database(path, { readonly: true });
    expect(check.prepare("SELECT name FROM jobs").pluck().all()).toEqual(["keep"]);
    check.close();
  });

  it("refuses a file that is not SQLite without changing a byte", () => {
    const path = join(tempDir(), "notes.db");
    writeFileSync(path, "these are my notes, not a database\n".repeat(200));
    const before = readFileSync(path);
    expect(() => SqliteStore.open(path)).toThrow(expect.objectContaining({ code: "STORE_NOT_SQLITE", message: expect.stringMatching(/is not a SQLite database/) }));
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it("reports a database locked by another process, and loses nothing", async () => {
    const path = join(tempDir(), "s.db");
    const store = SqliteStore.open(path, { busyTimeoutMs: 100 });
    await store.applyJobs([makeSpec("a")], 1);
    const other = new Database(path);
    other.exec("BEGIN EXCLUSIVE");
    await expect(store.setPaused("a", true, 2)).rejects.toMatchObject({ code: "STORE_LOCKED", message: expect.stringMatching(/locked by another process/) });
    other.exec("ROLLBACK");
    other.close();
    expect(await store.setPaused("a", true, 3)).toBe(true);
    expect((await store.getJob("a"))!.paused).toBe(true);
    await store.close();
  });

  it("sees another connection's writes through the change token", async () => {
    const path = join(tempDir(), "s.db");
    const a = SqliteStore.open(path);
    const b = SqliteStore.open(path);
    await a.applyJobs([makeSpec("j")], 1);
    const before = await a.changeToken();
    await b.setPaused("j", true, 2);
    expect(await a.changeToken()).not.toBe(before);
    await a.close();
    await b.close();
  });
});

describe("SqliteStore migrations", () => {
  it("upgrades a version-1 database in place, keeping its jobs and runs", async () => {
    const path = join(tempDir(), "old.db");
    // Build a version-1 database by hand, as the first release left it.
    const db = new Database(path);
    db.exec(readFileSync(new URL("../../src/store/sqlite/migrations/001_initial.sql", import.meta.url), "utf8"));
    db.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    db.prepare("INSERT INTO schema_migrations VALUES (1, 'initial', 0)").run();
    db.prepare(
      `INSERT INTO jobs (name, spec, spec_hash, schedule_hash, anchor, next_slot, created_at, updated_at, rev)
       VALUES ('old', ?, 'h', 's', 1, 2, 1, 1, 1)`,
    ).run(JSON.stringify(makeSpec("old")));
    db.close();
    const store = SqliteStore.open(path);
    expect((await store.getJob("old"))!).toMatchObject({ name: "old", resumedAt: null });
    await store.close();
  });

  it("upgrades a store the previous release left at version 5: skipped runs name their blocker", async () => {
    const path = join(tempDir(), "v5.db");
    const store = SqliteStore.open(path);
    await store.close();
    const db = new Database(path); // as the previous release left it: no blocked_by, version 5
    db.exec("ALTER TABLE runs DROP COLUMN blocked_by; DELETE FROM schema_migrations WHERE version = 6");
    db.close();
    const upgraded = SqliteStore.open(path);
    try {
      await upgraded.applyJobs([makeSpec("busy", { overlap: "skip" })], 0);
      const job = (await upgraded.getJob("busy"))!;
      const claim = (slot: number) => ({
        job: "busy", specHash: job.specHash, instanceId: "i", slot, trigger: "schedule" as const, missed: null,
        overlap: "skip" as const, waitIfBusy: false, now: slot, source: { kind: "slot" as const, expected: slot, next: slot + 60_000 },
      });
      const [first] = await upgraded.claimSlots([claim(job.nextSlot!)]);
      const [second] = await upgraded.claimSlots([claim(job.nextSlot! + 60_000)]);
      expect(first).toMatchObject({ kind: "started" });
      expect(second).toMatchObject({ kind: "skipped", run: { blockedBy: (first as { run: { id: number } }).run.id } });
    } finally {
      await upgraded.close();
    }
  });
});

describe("SqliteStore pushes changes", () => {
  it("a trigger written by another process (the CLI) runs within a quarter second, with polling slowed to a minute", async () => {
    const { createScheduler } = await import("../../src/scheduler.js");
    const path = join(tempDir(), "push.db");
    const ran: number[] = [];
    const clock = createScheduler({ store: `sqlite:${path}`, syncInterval: "60s" });
    clock.job("hourly", { every: "1h" }, () => void ran.push(Date.now()));
    await clock.start();
    const cli = SqliteStore.open(path); // what `jobclock trigger` does: its own connection
    try {
      const t0 = Date.now();
      await cli.requestTrigger("hourly", t0);
      const deadline = Date.now() + 3_000;
      while (ran.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(ran).toHaveLength(1); // without the file watch it would wait for the minute's poll
      expect(ran[0]! - t0).toBeLessThan(250);
    } finally {
      await clock.stop({ timeout: 0 });
      await cli.close();
    }
  });
});
