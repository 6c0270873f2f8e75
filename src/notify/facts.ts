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

/**
 * What to show of a failure: up to 3 lines of the run's error (a stack trace says little past
 * its top), then the first lines of its stderr, where the program said what went wrong.
 */
export function firstErrorLines(error: string | null, stderr: string | null, max = ERROR_LINES): string[] {
  const lines = (text: string | null) => (text ?? "").split("\n").map((l) => l.trimEnd()).filter((l) => l.length > 0);
  const picked = [...lines(error).slice(0, 3), ...lines(stderr)].slice(0, max);
  return picked.map((l) => (l.length > 300 ? `${l.slice(0, 299)}…` : l));
}
