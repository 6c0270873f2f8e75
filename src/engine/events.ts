import { EventEmitter } from "node:events";
import type { RunRecord } from "../store/types.js";
import type { AttemptResult } from "../run/types.js";
import type { ApplyReport } from "../store/types.js";
import type { EngineState } from "./lifecycle.js";

/**
 * What the engine tells the world. Health evaluation, notifiers, logs and metrics subscribe
 * here; the engine never calls them directly.
 */
export interface EngineEvents {
  "run:started": [run: RunRecord];
  "run:finished": [run: RunRecord, result: AttemptResult & { attempt: number; durationMs: number }];
  "run:retrying": [run: RunRecord, info: { attempt: number; delayMs: number; error: string | null }];
  "run:skipped": [run: RunRecord];
  "run:abandoned": [run: RunRecord];
  "slot:missed": [run: RunRecord];
  "slot:queued": [info: { job: string; slot: number }];
  "jobs:applied": [report: ApplyReport];
  "jobs:changed": [names: string[]];
  "engine:warning": [info: { message: string; error?: unknown }];
  /** The engine moved to another state of its lifecycle (see Lifecycle). */
  "engine:state": [change: { from: EngineState; to: EngineState }];
}

/**
 * A listener that throws must not break the engine (a run left unstarted, a claim unhandled):
 * each listener is called on its own, and its error is reported as an "engine:warning".
 */
export class EngineEmitter extends EventEmitter {
  override emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): boolean {
    if (this.listenerCount(event) === 0) return false; // the common case on the hot path: nobody listens
    const listeners = this.listeners(event) as ((...a: unknown[]) => void)[];
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (error) {
        if (event === "engine:warning") continue; // never loop on a broken warning listener
        this.emit("engine:warning", { message: `a listener of ${event} threw`, error });
      }
    }
    return listeners.length > 0;
  }
  override on<K extends keyof EngineEvents>(event: K, listener: (...args: EngineEvents[K]) => void): this {
    return super.on(event, listener as (...a: unknown[]) => void);
  }
  override once<K extends keyof EngineEvents>(event: K, listener: (...args: EngineEvents[K]) => void): this {
    return super.once(event, listener as (...a: unknown[]) => void);
  }
  override off<K extends keyof EngineEvents>(event: K, listener: (...args: EngineEvents[K]) => void): this {
    return super.off(event, listener as (...a: unknown[]) => void);
  }
}
