import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";
import { tempDir } from "../helpers/spec.js";

const BASE = process.env.JOBCLOCK_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

async function postgresUp(): Promise<boolean> {
  const up = await new Promise<boolean>((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port: 5432 }, () => (s.end(), resolve(true)));
    s.on("error", () => resolve(false));
  });
  if (up) return true;
  if (process.env.CI === "true") throw new Error("PostgreSQL is required in CI at 127.0.0.1:5432");
  console.warn("skipping: no PostgreSQL at 127.0.0.1:5432");
  return false;
}

const up = await postgresUp();
const schema = `jc_multi_${randomBytes(5).toString("hex")}`;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  if (!up) return;
  const sql = postgres(BASE, { onnotice: () => {} });
  await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await sql.end();
});

describe.skipIf(!up)("several instances on one PostgreSQL store", () => {
  it("3 instances, 50 jobs every second: no slot is doubled or lost (each has exactly one record)", async () => {
    const dir = tempDir("jobclock-multi-");
    const jobs = Array.from({ length: 50 }, (_, i) => `  j${i}: { every: 1s, shell: "true" }`).join("\n");
    const configs = [0, 1, 2].map((n) => {
      const d = join(dir, `i${n}`);
      mkdirSync(d);
      const path = join(d, "jobclock.yaml");
      writeFileSync(path, `store: "${BASE}?schema=${schema}"\npidfile: ./jobclock.pid\nlog: { file: ./info.log }\nheartbeat: 1s\nabandon_after: 3s\njobs:\n${jobs}\n`);
      return path;
    });
    for (const config of configs) {
      const child = spawn(process.execPath, [CLI, "--config", config, "run"], { stdio: "ignore" });
      children.push(child);
    }
    const sql = postgres(`${BASE}`, { onnotice: () => {}, connection: { search_path: schema } });
    try {
      await waitFor("runs from all three instances", async () => {
        const rows = await sql`SELECT count(DISTINCT instance_id) AS n FROM runs`.catch(() => [{ n: 0 }]);
        return Number(rows[0]!.n) >= 2;
      }, 20_000);
      await new Promise((r) => setTimeout(r, 12_000));
      for (const c of children) c.kill("SIGTERM");
      await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on("exit", r)))));
      const doubled = await sql`SELECT job, slot, count(*) AS n FROM runs GROUP BY job, slot HAVING count(*) > 1`;
      expect(doubled).toEqual([]);
      // Every slot between a job's first and last record has exactly one record: a run, a skip,
      // or a missed range (which covers missed_count slots).
      const perJob = await sql`SELECT job, min(slot) AS first, max(coalesce(missed_until, slot)) AS last,
          sum(coalesce(missed_count, 1)) AS covered FROM runs WHERE trigger IN ('schedule', 'catchup') GROUP BY job`;
      expect(perJob).toHaveLength(50);
      const unaccounted = perJob.reduce((sum, j) => sum + ((Number(j.last) - Number(j.first)) / 1_000 + 1 - Number(j.covered)), 0);
      expect(unaccounted).toBe(0);
      const total = perJob.reduce((sum, j) => sum + Number(j.covered), 0);
      expect(total).toBeGreaterThanOrEqual(50 * 10);
      const byInstance = await sql`SELECT instance_id, count(*) AS n FROM runs GROUP BY instance_id`;
      expect(byInstance.length).toBeGreaterThanOrEqual(2); // the work is shared, not all on one
      const statuses = await sql`SELECT status, count(*) AS n FROM runs GROUP BY status ORDER BY status`;
      console.log(`multi-instance: ${total} slots, ${statuses.map((r) => `${r.n} ${r.status}`).join(", ")}; runs per instance ${byInstance.map((r) => r.n).join("/")}`);
      // Each slot ran: none skipped or recorded missed (a little slack for a loaded CI machine).
      const succeeded = Number(statuses.find((r) => r.status === "succeeded")?.n ?? 0);
      expect(succeeded / total).toBeGreaterThanOrEqual(0.98);
    } finally {
      await sql.end();
    }
  });
});
