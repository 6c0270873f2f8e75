import { hostname } from "node:os";
import { JobclockError } from "../errors.js";
import type { ApplyReport, ControlEvent } from "./types.js";

/**
 * Two guards on applying a job set to the store, judged inside the apply's
 * transaction so they hold across instances, and shared by both stores:
 * - a set that would retire every job, or more than half of them, is refused: an empty or
 *   truncated file must never empty the schedule;
 * - a set identical to an OLDER generation than the store's latest is a stale file (an instance
 *   restarted with yesterday's config), refused: "last apply wins" must not silently revert.
 * Both give way to `force`.
 */
export interface ApplyOptions {
  /** Where the apply comes from, for the log of every instance ("cli alice@web1", "SIGHUP web1"). */
  source?: string;
  /** The machine it comes from (default: this one): an older job set applied again from the machine that applied the latest is an undo, not a stale file. */
  host?: string;
  /** Judge the guards (the daemon and the CLI do; the library's own `job()` definitions do not). */
  guard?: boolean;
  /** Apply even what the guards refuse. */
  force?: boolean;
}

export type ApplyRefusal = "retires_most" | "stale";

export class ApplyRefusedError extends JobclockError {
  constructor(readonly reason: ApplyRefusal, message: string) {
    super("APPLY_REFUSED", message, 2);
  }
}

/** A generation as the store keeps it. */
export interface Generation {
  generation: number;
  jobsHash: string;
  appliedAt: number;
  source: string;
  host: string;
}

/**
 * The identity of a job set, whatever the order of its jobs in the file: the XOR of each job's
 * definition hash (64 bits of a hash of the spec, name included) and the number of jobs. Cheap
 * enough for 100,000 jobs at every start; a reordered file is the same set.
 */
export class JobSetHash {
  private high = 0;
  private low = 0;
  private count = 0;

  add(specHash: string): void {
    this.high = (this.high ^ parseInt(specHash.slice(0, 8), 16)) >>> 0;
    this.low = (this.low ^ parseInt(specHash.slice(8, 16), 16)) >>> 0;
    this.count++;
  }

  digest(): string {
    return `${this.count}:${this.high.toString(16).padStart(8, "0")}${this.low.toString(16).padStart(8, "0")}`;
  }
}

const NAMES_SHOWN = 20;

/** Throws ApplyRefusedError when a guard refuses; `activeBefore` counts jobs not retired before the apply. */
export function judgeApply(o: {
  options: ApplyOptions;
  report: ApplyReport;
  activeBefore: number;
  /** The newest generation with this job set, and the store's latest; null when none. */
  matching: Generation | null;
  latest: Generation | null;
}): void {
  if (!o.options.guard || o.options.force) return;
  // A stale file is the more telling diagnosis: it usually also retires jobs added since. An
  // older set applied again from the machine that applied the latest is that machine's operator
  // undoing an edit; from another machine it is a file the last deploy did not reach.
  if (o.matching && o.latest && o.matching.generation < o.latest.generation && o.latest.host !== (o.options.host ?? hostname())) {
    throw new ApplyRefusedError(
      "stale",
      `this config is the job set of generation ${o.matching.generation} (applied ${iso(o.matching.appliedAt)} by ${o.matching.source}), ` +
        `but the store has moved on to generation ${o.latest.generation} (applied ${iso(o.latest.appliedAt)} by ${o.latest.source}, from ${o.latest.host}): ` +
        "this machine's file looks stale, and applying it would revert that change. Update this machine's config; to go back on purpose: jobclock reload --force",
    );
  }
  const retired = o.report.retired.length;
  if (retired > 0 && (retired === o.activeBefore || retired * 2 > o.activeBefore)) {
    const which = o.report.retired.length > NAMES_SHOWN
      ? `${o.report.retired.slice(0, NAMES_SHOWN).join(", ")} and ${retired - NAMES_SHOWN} more`
      : o.report.retired.join(", ");
    throw new ApplyRefusedError(
      "retires_most",
      `this config would retire ${retired} of ${o.activeBefore} jobs (${which}); a config that retires every job or more than half of them ` +
        "is refused, so an empty or truncated file never empties the schedule. If that is what you want: jobclock reload --force",
    );
  }
}

/** What a control event says about an apply: counts, and the names while they are few. */
export function applyDetail(report: ApplyReport, generation: number | null, forced: boolean): Record<string, unknown> {
  const names = (list: string[]) => (list.length <= NAMES_SHOWN ? list : [...list.slice(0, NAMES_SHOWN), `… ${list.length - NAMES_SHOWN} more`]);
  return {
    generation, forced,
    added: names(report.added), updated: names(report.updated), retired: names(report.retired),
    counts: { added: report.added.length, updated: report.updated.length, retired: report.retired.length, unchanged: report.unchanged.length },
  };
}

/** The control event that tells every instance an apply was refused, and why. */
export function refusedEvent(error: ApplyRefusedError, at: number, options: ApplyOptions): Omit<ControlEvent, "id"> {
  return { at, source: options.source ?? "library", action: "apply_refused", job: null, detail: { reason: error.reason, message: error.message } };
}

export function hasChanges(report: ApplyReport): boolean {
  return report.added.length + report.updated.length + report.retired.length > 0;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
