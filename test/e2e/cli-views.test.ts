import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HttpServer } from "../../src/http/server.js";
import { silentLogger } from "../../src/logger.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { BASE_CONFIG, project } from "../helpers/cli.js";

const CONFIG = `${BASE_CONFIG}jobs:\n  a: { every: 1h, shell: "true" }\n`;

/** Runs of job `a` claimed by each of these instances (as daemons on these hosts would). */
async function runsBy(dir: string, instances: { id: string; host: string }[]): Promise<void> {
  const store = SqliteStore.open(join(dir, "data/jobclock.db"));
  try {
    const now = Date.now();
    for (const i of instances) {
      await store.registerInstance({ id: i.id, host: i.host, pid: 1, version: "t", startedAt: now, lastSeen: now, stoppedAt: null });
      const req = (await store.requestTrigger("a", now))!;
      const job = (await store.getJob("a"))!;
      await store.claimSlots([{ job: "a", specHash: job.specHash, instanceId: i.id, source: { kind: "trigger", triggerId: req.id }, slot: now, trigger: "manual", missed: null, overlap: "allow", waitIfBusy: false, now }]);
    }
  } finally {
    await store.close();
  }
}

describe("jobclock runs", () => {
  it("shows which instance ran each run once several instances share the store, and not before", async () => {
    const alone = project(CONFIG);
    expect((await alone.run(["reload"])).code).toBe(0);
    await runsBy(alone.dir, [{ id: "web1-10-aaaa", host: "web1" }]);
    const one = await alone.run(["runs"]);
    expect(one.stdout.split("\n")[0]).not.toMatch(/INSTANCE/);

    const shared = project(CONFIG);
    expect((await shared.run(["reload"])).code).toBe(0);
    await runsBy(shared.dir, [{ id: "web1-10-aaaa", host: "web1" }, { id: "web2-20-bbbb", host: "web2" }]);
    const two = await shared.run(["runs"]);
    expect(two.stdout.split("\n")[0]).toMatch(/TRY\s+INSTANCE\s+RESULT/);
    expect(two.stdout).toMatch(/manual .* web2-20-bbbb/);
    expect(two.stdout).toMatch(/manual .* web1-10-aaaa/);
  });
});

/** The HTTP API over the project's store, as a daemon would serve it (no engine: reads only). */
async function apiOver(dir: string, abandonAfterMs: number) {
  const store = SqliteStore.open(join(dir, "data/jobclock.db"));
  const refuse = async () => { throw new Error("reads only"); };
  const server = new HttpServer({
    config: { host: "127.0.0.1", port: 0, token: null, loopback: true },
    api: { store, control: { pause: refuse, resume: refuse, trigger: refuse }, instanceId: "api", version: "test", uptimeMs: () => 0, abandonAfterMs, now: () => Date.now() },
    metrics: null,
    log: silentLogger,
  });
  const { port } = await server.start();
  return {
    get: async (path: string) => (await fetch(`http://127.0.0.1:${port}/api/v1${path}`)).json() as Promise<any>,
    close: async () => (await server.close(), await store.close()),
  };
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe("--json and the API", () => {
  it("show the same job, run, run output, instance and health, shaped by the same view", async () => {
    const p = project(`${BASE_CONFIG.replace("abandon_after: 3s", "abandon_after: 10m")}jobs:\n  a: { every: 1h, shell: "true" }\n`);
    expect((await p.run(["reload"])).code).toBe(0);
    await runsBy(p.dir, [{ id: "web1-10-aaaa", host: "web1" }]);
    const store = SqliteStore.open(join(p.dir, "data/jobclock.db"));
    const [running] = await store.listRuns({ job: "a" });
    await store.finishRuns([{ runId: running!.id, status: "failed", attempt: 1, finishedAt: Date.now(), exitCode: 2, signal: null, error: "exit 2", output: { stdout: "out\n", stderr: "err\n" } }]);
    await store.close();
    const api = await apiOver(p.dir, 600_000);
    closers.push(api.close);
    const cli = async (args: string[]) => JSON.parse((await p.run([...args, "--json"])).stdout);

    const [job] = await cli(["jobs"]);
    const detail = await api.get("/jobs/a");
    expect(job).toEqual(detail.job);
    expect(job.spec).toEqual(detail.spec);
    expect(job.spec.action).toEqual({ kind: "shell", script: "true" });
    expect(job).not.toHaveProperty("specHash"); // a view, not the store's record
    const { jobs } = await api.get("/jobs");
    expect({ ...jobs[0], spec: job.spec }).toEqual(job); // the list leaves out only the spec

    const [run] = await cli(["runs", "a"]);
    expect(run).toMatchObject({ id: running!.id, status: "failed", exitCode: 2 });
    expect(run.durationMs).toBeGreaterThanOrEqual(0);
    expect(run).toEqual((await api.get(`/runs/${run.id}`)).run);
    expect(run).toEqual((await api.get("/jobs/a/runs")).runs[0]);

    const logs = await cli(["logs", "a", "--run", String(run.id)]);
    expect(logs).toEqual({ run, ...(await api.get(`/runs/${run.id}/log`)) });
    expect(logs).toMatchObject({ runId: run.id, stdout: "out\n", stderr: "err\n" });

    const { instances } = await cli(["status"]);
    expect(instances).toHaveLength(1);
    expect(instances).toEqual((await api.get("/instances")).instances);
    expect(instances[0]).toMatchObject({ id: "web1-10-aaaa", host: "web1", live: true });

    const check = await p.run(["check", "--json"]);
    expect(JSON.parse(check.stdout)).toEqual(await api.get("/health"));
  });
});
