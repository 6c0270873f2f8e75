import { Cron } from "croner";

/**
 * A schedule answers one question: which slot comes strictly after instant `t`?
 * Everything is in epoch milliseconds so the engine never deals with Date objects on its hot path.
 */
export interface Schedule {
  next(after: number): number | null;
  /** The latest slot at or before `t`, if any. */
  previous(atOrBefore: number): number | null;
  /** The slot the job starts from when it is first applied at `appliedAt`. */
  first(appliedAt: number, runOnStart: boolean): number | null;
  describe(): string;
}

export type ScheduleSpec =
  | { kind: "every"; everyMs: number; anchor: number }
  | { kind: "cron"; expression: string; timezone: string };

/** Fixed rate: slots are anchor + n × interval, so a slow run never shifts later slots. */
export class IntervalSchedule implements Schedule {
  constructor(
    readonly everyMs: number,
    readonly anchor: number,
  ) {
    if (!(everyMs > 0)) throw new RangeError("interval must be positive");
  }

  next(after: number): number {
    if (after < this.anchor) return this.anchor;
    const n = Math.floor((after - this.anchor) / this.everyMs) + 1;
    return this.anchor + n * this.everyMs;
  }

  previous(atOrBefore: number): number | null {
    if (atOrBefore < this.anchor) return null;
    return this.anchor + Math.floor((atOrBefore - this.anchor) / this.everyMs) * this.everyMs;
  }

  first(appliedAt: number, runOnStart: boolean): number {
    return runOnStart ? appliedAt : appliedAt + this.everyMs;
  }

  /** How many slots fall in [from, to], without listing them (catch-up after a long outage). */
  countBetween(from: number, to: number): number {
    if (to < from) return 0;
    const firstIdx = Math.ceil((from - this.anchor) / this.everyMs);
    const lastIdx = Math.floor((to - this.anchor) / this.everyMs);
    return Math.max(0, lastIdx - firstIdx + 1);
  }

  describe(): string {
    return `every ${this.everyMs}ms`;
  }
}

/**
 * Standard cron in an IANA timezone. Croner's "no-wildcard" fixed-time rule gives the
 * DST semantics users expect of cron: a fixed wall time inside a spring-forward gap runs once at the first valid
 * instant after it, and a wall time repeated at fall-back runs once. Wildcard or stepped
 * patterns (`*\/5 * * * *`) follow elapsed time instead, as Vixie cron does.
 */
export class CronSchedule implements Schedule {
  private readonly cron: Cron;

  constructor(
    readonly expression: string,
    readonly timezone: string,
  ) {
    this.cron = new Cron(expression, {
      timezone,
      paused: true,
      mode: "5-or-6-parts",
      fixedTimeRule: "no-wildcard",
    });
  }

  // A croner lookup costs tens of microseconds, and jobs sharing this schedule ask the same
  // questions: remember the last answer for the range of times it holds for.
  private nextMemo: { from: number; slot: number | null } | null = null;
  private prevMemo: { slot: number | null; until: number } | null = null;

  next(after: number): number | null {
    const m = this.nextMemo;
    if (m && after >= m.from && (m.slot === null || after < m.slot)) return m.slot;
    // Croner works at second precision and returns the first match strictly after its input.
    const next = this.cron.nextRun(new Date(after));
    const slot = next ? next.getTime() : null;
    this.nextMemo = { from: after, slot };
    return slot;
  }

  previous(atOrBefore: number): number | null {
    const m = this.prevMemo;
    if (m && m.slot !== null && atOrBefore >= m.slot && atOrBefore < m.until) return m.slot;
    // previousRuns looks strictly before its reference, at second precision.
    const [found] = this.cron.previousRuns(1, new Date(atOrBefore + 1));
    const slot = found ? found.getTime() : null;
    if (slot !== null) this.prevMemo = { slot, until: this.next(slot) ?? Infinity };
    return slot;
  }

  first(appliedAt: number, runOnStart: boolean): number | null {
    return runOnStart ? appliedAt : this.next(appliedAt);
  }

  describe(): string {
    return `cron "${this.expression}" (${this.timezone})`;
  }
}

// A croner object takes about 80 KB (it keeps a table of years), and most jobs share a handful
// of expressions: jobs with the same expression and timezone share one schedule. We only ask it
// pure questions (next/previous of a given time), so sharing is safe.
const cronCache = new Map<string, CronSchedule>();
const CRON_CACHE_LIMIT = 10_000;

export function buildSchedule(spec: ScheduleSpec): IntervalSchedule | CronSchedule {
  if (spec.kind === "every") return new IntervalSchedule(spec.everyMs, spec.anchor);
  const key = `${spec.timezone} ${spec.expression}`;
  let cron = cronCache.get(key);
  if (!cron) {
    cron = new CronSchedule(spec.expression, spec.timezone);
    if (cronCache.size < CRON_CACHE_LIMIT) cronCache.set(key, cron);
  }
  return cron;
}
