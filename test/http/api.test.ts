import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/engine-harness.js";
import { startApp, type TestApp } from "../helpers/http-app.js";

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const JOBS = {
  echo: { every: "1h", shell: "echo hello out; echo hello err >&2" },
  nightly: { cron: "0 30 2 * * *", timezone: "Europe/London", command: ["true"] },
};
const post = (body?: string, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST", body, headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
});

describe("HTTP API v1", () => {
  it("lists jobs with their schedule in words, health, last run and next slot", async () => {
    app = await startApp(JOBS);
    const { status, body, headers } = await app.call("/api/v1/jobs");
    expect(status).toBe(200);
    expect(headers.get("content-type")).toMatch(/^application\/json/);
    expect(body.jobs.map((j: { name: string }) => j.name)).toEqual(["echo", "nightly"]);
    expect(body.jobs[0]).toMatchObject({ schedule: { kind: "every", text: "every hour" }, action: "shell", paused: false, health: { state: "ok" }, lastRun: null });
    expect(body.jobs[1].schedule).toMatchObject({ kind: "cron", text: "at 02:30 Europe/London" });
    expect(body.jobs[1].nextSlot).toBeGreaterThan(body.now);
    const one = await app.call("/api/v1/jobs/nightly");
    expect(one.body.job.name).toBe("nightly");
    expect(one.body.spec.schedule).toEqual({ kind: "cron", expression: "0 30 2 * * *", timezone: "Europe/London" });
  });

  it("triggers a run, then shows it, its output, the job's runs and the timeline", async () => {
    app = await startApp(JOBS);
    const trig = await app.call("/api/v1/jobs/echo/trigger", post());
    expect(trig).toMatchObject({ status: 202, body: { ok: true, job: "echo", action: "trigger" } });
    await waitFor("the triggered run to finish", async () => (await app!.call("/api/v1/jobs/echo/runs")).body.runs[0]?.status === "succeeded");
    const [run] = (await app.call("/api/v1/jobs/echo/runs?limit=5")).body.runs;
    expect(run).toMatchObject({ job: "echo", trigger: "manual", status: "succeeded", exitCode: 0 });
    expect(run.durationMs).toBeGreaterThanOrEqual(0);
    expect((await app.call(`/api/v1/runs/${run.id}`)).body.run.id).toBe(run.id);
    expect((await app.call(`/api/v1/runs/${run.id}/log`)).body).toEqual({ runId: run.id, stdout: "hello out\n", stderr: "hello err\n" });
    const timeline = (await app.call("/api/v1/timeline?hours=24")).body;
    expect(timeline).toMatchObject({ buckets: 96, bucketMs: 900_000, runsPerJob: 200 });
    expect(timeline.runs.map((r: { id: number }) => r.id)).toContain(run.id);
    expect(timeline.counts).toContainEqual({ job: "echo", bucket: 95, status: "succeeded", n: 1 });
    expect((await app.call("/api/v1/jobs")).body.jobs[0].lastRun).toMatchObject({ id: run.id, status: "succeeded" });
  });

  it("pauses and resumes a job in the store, so every instance follows", async () => {
    app = await startApp(JOBS);
    expect((await app.call("/api/v1/jobs/echo/pause", post("{}"))).status).toBe(200);
    expect((await app.scheduler.store.getJob("echo"))!.paused).toBe(true);
    expect((await app.call("/api/v1/jobs/echo")).body.job).toMatchObject({ paused: true, health: { state: "paused" }, nextSlot: null });
    expect((await app.call("/api/v1/jobs/echo/resume", post())).status).toBe(200);
    expect((await app.scheduler.store.getJob("echo"))!.paused).toBe(false);
  });

  it("answers liveness, health (503 when a job is unhealthy), instances and incidents", async () => {
    app = await startApp({ ...JOBS, broken: { every: "1h", runOnStart: true, shell: "exit 3" } });
    expect((await app.call("/healthz")).body).toMatchObject({ ok: true, version: "test" });
    expect((await app.call("/api/v1/healthz")).status).toBe(200);
    await waitFor("the broken job to fail", async () => (await app!.scheduler.store.getJob("broken"))!.lastStatus === "failed");
    const health = await app.call("/api/v1/health");
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ healthy: false, jobs: 3, unhealthy: [{ job: "broken", state: "failing" }] });
    const { instances } = (await app.call("/api/v1/instances")).body;
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({ live: true, version: "0.0.0" });
    expect((await app.call("/api/v1/incidents")).body).toEqual({ incidents: expect.any(Array) });
  });

  it("refuses bad parameters with 400 and says which one, and unknown things with 404", async () => {
    app = await startApp(JOBS);
    const cases: [string, number, RegExp][] = [
      ["/api/v1/jobs/nope", 404, /job "nope" not found/],
      ["/api/v1/jobs/nope/runs", 404, /job "nope" not found/],
      ["/api/v1/jobs/echo/runs?limit=0", 400, /limit: "0" is not a whole number from 1 to 1000/],
      ["/api/v1/jobs/echo/runs?limit=abc", 400, /limit: "abc"/],
      ["/api/v1/jobs/echo/runs?status=great", 400, /status: "great" is not one of running, succeeded/],
      ["/api/v1/jobs/echo/runs?colour=red", 400, /unknown query parameter colour \(allowed: limit, status, before\)/],
      ["/api/v1/runs/abc", 400, /run id: "abc" is not a run id/],
      ["/api/v1/runs/0", 400, /not a run id/],
      ["/api/v1/runs/999999", 404, /run #999999 not found/],
      ["/api/v1/runs/999999/log", 404, /run #999999 not found/],
      ["/api/v1/timeline?hours=1000", 400, /hours: "1000" is not a whole number from 1 to 168/],
      ["/api/v1/jobs/%E0%A4%A", 400, /not valid URL encoding/],
      ["/api/v1/nothing-here", 404, /no such route/],
      [`/api/v1/elsewhere/${"x".repeat(300)}`, 404, /no such route/], // a long segment, but no route here
      [`/api/v1/jobs/${"x".repeat(300)}`, 400, /name: must be 1 to 200 characters/],
      ["/api/v1/jobs?retired=maybe", 400, /retired: "maybe" is not one of true, false/],
    ];
    for (const [path, status, message] of cases) {
      const r = await app.call(path);
      expect([path, r.status]).toEqual([path, status]);
      expect(r.body.error.message).toMatch(message);
    }
    const wrongMethod = await app.call("/api/v1/jobs", { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET");
    expect((await app.call("/api/v1/jobs/echo/pause")).status).toBe(405); // GET on a POST route
  });

  it("refuses malformed bodies (400, 413, 415) and changes nothing", async () => {
    app = await startApp(JOBS);
    const cases: [RequestInit, number, RegExp][] = [
      [post("{not json"), 400, /not valid JSON/],
      [post("[1,2]"), 400, /must be a JSON object/],
      [post('{"force": true}'), 400, /unknown field "force" \(this route takes none\)/],
      [{ method: "POST", body: "pause=1", headers: { "content-type": "application/x-www-form-urlencoded" } }, 415, /application\/json/],
      [post(JSON.stringify({ pad: "x".repeat(20_000) })), 413, /over 16384 bytes/],
    ];
    for (const [init, status, message] of cases) {
      const r = await app.call("/api/v1/jobs/echo/pause", init);
      expect(r.status).toBe(status);
      expect(r.body.error.message).toMatch(message);
    }
    // A body sent in chunks, without a length, is cut off at the limit too, and still answered.
    const { request } = await import("node:http");
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(`${app!.url}/api/v1/jobs/echo/pause`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => (res.resume(), resolve(res.statusCode!)));
      req.on("error", reject);
      for (let i = 0; i < 40; i++) req.write("x".repeat(1_000));
      req.end();
    });
    expect(chunked).toBe(413);
    expect((await app.call("/api/v1/jobs/nope/trigger", post())).status).toBe(404);
    expect((await app.scheduler.store.getJob("echo"))!.paused).toBe(false);
    expect(await app.scheduler.store.listRuns({})).toEqual([]); // no trigger slipped through either
  });

  it("protects mutations against other origins and DNS rebinding on loopback", async () => {
    app = await startApp(JOBS);
    const cross = await app.call("/api/v1/jobs/echo/pause", post(undefined, { origin: "https://evil.example" }));
    expect(cross.status).toBe(403);
    const same = await app.call("/api/v1/jobs/echo/pause", post(undefined, { origin: app.url }));
    expect(same.status).toBe(200);
    const { request } = await import("node:http");
    const rebound = await new Promise<number>((resolve) => {
      request(`${app!.url}/api/v1/jobs`, { headers: { host: "evil.example:80" } }, (res) => (res.resume(), resolve(res.statusCode!))).end();
    });
    expect(rebound).toBe(421);
  });
});

describe("HTTP API behind a reverse proxy on the same host", () => {
  it("treats forwarded requests as coming from elsewhere: without a token, refused; with one, reads need it", async () => {
    app = await startApp(JOBS);
    const proxied = { headers: { "x-forwarded-for": "203.0.113.9" } };
    expect((await app.call("/api/v1/jobs", proxied)).status).toBe(403);
    expect((await app.call("/api/v1/jobs/echo/pause", { method: "POST", ...proxied })).status).toBe(403);
    expect((await app.call("/healthz", proxied)).status).toBe(200);
    expect((await app.scheduler.store.getJob("echo"))!.paused).toBe(false);
    await app.close();
    app = await startApp(JOBS, { token: "s3cret-token-0123456789" });
    expect((await app.call("/api/v1/jobs", { headers: { forwarded: "for=203.0.113.9" } })).status).toBe(401);
    expect((await app.call("/api/v1/jobs", { headers: { forwarded: "for=203.0.113.9", authorization: "Bearer s3cret-token-0123456789" } })).status).toBe(200);
  });
});

describe("HTTP API with a token", () => {
  const TOKEN = "s3cret-token-0123456789";

  it("needs the bearer token for every mutation (401 without or with a wrong one), not for reads on loopback", async () => {
    app = await startApp(JOBS, { token: TOKEN });
    for (const headers of [{}, { authorization: "Bearer wrong-token-0123456789" }, { authorization: `Basic ${TOKEN}` }] as Record<string, string>[]) {
      const r = await app.call("/api/v1/jobs/echo/pause", post(undefined, headers));
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    expect((await app.scheduler.store.getJob("echo"))!.paused).toBe(false);
    expect((await app.call("/api/v1/jobs")).status).toBe(200);
    expect((await app.call("/api/v1/meta")).body.auth).toEqual({ writes: true, reads: false });
    const ok = await app.call("/api/v1/jobs/echo/pause", post(undefined, { authorization: `Bearer ${TOKEN}` }));
    expect(ok.status).toBe(200);
    expect((await app.scheduler.store.getJob("echo"))!.paused).toBe(true);
  });

  it("off loopback, reads and /metrics need the token too; /healthz never does", async () => {
    app = await startApp(JOBS, { token: TOKEN, loopback: false });
    expect((await app.call("/api/v1/jobs")).status).toBe(401);
    expect((await app.call("/metrics")).status).toBe(401);
    expect((await app.call("/healthz")).status).toBe(200);
    expect((await app.call("/", {})).status).toBe(200); // the page itself holds no data
    const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
    expect((await app.call("/api/v1/jobs", auth)).status).toBe(200);
    expect((await app.call("/metrics", auth)).status).toBe(200);
  });
});

describe("several instances serve the same view", async () => {
  const { PG_BASE, postgresUp } = await import("../helpers/postgres.js");
  const up = await postgresUp();

  it.skipIf(!up)("two instances on one PostgreSQL store answer alike, and a pause through one shows on the other", async () => {
    const { randomBytes } = await import("node:crypto");
    const postgres = (await import("postgres")).default;
    const schema = `jc_http_${randomBytes(5).toString("hex")}`;
    const url = `${PG_BASE}?schema=${schema}`;
    const a = await startApp(JOBS, {}, url);
    const b = await startApp(JOBS, {}, url);
    try {
      const names = async (x: TestApp) => (await x.call("/api/v1/jobs")).body.jobs.map((j: { name: string }) => j.name);
      expect(await names(a)).toEqual(["echo", "nightly"]);
      expect(await names(b)).toEqual(await names(a));
      expect((await a.call("/api/v1/instances")).body.instances).toHaveLength(2);
      expect((await a.call("/api/v1/jobs/echo/pause", post())).status).toBe(200);
      expect((await b.call("/api/v1/jobs/echo")).body.job).toMatchObject({ paused: true, health: { state: "paused" } });
    } finally {
      await a.close();
      await b.close();
      const sql = postgres(PG_BASE, { onnotice: () => {} });
      await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.end();
    }
  });
});
