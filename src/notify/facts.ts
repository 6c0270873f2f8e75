import type { HealthState } from "../health/evaluate.js";
import type { NotificationKind, RunStatus } from "../store/types.js";

/**
 * What a notification says, independent of where it goes. Slack formats it for people; the
 * webhook notifier sends it as it is (`version` lets receivers evolve with it).
 */
export interface NotificationFacts {
  version: 1;
  kind: NotificationKind;
  job: string;
  description: string | null;
  state: HealthState;
  previousState: HealthState | null;
  /** When the job entered `state` (epoch ms). */
  since: number | null;
  reason: string;
  lastRun: { id: number; status: RunStatus | null; startedAt: number | null; finishedAt: number | null; durationMs: number | null } | null;
  nextSlot: number | null;
  /** The first lines of the last failed run's error or stderr. */
  errorLines: string[];
  host: string;
  instance: string;
  at: number;
}

export const ERROR_LINES = 8;

/** The first non-empty lines of a run's error, then of its stderr. */
export function firstErrorLines(error: string | null, stderr: string | null, max = ERROR_LINES): string[] {
  const lines = [error, stderr]
    .filter((t): t is string => !!t)
    .flatMap((t) => t.split("\n"))
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
  return lines.slice(0, max).map((l) => (l.length > 300 ? `${l.slice(0, 299)}…` : l));
}
