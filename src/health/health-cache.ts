import { buildSchedule, type Schedule } from "../schedule/schedule.js";
import type { JobRecord, ReadModel, RunRecord } from "../store/types.js";
import { evaluateHealth, type Health } from "./evaluate.js";

const PAGE = 2_000;

interface Entry {
  job: JobRecord;
  schedule: Schedule;
}

/**
 * The monitor's view of every job. A full read of 100,000 jobs takes most of a second of
 * synchronous SQLite, so it happens in pages (yielding between them) and only now and then; in
 * between, the engine's events keep the entries current, and every transition the monitor acts
 * on is confirmed against a fresh read anyway.
 */
export class HealthCache {
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  names(): IterableIterator<string> {
    return this.entries.keys();
  }

  get(name: string): JobRecord | undefined {
    return this.entries.get(name)?.job;
  }

  async refreshAll(store: Pick<ReadModel, "listJobs">): Promise<void> {
    const seen = new Set<string>();
    let after = "";
    for (;;) {
      const page = await store.listJobs({ after, limit: PAGE });
      for (const job of page) {
        this.put(job);
        seen.add(job.name);
      }
      if (page.length < PAGE) break;
      after = page.at(-1)!.name;
      await new Promise((r) => setImmediate(r)); // let slots fire between pages
    }
    for (const name of [...this.entries.keys()]) if (!seen.has(name)) this.entries.delete(name);
  }

  put(job: JobRecord): void {
    const old = this.entries.get(job.name);
    const same = old && old.job.specHash === job.specHash && old.job.anchor === job.anchor;
    this.entries.set(job.name, { job, schedule: same ? old.schedule : new MemoSchedule(scheduleOf(job)) });
  }

  remove(name: string): void {
    this.entries.delete(name);
  }

  health(name: string, now: number): Health | undefined {
    const e = this.entries.get(name);
    if (!e) return undefined;
    const j = e.job;
    return evaluateHealth(
      {
        paused: j.paused, graceMs: j.spec.graceMs, jitterMs: j.spec.jitterMs, runOnStart: j.spec.runOnStart, anchor: j.anchor,
        resumedAt: j.resumedAt, lastStartedAt: j.lastStartedAt, lastFinishedAt: j.lastFinishedAt, lastStatus: j.lastStatus,
        runningCount: j.runningCount,
      },
      e.schedule,
      now,
    );
  }

  /** What a run starting or ending changes in its job's record, without reading the store. */
  onRunStarted(run: RunRecord): void {
    const j = this.entries.get(run.job)?.job;
    if (!j) return;
    j.lastStartedAt = Math.max(j.lastStartedAt ?? 0, run.startedAt ?? 0);
    j.lastRunId = Math.max(j.lastRunId ?? 0, run.id);
    j.runningCount++;
  }

  onRunFinished(run: RunRecord): void {
    const j = this.entries.get(run.job)?.job;
    if (!j) return;
    j.runningCount = Math.max(0, j.runningCount - 1);
    if ((run.finishedAt ?? 0) >= (j.lastFinishedAt ?? 0)) {
      j.lastFinishedAt = run.finishedAt;
      j.lastStatus = run.status;
    }
  }
}

/**
 * Health asks each job for its previous slot on every pass; for cron that is ~100 µs of croner
 * work. The answer stays valid until the next slot after it, so it is kept until then.
 */
class MemoSchedule implements Schedule {
  private prev: { slot: number | null; from: number; until: number } | null = null;
  private firstSlot: { key: string; value: number | null } | null = null;

  constructor(private readonly inner: Schedule) {}

  next(after: number): number | null {
    return this.inner.next(after);
  }

  previous(atOrBefore: number): number | null {
    const p = this.prev;
    if (p && atOrBefore >= p.from && atOrBefore < p.until) return p.slot;
    const slot = this.inner.previous(atOrBefore);
    const nextAfter = this.inner.next(slot ?? atOrBefore);
    this.prev = { slot, from: slot ?? -Infinity, until: nextAfter ?? Infinity };
    return slot;
  }

  first(appliedAt: number, runOnStart: boolean): number | null {
    const key = `${appliedAt}:${runOnStart}`;
    if (this.firstSlot?.key !== key) this.firstSlot = { key, value: this.inner.first(appliedAt, runOnStart) };
    return this.firstSlot.value;
  }

  describe(): string {
    return this.inner.describe();
  }
}

function scheduleOf(job: JobRecord): Schedule {
  const s = job.spec.schedule;
  return s.kind === "every" ? buildSchedule({ kind: "every", everyMs: s.everyMs, anchor: job.anchor }) : buildSchedule(s);
}
