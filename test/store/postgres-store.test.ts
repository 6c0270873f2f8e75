import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { PG_BASE, postgresUp } from "../helpers/postgres.js";
import { afterAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { makeSpec } from "../helpers/spec.js";
import { describeStoreContract } from "./contract.js";
import { describeOperationsContract } from "./contract-operations.js";
import { describeClaimContract } from "./contract-claims.js";

const BASE = PG_BASE;

const schemas: string[] = [];
const fresh = () => {
  const schema = `jc_test_${randomBytes(6).toString("hex")}`;
  schemas.push(schema);
  return `${BASE}?schema=${schema}`;
};

const up = await postgresUp();

afterAll(async () => {
  if (!up || schemas.length === 0) return;
  const sql = postgres(BASE, { onnotice: () => {} });
  for (const s of schemas) await sql.unsafe(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await sql.end();
});

if (up) describeStoreContract("PostgresStore", () => PostgresStore.open(fresh()));
if (up) describeOperationsContract("PostgresStore", () => PostgresStore.open(fresh()));
if (up) describeClaimContract("PostgresStore", () => PostgresStore.open(fresh()));

describe.skipIf(!up)("PostgresStore specifics", () => {
  it("keeps separate setups apart by schema in one database", async () => {
    const a = await PostgresStore.open(fresh());
    const b = await PostgresStore.open(fresh());
    await a.applyJobs([makeSpec("only-in-a")], 1);
    expect((await b.listJobs()).map((j) => j.name)).toEqual([]);
    expect((await a.listJobs()).map((j) => j.name)).toEqual(["only-in-a"]);
    await a.close();
    await b.close();
  });

  it("migrates once when several instances start together, and refuses a newer schema", async () => {
    const url = fresh();
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(url)));
    const sql = postgres(BASE, { onnotice: () => {} });
    const schema = new URL(url).searchParams.get("schema")!;
    const versions = await sql.unsafe(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await sql.unsafe(`INSERT INTO "${schema}".schema_migrations VALUES (99, 'future', 0)`);
    await expect(PostgresStore.open(url)).rejects.toMatchObject({ code: "STORE_SCHEMA_NEWER" });
    await sql.end();
    for (const s of stores) await s.close();
  });

  it("upgrades a store the previous release left at version 7: blocked_by added, the unused claim function dropped, the batch one kept for instances still on it", async () => {
    const url = fresh();
    const schema = new URL(url).searchParams.get("schema")!;
    await (await PostgresStore.open(url)).close();
    const sql = postgres(BASE, { onnotice: () => {}, connection: { search_path: schema } });
    try {
      // As the previous release left it: no blocked_by, jobclock_claim still there, version 7.
      await sql.unsafe("ALTER TABLE runs DROP COLUMN blocked_by; DELETE FROM schema_migrations WHERE version = 8");
      await sql.unsafe("CREATE FUNCTION jobclock_claim(c jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT c $$");
      const store = await PostgresStore.open(url);
      await store.close();
      const columns = await sql`SELECT column_name FROM information_schema.columns WHERE table_schema = ${schema} AND table_name = 'runs' AND column_name = 'blocked_by'`;
      expect(columns).toHaveLength(1);
      const functions = await sql`SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ${schema} AND p.proname LIKE 'jobclock_claim%' ORDER BY 1`;
      expect(functions.map((f) => f.proname)).toEqual(["jobclock_claim_batch", "jobclock_claim_locked"]);
    } finally {
      await sql.end();
    }
  });

  it("a heartbeat skips a run whose row another transaction holds (a finish under way) instead of waiting, so the two never deadlock", async () => {
    const url = fresh();
    const store = await PostgresStore.open(url);
    const schema = new URL(url).searchParams.get("schema")!;
    const sql = postgres(BASE, { onnotice: () => {}, connection: { search_path: schema } });
    try {
      await store.applyJobs([makeSpec("a"), makeSpec("b")], 1_000);
      await store.registerInstance({ id: "me", host: "h", pid: 1, version: "1", startedAt: 1_000, lastSeen: 1_000, stoppedAt: null });
      const ids: number[] = [];
      for (const name of ["a", "b"]) {
        const j = (await store.getJob(name))!;
        const [o] = await store.claimSlots([{
          job: name, specHash: j.specHash, instanceId: "me", slot: j.nextSlot!, trigger: "schedule", missed: null, overlap: "skip",
          waitIfBusy: false, now: j.nextSlot!, source: { kind: "slot", expected: j.nextSlot!, next: j.nextSlot! + 60_000 },
        }]);
        ids.push((o as { run: { id: number } }).run.id);
      }
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holder = sql.begin(async (tx) => {
        await tx`SELECT id FROM runs WHERE id = ${ids[0]!} FOR UPDATE`;
        locked();
        await held;
      });
      await isLocked;
      const beat = await Promise.race([
        store.heartbeat("me", 500_000, ids).then(() => "done"),
        new Promise((r) => setTimeout(() => r("waited"), 3_000)),
      ]);
      release();
      await holder;
      expect(beat).toBe("done");
      const rows = await sql`SELECT id, heartbeat_at FROM runs WHERE id = ANY(${ids}::bigint[]) ORDER BY id`;
      const beatAt = new Map(rows.map((r) => [Number(r.id), Number(r.heartbeat_at)]));
      expect(beatAt.get(ids[1]!)).toBe(500_000); // the free row got its heartbeat
      expect(beatAt.get(ids[0]!)).not.toBe(500_000); // the held one was skipped, not waited for
    } finally {
      await sql.end();
      await store.close();
    }
  });

  it("says clearly when the server is not there, without the password", async () => {
    await expect(PostgresStore.open("postgres://u:hunter2@127.0.0.1:1/db")).rejects.toMatchObject({
      code: "STORE_UNREACHABLE", message: expect.not.stringMatching(/hunter2/),
    });
  });
});

describe.skipIf(!up)("changes reach PostgreSQL instances by LISTEN/NOTIFY", () => {
  it("a trigger from another machine runs within a second, even with polling slowed to a minute", async () => {
    const { createScheduler } = await import("../../src/scheduler.js");
    const url = fresh();
    const ran: number[] = [];
    const clock = createScheduler({ store: url, syncInterval: "60s" });
    clock.job("hourly", { every: "1h" }, () => void ran.push(Date.now()));
    await clock.start();
    const other = await PostgresStore.open(url); // what `jobclock trigger` on another machine does
    try {
      const t0 = Date.now();
      await other.requestTrigger("hourly", t0);
      const deadline = Date.now() + 3_000;
      while (ran.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(ran).toHaveLength(1);
      expect(ran[0]! - t0).toBeLessThan(1_000);
    } finally {
      await clock.stop({ timeout: 0 });
      await other.close();
    }
  });
});

describe.skipIf(!up)("PostgreSQL claims never wait on another transaction's row lock", () => {
  it("a trigger that meets its job's row locked elsewhere is claimed as soon as the lock goes, once", async () => {
    const { createScheduler } = await import("../../src/scheduler.js");
    const url = fresh();
    const ran: number[] = [];
    const clock = createScheduler({ store: url });
    clock.job("hourly", { every: "1h" }, () => void ran.push(Date.now()));
    await clock.start();
    const other = await PostgresStore.open(url);
    const schema = new URL(url).searchParams.get("schema")!;
    const side = postgres(BASE, { onnotice: () => {}, max: 1 });
    try {
      let release: () => void = () => {};
      const held = new Promise<void>((r) => (release = r));
      let locked: () => void = () => {};
      const isLocked = new Promise<void>((r) => (locked = r));
      // Another transaction holds the job's row (as another instance's claim batch would).
      const holder = side.begin(async (tx) => {
        await tx.unsafe(`SELECT 1 FROM "${schema}".jobs WHERE name = 'hourly' FOR UPDATE`);
        locked();
        await held;
      });
      await isLocked;
      const t0 = Date.now();
      await other.requestTrigger("hourly", t0);
      await new Promise((r) => setTimeout(r, 400));
      expect(ran).toEqual([]); // answered "contended", not run, and nothing waited on the lock
      release();
      await holder;
      const deadline = Date.now() + 3_000;
      while (ran.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(ran).toHaveLength(1);
      expect(ran[0]! - t0).toBeLessThan(1_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(ran).toHaveLength(1);
    } finally {
      await clock.stop({ timeout: 0 });
      await other.close();
      await side.end();
    }
  });
});
