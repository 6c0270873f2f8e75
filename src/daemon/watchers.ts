import type pino from "pino";
import type { Config } from "../config/load.js";
import { HealthMonitor } from "../health/monitor.js";
import { DeliveryDispatcher, type DispatcherOptions } from "../notify/dispatcher.js";
import { notifiersFrom } from "../notify/notifiers.js";
import type { Scheduler } from "../scheduler.js";

export interface Watchers {
  monitor: HealthMonitor;
  stop(): Promise<void>;
}

/**
 * Health evaluation and notification delivery, beside the engine: they follow its events and
 * the store, and the engine never waits for them.
 */
export function startWatchers(
  scheduler: Scheduler, config: Config, logger: pino.Logger,
  onDeliveryOutcome?: DispatcherOptions["onOutcome"],
): Watchers {
  const notifiers = notifiersFrom(config.notify);
  const dispatcher = new DeliveryDispatcher({ store: scheduler.store, notifiers, instanceId: scheduler.instanceId, log: logger, clock: scheduler.clock, onOutcome: onDeliveryOutcome });
  const monitor = new HealthMonitor({
    store: scheduler.store, events: scheduler.events, clock: scheduler.clock, log: logger, // judged on the store's clock, as the engine claims
    instanceId: scheduler.instanceId, host: scheduler.host,
    onNotified: () => dispatcher.kick(), hold: () => dispatcher.hold(), release: () => dispatcher.release(),
  });
  dispatcher.start();
  monitor.start();
  if (notifiers.length > 0) logger.info({ notifiers: notifiers.map((n) => n.label) }, "notifications on");
  void scheduler.store.getNotifiers().then((ids) => {
    const missing = ids.filter((id) => !notifiers.some((n) => n.id === id));
    if (missing.length > 0) logger.warn({ missing }, "the store lists notifiers this instance has no URL for; other instances must deliver those");
  }, (error) => logger.warn({ err: error }, "could not read the store's notifier list"));
  return {
    monitor,
    async stop() {
      await monitor.stop();
      await dispatcher.stop();
    },
  };
}
