import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { JobHandler } from "../run/types.js";
import type { ControlStore, ReadModel, Retention, SchedulingStore } from "../store/types.js";

/** What the engine uses of a store: scheduling, the control it offers its caller, and reading back one job or its runs. */
export type EngineStore = SchedulingStore & ControlStore & Pick<ReadModel, "getJob" | "listRuns">;

export interface EngineOptions {
  store: EngineStore;
  clock?: Clock;
  logger?: Logger;
  handlers?: Map<string, JobHandler>;
  instanceId?: string;
  version?: string;
  /** What runs this process (`supervisord:PROGRAM`, `systemd:UNIT`), recorded with the instance. */
  supervisor?: string | null;
  /** How often running runs are heartbeated. */
  heartbeatMs?: number;
  /** A run whose heartbeat is older than this is abandoned: its instance is taken for dead and its job freed. */
  abandonAfterMs?: number;
  /**
   * How often the store is asked whether another process changed something. Default: 250 ms
   * where the store cannot push changes; 1 s on PostgreSQL, where the poll is the fallback for
   * a NOTIFY lost with a connection; on SQLite, whose file watch loses nothing, at each heartbeat.
   */
  syncMs?: number;
  /** The one timer never sleeps longer than this, so clock jumps are noticed. */
  recheckMs?: number;
  /**
   * Idle jobs are claimed this long before their slot, so the store's bookkeeping is done
   * when the slot comes and the run starts on time. Default: the store's `traits.claimAheadMs`
   * (100 ms on SQLite, a local file; 250 ms on PostgreSQL, a shared server).
   */
  claimAheadMs?: number;
  /**
   * With several instances, a due job another instance is preferred for is claimed here only
   * if its slot is still unclaimed this long after its fire time (that instance died).
   */
  stealAfterMs?: number;
  shutdownTimeoutMs?: number;
  retention?: Retention;
  pruneEveryMs?: number;
}

export type EngineSettings = Required<Omit<EngineOptions, "store" | "clock" | "logger" | "handlers" | "instanceId" | "syncMs" | "supervisor">> & {
  /** null: chosen at start, by whether the store pushes changes. */
  syncMs: number | null;
};

export const POLL_MS = 250;
export const FALLBACK_POLL_MS = 1_000;

export function withDefaults(options: EngineOptions): EngineSettings {
  return {
    version: options.version ?? "0.0.0",
    heartbeatMs: options.heartbeatMs ?? 5_000,
    abandonAfterMs: options.abandonAfterMs ?? 30_000,
    syncMs: options.syncMs ?? null,
    recheckMs: options.recheckMs ?? 30_000,
    // A Store of one's own written before traits existed (plain JavaScript) gets a shared server's.
    claimAheadMs: options.claimAheadMs ?? options.store.traits?.claimAheadMs ?? 250,
    stealAfterMs: options.stealAfterMs ?? 300,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 30_000,
    retention: options.retention ?? { keepRuns: 1_000, keepMs: 30 * 86_400_000 },
    pruneEveryMs: options.pruneEveryMs ?? 600_000,
  };
}
