import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import postgres from "postgres";
import { PG_BASE, postgresUp } from "../helpers/postgres.js";
import { afterAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { isRoot } from "../helpers/service-user.js";
import { waitFor } from "../helpers/engine-harness.js";
import { tempDir } from "../helpers/spec.js";
import { tcpProxy } from "../helpers/tcp-proxy.js";

const BASE = PG_BASE;
/** How far the engine's database-clock estimate may move between two readings under load. */
const CLOCK_SLACK_MS = 100;

const up = await postgresUp();
const schema = `jc_multi_${randomBytes(5).toString("hex")}`;
const children: ChildProcess[] = [];
const schemasToDrop: string[] = [schema];
/** What each daemon printed on stderr: shown if one dies when it should not. */
const stderrOf = new Map<ChildProcess, string>();

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  if (!up) return;
  const sql = postgres(BASE, { onnotice: () => {} });
  for (const s of schemasToDrop) await sql.unsafe(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await sql.end();
});

/** Resolves when the process has exited (at once if it already has, by code or by signal). */
function exited(c: ChildProcess): Promise<void> {
  return new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));
}

/** Starts `n` daemons on one schema, each with its own folder, pidfile and log. */
function startInstances(n: number, schemaName: string, jobs: string, base = BASE, host?: string): { configs: string[]; procs: ChildProcess[] } {
  const dir = tempDir("jobclock-multi-");
  const configs = Array.from({ length: n }, (_, k) => {
    const d = join(dir, `i${k}`);
    mkdirSync(d);
    const path = join(d, "jobclock.yaml");
    writeFileSync(path, `store: "${base}?schema=${schemaName}"\npidfile: ./jobclock.pid\nlog: { file: ./info.log }\nheartbeat: 1s\nabandon_after: 3s\nhttp: { listen: "127.0.0.1:0" }\njobs:\n${jobs}\n`);
    return path;
  });
  const procs = configs.map((config) => {
    // `host`: as on another machine, with a hostname of its own (a UTS namespace; needs root).
    const argv = [process.execPath, CLI, "--config", config, "run"];
    const [file, args] = host ? ["unshare", ["--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host, ...argv]] : [argv[0]!, argv.slice(1)];
    const c = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"] });
    c.stderr!.on("data", (d) => stderrOf.set(c, (stderrOf.get(c) ?? "") + d));
    return c;
  });
  children.push(...procs);
  return { configs, procs };
}

describe.skipIf(!up)("several instances on one PostgreSQL store", () => {
  it("kill -9 of the instance running a 10 s job: the run is abandoned within the budget, the others keep every slot", async () => {
    const killSchema = `${schema}_kill`;
    schemasToDrop.push(killSchema);
    const fast = Array.from({ length: 20 }, (_, i) => `  f${i}: { every: 1s, shell: "true" }`).join("\n");
    const { configs, procs } = startInstances(3, killSchema, `${fast}\n  long: { every: 1h, shell: "sleep 10" }`);
    const sql = postgres(BASE, { onnotice: () => {}, connection: { search_path: killSchema } });
    try {
      await waitFor("the instances to run jobs", async () => Number((await sql`SELECT count(*) AS n FROM runs`.catch(() => [{ n: 0 }]))[0]!.n) > 40, 20_000);
      execFileSync(process.execPath, [CLI, "--config", configs[0]!, "trigger", "long"]);
      let holder = "";
      await waitFor("the long run to start", async () => {
        const [r] = await sql`SELECT instance_id FROM runs WHERE job = 'long' AND status = 'running'`;
        holder = (r?.instance_id as string) ?? "";
        return holder !== "";
      }, 5_000);
      const [inst] = await sql`SELECT pid FROM instances WHERE id = ${holder}`;
      const victim = procs.find((p) => p.pid === Number(inst!.pid))!;
      const killedAt = Date.now();
      victim.kill("SIGKILL");
      await waitFor("the long run to be abandoned", async () => {
        const [r] = await sql`SELECT status FROM runs WHERE job = 'long'`;
        return r!.status === "abandoned";
      }, 10_000);
      const detectedInMs = Date.now() - killedAt;
      expect(detectedInMs).toBeLessThan(3_000 + 3_000); // the 3 s budget plus a heartbeat round or two
      await new Promise((r) => setTimeout(r, 4_000));
      for (const c of procs) if (c !== victim) c.kill("SIGTERM");
      await Promise.all(procs.map(exited));
      expect(await sql`SELECT job, slot FROM runs GROUP BY job, slot HAVING count(*) > 1`).toEqual([]);
      // Slots due from two seconds after the kill on: all run by the survivors.
      const after = await sql`SELECT status, count(*) AS n FROM runs WHERE job LIKE 'f%' AND slot > ${killedAt + 2_000}
        AND slot < (SELECT max(slot) FROM runs) - 1000 GROUP BY status`;
      expect(after.map((r) => r.status)).toEqual(["succeeded"]);
      expect(Number(after[0]!.n)).toBeGreaterThanOrEqual(20); // at least a full second of all 20 jobs
      console.log(`kill -9: long run abandoned ${detectedInMs} ms after the kill; ${after[0]!.n} later slots all succeeded`);
    } finally {
      await sql.end();
    }
  });

  it.skipIf(!isRoot("the two-machines config test (a hostname of its own through unshare)"))("two instances with different configs: the last apply wins, both follow the store; a stale config is refused and every instance says so", async () => {
    const cfgSchema = `${schema}_cfg`;
    schemasToDrop.push(cfgSchema);
    // The same cwd everywhere, as the same config deployed to every machine has (a job's cwd
    // defaults to its config's folder, and each instance here has a folder of its own).
    const job = (n: string) => `  ${n}: { every: 1s, shell: "echo ${n}", cwd: /tmp }`;
    const firstJobs = ["a", "k1", "k2"].map(job).join("\n");
    const first = startInstances(1, cfgSchema, firstJobs);
    const sql = postgres(BASE, { onnotice: () => {}, connection: { search_path: cfgSchema } });
    const logOf = (config: string) => {
      const path = join(dirname(config), "info.log");
      return existsSync(path) ? readFileSync(path, "utf8") : "";
    };
    try {
      await waitFor("job a to run", async () => Number((await sql`SELECT count(*) AS n FROM runs WHERE job = 'a'`.catch(() => [{ n: 0 }]))[0]!.n) > 1, 15_000);
      // Applied last: a edited away (1 of 3 retired, which the guard allows) and twenty b jobs,
      // so that both instances get some of them to claim first.
      const bJobs = Array.from({ length: 20 }, (_, i) => job(`b${i}`)).join("\n");
      const second = startInstances(1, cfgSchema, `${job("k1")}\n${job("k2")}\n${bJobs}`, BASE, "jc-deployed-host");
      await waitFor("job a to be retired", async () => (await sql`SELECT retired_at FROM jobs WHERE name = 'a'`)[0]!.retired_at !== null, 15_000);
      await waitFor("both instances to run b jobs (the first one follows the second's config)", async () => {
        const rows = await sql`SELECT DISTINCT instance_id FROM runs WHERE job LIKE 'b%'`;
        return rows.length === 2;
      }, 15_000);
      // Every instance logs the change, with where it came from.
      await waitFor("the first instance to log the second's apply", () => /WARN\s+config applied: 1 job\(s\) retired .*by="start on jc-deployed-host"/.test(logOf(first.configs[0]!)), 10_000);
      const lastA = Number((await sql`SELECT max(slot) AS s FROM runs WHERE job = 'a'`)[0]!.s);
      await new Promise((r) => setTimeout(r, 2_000));
      expect(Number((await sql`SELECT max(slot) AS s FROM runs WHERE job = 'a'`)[0]!.s)).toBe(lastA); // retired: no more runs

      // A third instance, on the first one's machine, started with the first, now stale, config
      // (the deploy of the second config did not reach it): refused, it runs the store's jobs.
      const stale = startInstances(1, cfgSchema, firstJobs);
      await waitFor("the stale instance to refuse its config", () => /ERROR\s+the config's jobs were NOT applied.*generation 1 .*store has moved on to generation 2/.test(logOf(stale.configs[0]!)), 15_000);
      await waitFor("the stale instance to run b jobs from the store", async () =>
        (await sql`SELECT 1 FROM runs r JOIN instances i ON i.id = r.instance_id WHERE r.job LIKE 'b%' AND i.id NOT IN (SELECT instance_id FROM runs WHERE job = 'a' AND instance_id IS NOT NULL)`).length > 0, 15_000);
      expect((await sql`SELECT retired_at FROM jobs WHERE name = 'a'`)[0]!.retired_at).not.toBeNull(); // not reverted
      await waitFor("the first instance to log the refusal", () => /WARN\s+config refused \(nothing changed\): this config is the job set of generation 1/.test(logOf(first.configs[0]!)), 10_000);
      for (const c of [...first.procs, ...second.procs, ...stale.procs]) c.kill("SIGTERM");
      await Promise.all([...first.procs, ...second.procs, ...stale.procs].map(exited));
      expect(await sql`SELECT job, slot FROM runs GROUP BY job, slot HAVING count(*) > 1`).toEqual([]);
    } finally {
      await sql.end();
    }
  });

  it("the database going away (connections cut for 3 s): no instance dies, running jobs finish and are recorded, no slot is doubled or left blocked", async () => {
    const cutSchema = `${schema}_cut`;
    schemasToDrop.push(cutSchema);
    const proxy = await tcpProxy(5432);
    const viaProxy = BASE.replace("127.0.0.1:5432", `127.0.0.1:${proxy.port}`);
    const jobs = Array.from({ length: 10 }, (_, i) => `  c${i}: { every: 1s, shell: "true" }`).join("\n");
    const { configs, procs } = startInstances(2, cutSchema, `${jobs}\n  spans: { every: 1h, shell: "sleep 2; echo done" }`, viaProxy);
    const sql = postgres(BASE, { onnotice: () => {}, connection: { search_path: cutSchema } });
    const count = async () => Number((await sql`SELECT count(*) AS n FROM runs WHERE status = 'succeeded'`.catch(() => [{ n: 0 }]))[0]!.n);
    try {
      await waitFor("runs through the proxy", async () => (await count()) > 20, 20_000);
      // Not execFileSync: the proxy lives in this process and must keep forwarding meanwhile.
      await promisify(execFile)(process.execPath, [CLI, "--config", configs[0]!, "trigger", "spans"]); // runs across the cut
      await waitFor("the spanning run to start", async () => (await sql`SELECT 1 FROM runs WHERE job = 'spans' AND status = 'running'`).length === 1, 5_000);
      await proxy.cut();
      const cutAt = Date.now();
      await new Promise((r) => setTimeout(r, 3_000));
      for (const p of procs) if (p.exitCode !== null) console.log(`daemon ${p.pid} exited ${p.exitCode}:\n${stderrOf.get(p) ?? "(no stderr)"}`);
      expect(procs.every((p) => p.exitCode === null && p.signalCode === null)).toBe(true); // nobody crashed
      await proxy.restore();
      const restoredAt = Date.now();
      const before = await count();
      await waitFor("runs again after the database is back", async () => (await count()) > before + 20, 30_000);
      const [firstBack] = await sql`SELECT min(started_at) AS at FROM runs WHERE started_at >= ${restoredAt}`;
      const resumedInMs = Number(firstBack!.at) - restoredAt;
      for (const c of procs) c.kill("SIGTERM");
      const codes = await Promise.all(procs.map((c) => exited(c).then(() => c.exitCode)));
      expect(codes).toEqual([0, 0]); // drained and stopped cleanly, not crashed
      expect(await sql`SELECT job, slot FROM runs GROUP BY job, slot HAVING count(*) > 1`).toEqual([]);
      expect(restoredAt - cutAt).toBeGreaterThanOrEqual(3_000);
      // The job that ran through the outage finished during it, and its result was written after.
      const [spans] = await sql`SELECT status, finished_at, stdout FROM runs WHERE job = 'spans'`;
      expect(spans).toMatchObject({ status: "succeeded", stdout: "done\n" });
      expect(Number(spans!.finished_at)).toBeLessThan(restoredAt);
      // Nothing was left "running" to block a job: nothing abandoned, cancelled or still running
      // (catch-up: once records the outage's slots as missed and runs one). A slot may be skipped
      // only for a run that really ran (a catch-up run overlapping the next slot, or one whose
      // result waited for the store), never for a claim whose answer was lost and nobody ran.
      const statuses = await sql`SELECT status, count(*) AS n FROM runs GROUP BY status ORDER BY status`;
      expect(statuses.map((r) => r.status as string).filter((s) => !["succeeded", "missed", "skipped"].includes(s))).toEqual([]);
      const blockers = await sql`SELECT DISTINCT r.id, r.status FROM runs s JOIN runs r ON r.id = s.blocked_by
        WHERE s.status = 'skipped'`;
      expect(blockers.filter((r) => r.status !== "succeeded")).toEqual([]);
      expect(resumedInMs).toBeLessThan(2_500); // claims are retried every second; the driver reconnects at once
      console.log(`outage: first run ${resumedInMs} ms after the database came back; ${statuses.map((r) => `${r.n} ${r.status}`).join(", ")}`);
    } finally {
      await sql.end();
      await proxy.close();
    }
  });

  it("3 instances, 50 jobs every second for 30 s: every slot runs exactly once (none doubled, none missed)", async () => {
    const jobs = Array.from({ length: 50 }, (_, i) => `  j${i}: { every: 1s, shell: "true" }`).join("\n");
    const { procs } = startInstances(3, schema, jobs);
    const sql = postgres(`${BASE}`, { onnotice: () => {}, connection: { search_path: schema } });
    try {
      await waitFor("runs from all three instances", async () => {
        const rows = await sql`SELECT count(DISTINCT instance_id) AS n FROM runs`.catch(() => [{ n: 0 }]);
        return Number(rows[0]!.n) >= 2;
      }, 20_000);
      await new Promise((r) => setTimeout(r, 30_000));
      for (const c of procs) c.kill("SIGTERM");
      await Promise.all(procs.map(exited));
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
      expect(total).toBeGreaterThanOrEqual(50 * 30);
      const byInstance = await sql`SELECT instance_id, count(*) AS n FROM runs GROUP BY instance_id`;
      expect(byInstance.length).toBeGreaterThanOrEqual(2); // the work is shared, not all on one
      const statuses = await sql`SELECT status, count(*) AS n FROM runs GROUP BY status ORDER BY status`;
      console.log(`multi-instance: ${total} slots, ${statuses.map((r) => `${r.n} ${r.status}`).join(", ")}; runs per instance ${byInstance.map((r) => r.n).join("/")}`);
      // None missed: while all three instances are up, no slot is left for catch-up to write
      // off. Alone this is 100 % succeeded; a loaded machine (other test files share these two
      // cores) may skip a slot, but only for a run that really overran it. A skip by the instance
      // holding the run proves it: the run was still going at the slot (the holder waits for a
      // finished run's record before claiming). Another instance (the job's preferred claimer,
      // or one covering for it) only sees what the store says, which may still be "running" while
      // the holder's write is on its way; the skipped run must still have finished, not been left
      // running.
      expect(statuses.filter((r) => !["succeeded", "skipped"].includes(r.status as string))).toEqual([]);
      const skips = await sql`SELECT s.slot, s.instance_id = r.instance_id AS by_holder, r.status, r.finished_at
        FROM runs s JOIN runs r ON r.id = s.blocked_by WHERE s.status = 'skipped'`;
      expect(skips.length).toBe(Number(statuses.find((r) => r.status === "skipped")?.n ?? 0)); // each names its run
      expect(skips.filter((k) => k.status !== "succeeded")).toEqual([]);
      expect(skips.filter((k) => k.by_holder && Number(k.finished_at) < Number(k.slot) - CLOCK_SLACK_MS)).toEqual([]);
      if (skips.length > 0) console.log(`multi-instance: ${skips.filter((k) => k.by_holder).length} skips by the holder, ${skips.filter((k) => !k.by_holder).length} by another instance`);
    } finally {
      await sql.end();
    }
  });
});
