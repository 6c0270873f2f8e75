import { JobclockError } from "../errors.js";
import type { EngineEmitter } from "./events.js";

/**
 * Where the engine is in its one life (an engine never starts twice: make a new one).
 *
 *   new ──start()──▶ starting ──▶ running ──stop()──▶ draining ──▶ stopped
 *    └──stop()───────────┴── (start failed) ──────────────────────────▶ stopped
 *
 * A start that fails once running (the first read of the jobs, the change feed) drains with no
 * wait and stops: running ──▶ draining ──▶ stopped, and start() rejects.
 *
 * - new: built; `apply()` may already have registered the instance in the store.
 * - starting: registering, the first heartbeat, the first read of the jobs.
 * - running: claiming slots and starting runs.
 * - draining: no new slots; runs already held (or claimed ahead of their slot) finish.
 * - stopped: the instance is marked stopped in the store; nothing is left to do.
 */
export type EngineState = "new" | "starting" | "running" | "draining" | "stopped";

/** The states in the order an engine goes through them (any may be skipped on the way to stopped). */
const ORDER: readonly EngineState[] = ["new", "starting", "running", "draining", "stopped"];

const ALLOWED: Readonly<Record<EngineState, readonly EngineState[]>> = {
  new: ["starting", "stopped"],
  starting: ["running", "stopped"],
  running: ["draining"],
  draining: ["stopped"],
  stopped: [],
};

/** The engine was asked to move between two states that do not follow each other. */
export class IllegalTransitionError extends JobclockError {
  constructor(readonly from: EngineState, readonly to: EngineState) {
    const hint = from === "stopped" || to === "starting" ? "; an engine starts once: create a new one to start again" : "";
    super("ENGINE_ILLEGAL_TRANSITION", `the engine cannot go from ${from} to ${to}${hint}`);
  }
}

/**
 * The engine's state, changed only through `transition`, which checks the move and announces it
 * as "engine:state" on the engine's events, so the daemon and tests can wait for a state
 * instead of polling flags.
 */
export class Lifecycle {
  private current: EngineState = "new";

  constructor(private readonly events: EngineEmitter) {}

  get state(): EngineState {
    return this.current;
  }

  is(...states: EngineState[]): boolean {
    return states.includes(this.current);
  }

  transition(to: EngineState): void {
    const from = this.current;
    if (!ALLOWED[from].includes(to)) throw new IllegalTransitionError(from, to);
    this.current = to;
    this.events.emit("engine:state", { from, to });
  }

  /**
   * Resolves once the engine is in `state` or past it (at once if it is already): waiting for
   * "running" also ends when a start fails and the engine goes to "stopped".
   */
  reached(state: EngineState): Promise<void> {
    const past = (s: EngineState) => ORDER.indexOf(s) >= ORDER.indexOf(state);
    if (past(this.current)) return Promise.resolve();
    return new Promise((resolve) => {
      const watch = ({ to }: { to: EngineState }) => {
        if (!past(to)) return;
        this.events.off("engine:state", watch);
        resolve();
      };
      this.events.on("engine:state", watch);
    });
  }
}
