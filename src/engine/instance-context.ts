import type { Logger } from "../logger.js";
import type { SchedulingStore } from "../store/types.js";
import type { EngineEmitter } from "./events.js";
import type { StoreClock } from "./heartbeat/store-clock.js";

/** What every part of the engine that talks to the store as this instance is given. */
export interface InstanceContext {
  store: SchedulingStore;
  /** This machine's clock, corrected to the store's. */
  clock: StoreClock;
  log: Logger;
  events: EngineEmitter;
  instanceId: string;
}
