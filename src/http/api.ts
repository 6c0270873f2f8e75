import { hostname } from "node:os";
import { UnknownJobError } from "../errors.js";
import { checkHealth } from "../health/check.js";
import { RUN_STATUSES, type ReadModel } from "../store/types.js";
import { incidentView, instanceView, jobDetailView, jobView, runOutputView, runView, timelineRunView } from "../views.js";
import { badRequest, notFound } from "./errors.js";
import { CostBoundCache } from "./cost-bound-cache.js";
import { Query, readJsonObject, sendJson } from "./request.js";
import type { RouteContext, Router } from "./router.js";

export interface ApiDeps {
  store: ReadModel;
  /** Pause, resume and trigger go through the engine, so this instance follows at once. */
  control: { pause(name: string, source?: string): Promise<void>; resume(name: string, source?: string): Promise<void>; trigger(name: string, source?: string): Promise<void> };
  instanceId: string;
  version: string;
  uptimeMs(): number;
  /** Instances seen within this long are live. */
  abandonAfterMs: number;
  /** For the dashboard: whether it must ask for a token, and for what. */
  auth: { writes: boolean; reads: boolean };
  now(): number;
}

const V1 = "/api/v1";
const TIMELINE_BUCKETS = 96;
const TIMELINE_RUNS_PER_JOB = 200;

/**
 * The REST API (docs/api.md). Every read comes from the store, so several instances serve the
 * same view; every input is checked before anything is read or changed.
 */
export function registerApi(router: Router, d: ApiDeps): void {
  const healthz = ({ res }: RouteContext) => sendJson(res, 200, { ok: true, instanceId: d.instanceId, version: d.version, uptimeMs: d.uptimeMs() });
  // Liveness for load balancers and orchestrators: no token, nothing about the jobs.
  router.get("/healthz", healthz, "open");
  router.get(`${V1}/healthz`, healthz, "open");

  router.get(`${V1}/meta`, ({ res, url }) => {
    new Query(url.searchParams, []);
    sendJson(res, 200, { version: d.version, instanceId: d.instanceId, auth: d.auth, now: d.now() });
  });

  registerJobReads(router, d);
  registerRunReads(router, d);
  registerStatusReads(router, d);
  const timeline = registerTimeline(router, d);
  registerControl(router, d, timeline);
}

function registerJobReads(router: Router, d: ApiDeps): void {
  router.get(`${V1}/jobs`, async ({ res, url }) => {
    const q = new Query(url.searchParams, ["retired"]);
    const includeRetired = q.oneOf("retired", ["true", "false"]) === "true";
    const now = d.now();
    const jobs = await d.store.listJobs({ includeRetired });
    sendJson(res, 200, { now, jobs: jobs.map((j) => jobView(j, now)) });
  });

  router.get(`${V1}/jobs/:name`, async ({ res, url, params }) => {
    new Query(url.searchParams, []);
    const job = await d.store.getJob(params.name!);
    if (!job) throw notFound(`job "${params.name}"`);
    const now = d.now();
    const view = jobDetailView(job, now);
    // `spec` also stays at the top, where clients written before `job.spec` read it.
    sendJson(res, 200, { now, job: view, spec: view.spec });
  });

  router.get(`${V1}/jobs/:name/runs`, async ({ res, url, params }) => {
    const q = new Query(url.searchParams, ["limit", "status", "before"]);
    const limit = q.int("limit", 1, 1_000, 50);
    const status = q.oneOf("status", RUN_STATUSES);
    const beforeId = q.int("before", 1, Number.MAX_SAFE_INTEGER);
    if (!(await d.store.getJob(params.name!))) throw notFound(`job "${params.name}"`);
    const runs = await d.store.listRuns({ job: params.name!, status, limit, beforeId });
    sendJson(res, 200, { runs: runs.map(runView) });
  });
}

function registerRunReads(router: Router, d: ApiDeps): void {
  router.get(`${V1}/runs/:id`, async ({ res, url, params }) => {
    new Query(url.searchParams, []);
    const run = await d.store.getRun(runId(params.id!));
    if (!run) throw notFound(`run #${params.id}`);
    sendJson(res, 200, { run: runView(run) });
  });

  router.get(`${V1}/runs/:id/log`, async ({ res, url, params }) => {
    new Query(url.searchParams, []);
    const id = runId(params.id!);
    const output = await d.store.getRunOutput(id);
    if (!output) throw notFound(`run #${params.id}`);
    sendJson(res, 200, runOutputView(id, output));
  });
}

function registerStatusReads(router: Router, d: ApiDeps): void {
  router.get(`${V1}/instances`, async ({ res, url }) => {
    new Query(url.searchParams, []);
    const now = d.now();
    const instances = await d.store.listInstances();
    sendJson(res, 200, {
      instances: instances.map((i) => instanceView(i, now, d.abandonAfterMs)),
    });
  });

  router.get(`${V1}/health`, async ({ res, url }) => {
    new Query(url.searchParams, []);
    const { result } = await checkHealth(d.store, d.now());
    // A monitor that only looks at status codes (load balancers, uptime checkers) sees it too.
    sendJson(res, result.healthy ? 200 : 503, result);
  });

  router.get(`${V1}/incidents`, async ({ res, url }) => {
    new Query(url.searchParams, []);
    sendJson(res, 200, { incidents: (await d.store.listOpenIncidents()).map(incidentView) });
  });
}

function registerTimeline(router: Router, d: ApiDeps): CostBoundCache<object> {
  // The heaviest read (every run of the window). However many dashboards poll it, it is
  // computed at most once per ten times its own cost, so it can never take more than a tenth
  // of the process (on SQLite, reads share the scheduler's thread).
  const timeline = new CostBoundCache<object>(d.now);
  router.get(`${V1}/timeline`, async ({ res, url }) => {
    const q = new Query(url.searchParams, ["hours"]);
    const hours = q.int("hours", 1, 168, 24)!;
    sendJson(res, 200, await timeline.get(String(hours), async () => {
      const to = d.now();
      const bucketMs = Math.ceil((hours * 3_600_000) / TIMELINE_BUCKETS);
      const from = to - TIMELINE_BUCKETS * bucketMs;
      const { counts, runs } = await d.store.timeline({ from, bucketMs, perJob: TIMELINE_RUNS_PER_JOB });
      return {
        from, to, bucketMs, buckets: TIMELINE_BUCKETS, runsPerJob: TIMELINE_RUNS_PER_JOB, counts,
        runs: runs.map(timelineRunView),
      };
    }));
  });
  return timeline;
}

/** Pause, resume and trigger; each clears the timeline cache, so the next look shows the change. */
function registerControl(router: Router, d: ApiDeps, timeline: CostBoundCache<object>): void {
  for (const action of ["pause", "resume", "trigger"] as const) {
    router.post(`${V1}/jobs/:name/${action}`, async ({ req, res, url, params }) => {
      new Query(url.searchParams, []);
      await readJsonObject(req, []);
      try {
        // Logged by every instance with where it came from (the peer address this daemon saw).
        await d.control[action](params.name!, `api ${req.socket.remoteAddress ?? "?"} via ${hostname()}`);
      } catch (error) {
        if (error instanceof UnknownJobError) throw notFound(`job "${params.name}"`);
        throw error;
      }
      timeline.clear(); // the next look shows what this changed
      // A trigger is stored and runs within a second on whichever instance claims it.
      sendJson(res, action === "trigger" ? 202 : 200, { ok: true, job: params.name, action });
    });
  }
}

function runId(text: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) throw badRequest(`run id: "${text}" is not a run id (a positive whole number)`);
  return Number(text);
}
