import { join } from "node:path";
import type { HttpConfig } from "../../src/config/http.js";
import { HealthMonitor } from "../../src/health/monitor.js";
import { Metrics } from "../../src/http/metrics.js";
import { HttpServer } from "../../src/http/server.js";
import { silentLogger } from "../../src/logger.js";
import { createScheduler, type JobOptions, type Scheduler } from "../../src/scheduler.js";
import type { JobHandler } from "../../src/run/types.js";
import { tempDir } from "./spec.js";

export interface TestApp {
  scheduler: Scheduler;
  metrics: Metrics;
  url: string;
  /** fetch() against the app, with a path such as "/api/v1/jobs". */
  call(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  close(): Promise<void>;
}

/**
 * The daemon's HTTP side in-process: a scheduler on a temp SQLite store, a health monitor, the
 * metrics and the server on an ephemeral loopback port, wired as src/daemon/http.ts wires them.
 */
export async function startApp(
  jobs: Record<string, JobOptions & { handler?: JobHandler }>,
  http: Partial<HttpConfig> = {},
  store?: string,
): Promise<TestApp> {
  const dir = tempDir("jobclock-http-");
  const scheduler = createScheduler({ store: store ?? `sqlite:${join(dir, "jc.db")}`, baseDir: dir, heartbeat: "1s", abandonAfter: "3s" });
  for (const [name, { handler, ...options }] of Object.entries(jobs)) scheduler.job(name, options, handler);
  await scheduler.start();
  const engine = scheduler.engine;
  const now = () => engine.clock.now();
  const monitor = new HealthMonitor({ store: scheduler.store, events: engine.events, clock: engine.clock, log: silentLogger, instanceId: engine.instanceId, host: engine.host });
  monitor.start();
  const metrics = new Metrics({
    events: engine.events, health: () => monitor.states(now()), runningRuns: () => engine.activeRuns().length,
    instances: () => scheduler.store.listInstances(), liveWithinMs: 3_000, now,
  });
  const server = new HttpServer({
    config: { host: "127.0.0.1", port: 0, token: null, loopback: true, ...http },
    api: { store: scheduler.store, control: engine, instanceId: engine.instanceId, version: "test", uptimeMs: () => engine.uptimeMs, abandonAfterMs: 3_000, now },
    metrics,
    log: silentLogger,
  });
  const { port } = await server.start();
  const url = `http://127.0.0.1:${port}`;
  return {
    scheduler, metrics, url,
    async call(path, init) {
      const res = await fetch(url + path, init);
      const text = await res.text();
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      return { status: res.status, headers: res.headers, body, text };
    },
    async close() {
      await server.close();
      await monitor.stop();
      await scheduler.stop({ timeout: 0 });
    },
  };
}
