import { IntervalSchedule, type Schedule } from "./schedule.js";

export type CatchupPolicy = "once" | "none" | "all";
export type SlotTrigger = "schedule" | "catchup";

export interface DueInput {
  schedule: Schedule;
  /** The job's first unclaimed slot; the caller only asks once it is <= now. */
  nextSlot: number;
  now: number;
  /** Since when this engine has been claiming slots without interruption. */
  liveSince: number;
  policy: CatchupPolicy;
  windowMs: number;
}

export interface MissedRange {
  count: number;
  first: number;
  last: number;
  /** True when there were too many cron slots to count one by one. */
  atLeast: boolean;
}

export interface DuePlan {
  run: { slot: number; trigger: SlotTrigger } | null;
  missed: MissedRange | null;
  /** The job's next unclaimed slot once this plan is claimed (may still be due, for `all`). */
  nextSlot: number | null;
}

// Cron slots are at least a second apart; walking more than this many means a long outage,
// and the exact count stops mattering.
const MAX_CRON_WALK = 100_000;

/**
 * Decides what to do with the due slots of one job (its `catchup` policy):
 * - one slot, due while we were live and overdue by at most the window: an ordinary run;
 * - otherwise the job's `catchup` policy applies: `once` runs the latest slot and records the
 *   rest as missed, `none` records them all, `all` runs the oldest slot inside the window
 *   (the caller comes back for the next one when that run ends) and records older ones.
 */
export function planDue(input: DueInput): DuePlan {
  const { schedule, nextSlot, now, liveSince, policy, windowMs } = input;
  const due = collectDue(schedule, nextSlot, now, now - windowMs);
  const ordinary = due.count === 1 && nextSlot >= liveSince && now - nextSlot <= windowMs;
  if (ordinary) return { run: { slot: nextSlot, trigger: "schedule" }, missed: null, nextSlot: schedule.next(nextSlot) };

  const afterLast = schedule.next(due.last);
  if (policy === "none") {
    return { run: null, missed: range(due.count, nextSlot, due.last, due.atLeast), nextSlot: afterLast };
  }
  if (policy === "once") {
    const missed = due.count > 1 ? range(due.count - 1, nextSlot, due.previousToLast, due.atLeast) : null;
    return { run: { slot: due.last, trigger: "catchup" }, missed, nextSlot: afterLast };
  }
  if (due.oldestInWindow === null) {
    return { run: null, missed: range(due.count, nextSlot, due.last, due.atLeast), nextSlot: afterLast };
  }
  const missed =
    due.beforeWindow > 0 ? range(due.beforeWindow, nextSlot, due.lastBeforeWindow, due.atLeast) : null;
  return {
    run: { slot: due.oldestInWindow, trigger: "catchup" },
    missed,
    nextSlot: schedule.next(due.oldestInWindow),
  };
}

function range(count: number, first: number, last: number, atLeast: boolean): MissedRange {
  return { count, first, last, atLeast };
}

interface DueSummary {
  count: number;
  last: number;
  previousToLast: number;
  oldestInWindow: number | null;
  beforeWindow: number;
  lastBeforeWindow: number;
  atLeast: boolean;
}

function collectDue(schedule: Schedule, from: number, now: number, windowStart: number): DueSummary {
  if (schedule instanceof IntervalSchedule) return collectInterval(schedule, from, now, windowStart);
  return walkDue(schedule, from, now, windowStart);
}

function collectInterval(s: IntervalSchedule, from: number, now: number, windowStart: number): DueSummary {
  const count = s.countBetween(from, now);
  const last = from + (count - 1) * s.everyMs;
  const beforeWindow = windowStart <= from ? 0 : Math.min(count, s.countBetween(from, windowStart - 1));
  return {
    count,
    last,
    previousToLast: last - s.everyMs,
    oldestInWindow: beforeWindow < count ? from + beforeWindow * s.everyMs : null,
    beforeWindow,
    lastBeforeWindow: from + (beforeWindow - 1) * s.everyMs,
    atLeast: false,
  };
}

function walkDue(schedule: Schedule, from: number, now: number, windowStart: number): DueSummary {
  const summary: DueSummary = {
    count: 0, last: from, previousToLast: from, oldestInWindow: null,
    beforeWindow: 0, lastBeforeWindow: from, atLeast: false,
  };
  let slot: number | null = from;
  while (slot !== null && slot <= now) {
    summary.count++;
    summary.previousToLast = summary.last;
    summary.last = slot;
    if (slot < windowStart) {
      summary.beforeWindow++;
      summary.lastBeforeWindow = slot;
    } else if (summary.oldestInWindow === null) {
      summary.oldestInWindow = slot;
    }
    if (summary.count >= MAX_CRON_WALK && slot < windowStart) {
      // Too many to walk: jump to the window, counting what we skipped as "at least".
      summary.atLeast = true;
      slot = schedule.next(Math.max(slot, windowStart - 1));
      continue;
    }
    slot = schedule.next(slot);
  }
  return summary;
}
