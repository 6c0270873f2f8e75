import type pino from "pino";
import type { Config } from "../config/load.js";
import { HttpServer } from "../http/server.js";
import { Metrics } from "../http/metrics.js";
import type { Scheduler } from "../scheduler.js";
import { VERSION } from "../version.js";
import type { LogSinkStats } from "./log-sink.js";
import type { Watchers } from "./watchers.js";

export interface DaemonHttp {
  url: string;
  metrics: Metrics;
  stop(): Promise<void>;
}

/**
 * The API, dashboard and /metrics on `http.listen`: one port to open, proxy and protect
 * for all three. Reads come from the store, so every instance serves the same view.
 */
export async function startHttp(
  scheduler: Scheduler, config: Config, watchers: Watchers, logger: pino.Logger, logSink?: () => LogSinkStats,
): Promise<DaemonHttp | null> {
  if (!config.http) return null;
  const store = scheduler.store;
  const now = () => scheduler.clock.now();
  const metrics = new Metrics({
    events: scheduler.events,
    health: () => watchers.monitor.states(now()),
    runningRuns: () => scheduler.activeRuns().length,
    instances: () => store.listInstances(),
    liveWithinMs: config.abandonAfterMs,
    now,
    logSink,
  });
  const server = new HttpServer({
    config: config.http,
    api: {
      store, control: scheduler, instanceId: scheduler.instanceId, version: VERSION,
      uptimeMs: () => scheduler.uptimeMs, abandonAfterMs: config.abandonAfterMs, now,
    },
    metrics,
    log: logger,
  });
  const { url } = await server.start();
  return { url, metrics, stop: () => server.close() };
}
