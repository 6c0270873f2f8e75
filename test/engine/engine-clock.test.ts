import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine/engine.js";
import { StoreClock } from "../../src/engine/heartbeat/store-clock.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { FakeClock } from "../../src/testing/fake-clock.js";
import { every } from "../helpers/engine-harness.js";
import { PG_BASE, postgresUp } from "../helpers/postgres.js";
import { makeSpec } from "../helpers/spec.js";

const up = await postgresUp();
const schemas: string[] = [];

/**
 * Moves the fake clock at the pace of real time (it stays 5 s behind the database's), in small
 * steps that give real database round trips time to land.
 */
async function advanceInStep(clock: FakeClock, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 50) {
    await new Promise((r) => setTimeout(r, 50));
    await clock.advance(Math.min(50, left));
  }
}

afterAll(async () => {
  if (!up || schemas.length === 0) return;
  const sql = postgres(PG_BASE, { onnotice: () => {} });
  for (const s of schemas) await sql.unsafe(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await sql.end();
});

describe("StoreClock", () => {
  it("takes a skew reading as its correction, but ignores readings within the deadband", () => {
    const local = new FakeClock(1_000_000);
    const clock = new StoreClock(local);
    expect(clock.now()).toBe(1_000_000);
    expect(clock.correct(5_003.4, 20)).toBe(true);
    expect(clock.now()).toBe(1_005_003);
    expect(clock.correct(5_010, 20)).toBe(false); // round-trip noise: firing times stay put
    expect(clock.offsetMs).toBe(5_003);
    expect(clock.correct(-2_000, 20)).toBe(true);
    expect(clock.now()).toBe(998_000);
  });
});

describe.skipIf(!up)("one clock for all instances: the engine schedules on PostgreSQL's clock", () => {
  it("an instance whose clock is 5 s slow claims slots on the database's time, warns, and reports its skew", async () => {
    const schema = `jc_clock_${randomBytes(5).toString("hex")}`;
    schemas.push(schema);
    const store = await PostgresStore.open(`${PG_BASE}?schema=${schema}`);
    const local = new FakeClock(Date.now() - 5_000); // this machine is 5 s behind
    const slots: number[] = [];
    const engine = new Engine({
      store, clock: local, instanceId: "slow-machine", heartbeatMs: 1_000, abandonAfterMs: 30_000,
      handlers: new Map([["tick", (ctx) => void slots.push(ctx.slot.getTime())]]),
    });
    const warnings: string[] = [];
    engine.events.on("engine:warning", (w) => warnings.push(w.message));
    try {
      // Applied before start (as the daemon does): anchored on the database's clock already.
      const appliedEarly = Date.now();
      await engine.apply([makeSpec("early", every(3_600_000))]);
      expect(Math.abs((await store.getJob("early"))!.anchor - appliedEarly)).toBeLessThan(500);
      await engine.start();
      // Corrected before the first slot is judged: the engine's "now" is the database's.
      expect(Math.abs(engine.clock.now() - Date.now())).toBeLessThan(500);
      expect(warnings.filter((w) => /clock is 5\.\ds off the store's/.test(w))).toHaveLength(1);
      const [me] = (await store.listInstances()).filter((i) => i.id === "slow-machine");
      expect(me!.clockSkewMs).toBeGreaterThan(4_800);
      expect(me!.clockSkewMs).toBeLessThan(5_500);

      const appliedAt = Date.now();
      await engine.apply([makeSpec("early", every(3_600_000)), makeSpec("tick", every(1_000))]);
      await advanceInStep(local, 3_050);
      expect(slots).toHaveLength(3);
      // Anchored on the database's clock: the first slot is one interval after the apply in
      // database time, not 5 s earlier as the machine's own clock would have put it.
      expect(Math.abs(slots[0]! - (appliedAt + 1_000))).toBeLessThan(500);
      const runs = (await store.listRuns({ job: "tick", limit: 10 })).reverse();
      expect(runs.map((r) => r.slot)).toEqual(slots);
      expect(runs.every((r) => r.startedAt! >= r.slot)).toBe(true); // never started before its slot, on either clock
      // Heartbeats after the correction keep the skew of the machine's own clock on record.
      await advanceInStep(local, 1_000);
      const [again] = (await store.listInstances()).filter((i) => i.id === "slow-machine");
      expect(again!.clockSkewMs).toBeGreaterThan(4_800);
      expect(warnings.filter((w) => /off the store's/.test(w))).toHaveLength(1); // warned once, not every beat
    } finally {
      const stopping = engine.stop(0);
      await local.advance(0);
      await stopping;
      await store.close();
    }
  });
});
