import type { JobSpec } from "../../job-spec.js";
import { jitterFor } from "../../schedule/jitter.js";
import { buildSchedule, type CronSchedule, type IntervalSchedule } from "../../schedule/schedule.js";
import type { JobRecord } from "../../store/types.js";
import { SlotHeap } from "./heap.js";
import { SharedSpecs, type SharedSpec } from "./shared-specs.js";

export interface LocalJob {
  name: string;
  /** Shared with other jobs defined alike, hence without the name: see `fullSpec`. */
  spec: SharedSpec;
  specHash: string;
  anchor: number;
  schedule: IntervalSchedule | CronSchedule;
  nextSlot: number | null;
  paused: boolean;
  /** Bumped on every reschedule; heap entries with an older version are ignored. */
  version: number;
}

/** The engine's in-memory view of the jobs it schedules, and the heap of their next fire times. */
export class JobTable {
  private readonly jobs = new Map<string, LocalJob>();
  private readonly heap = new SlotHeap();
  private readonly specs = new SharedSpecs();

  /** @param claimAheadMs jobs come due for claiming this long before their fire time. */
  constructor(private readonly claimAheadMs = 0) {}

  get size(): number {
    return this.jobs.size;
  }

  get(name: string): LocalJob | undefined {
    return this.jobs.get(name);
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  /** Takes the store's record as truth; the schedule is rebuilt only when it changed. */
  upsert(record: JobRecord): LocalJob {
    const old = this.jobs.get(record.name);
    const sameSchedule = old && old.specHash === record.specHash && old.anchor === record.anchor;
    const job: LocalJob = {
      name: record.name,
      spec: sameSchedule ? old.spec : this.specs.share(record.spec),
      specHash: record.specHash,
      anchor: record.anchor,
      schedule: sameSchedule ? old.schedule : scheduleOf(record),
      nextSlot: record.nextSlot,
      paused: record.paused,
      version: (old?.version ?? 0) + 1,
    };
    this.jobs.set(job.name, job);
    this.pushFireTime(job);
    return job;
  }

  remove(name: string): void {
    const job = this.jobs.get(name);
    if (!job) return;
    job.version++;
    this.jobs.delete(name);
  }

  /** The job's next slot moved: queue its new fire time (slot + jitter). */
  reschedule(job: LocalJob, nextSlot: number | null): void {
    job.nextSlot = nextSlot;
    job.version++;
    this.pushFireTime(job);
  }

  /**
   * Look at the job again at `at` without moving its slot (busy catch-up, store retry), but
   * never before its own claim time: a retry must not turn into a claim an hour ahead.
   */
  recheckAt(job: LocalJob, at: number): void {
    job.version++;
    const claimAt = job.nextSlot === null ? at : this.fireAt(job) - this.aheadFor(job);
    this.heap.push({ at: Math.max(at, claimAt), name: job.name, version: job.version });
  }

  nextFireAt(): number | undefined {
    this.dropStale();
    return this.heap.peek()?.at;
  }

  /** The jobs whose claim time has come (their slot is `due`, see SlotState), in fire-time order. */
  popDue(now: number): LocalJob[] {
    const due: LocalJob[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap.peek();
      if (!top || top.at > now) break;
      this.heap.pop();
      const job = this.jobs.get(top.name)!;
      job.version++; // it is being handled; the claim outcome reschedules it
      due.push(job);
    }
    if (this.heap.size > 4 * this.jobs.size + 1024) this.heap.compact((e) => this.isLive(e));
    return due;
  }

  /** When the job's next slot fires: the slot plus its jitter. */
  fireAt(job: LocalJob): number {
    return job.nextSlot! + jitterFor(job.name, job.nextSlot!, job.spec.jitterMs);
  }

  private pushFireTime(job: LocalJob): void {
    if (job.nextSlot === null) return;
    this.heap.push({ at: this.fireAt(job) - this.aheadFor(job), name: job.name, version: job.version });
  }

  /**
   * A paused job's slot only moves it past the slot, so nothing is gained by claiming it early,
   * and a resume that lands just before the slot (within the claim-ahead) must still run it.
   */
  private aheadFor(job: LocalJob): number {
    return job.paused ? 0 : this.claimAheadMs;
  }

  private dropStale(): void {
    for (let top = this.heap.peek(); top && !this.isLive(top); top = this.heap.peek()) this.heap.pop();
  }

  private isLive(e: { name: string; version: number }): boolean {
    return this.jobs.get(e.name)?.version === e.version;
  }
}

/** The job's whole spec, as runners want it (built per run: spelled out, as a spread costs more). */
export function fullSpec(job: LocalJob): JobSpec {
  const s = job.spec;
  return {
    name: job.name, schedule: s.schedule, action: s.action, cwd: s.cwd, env: s.env, timeoutMs: s.timeoutMs, killGraceMs: s.killGraceMs,
    overlap: s.overlap, catchup: s.catchup, catchupWindowMs: s.catchupWindowMs, jitterMs: s.jitterMs, runOnStart: s.runOnStart,
    retries: s.retries, graceMs: s.graceMs, remindMs: s.remindMs, paused: s.paused, description: s.description, tags: s.tags,
  };
}

function scheduleOf(record: JobRecord): IntervalSchedule | CronSchedule {
  const s = record.spec.schedule;
  return s.kind === "every"
    ? buildSchedule({ kind: "every", everyMs: s.everyMs, anchor: record.anchor })
    : buildSchedule(s);
}
