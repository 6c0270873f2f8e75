import type { Logger } from "../../logger.js";
import type { Retention, SchedulingStore } from "../../store/types.js";

/** Settled notifications and control events kept whatever their age (a flapping job must not fill the disk). */
const BOOKKEEPING_ROWS = 10_000;
/** A trigger row only carries a request to its claim; the control event is its history. */
const TRIGGERS_KEEP_MS = 86_400_000;

/**
 * The background prune: run history beyond the retention, 200 jobs per transaction, yielding in
 * between; then notifications, incidents, triggers and control events, by the same age and a count.
 */
export async function pruneStore(
  store: SchedulingStore, names: string[], retention: Retention, now: () => number, keepGoing: () => boolean, log: Logger,
): Promise<void> {
  let removed = 0;
  for (let i = 0; i < names.length && keepGoing(); i += 200) {
    removed += await store.pruneRuns(retention, now(), names.slice(i, i + 200));
    await new Promise((r) => setImmediate(r));
  }
  if (removed > 0) log.debug({ removed }, "pruned run history");
  if (!keepGoing()) return;
  const bookkeeping = await store.pruneBookkeeping({ keepMs: retention.keepMs, keepRows: BOOKKEEPING_ROWS, triggersKeepMs: TRIGGERS_KEEP_MS }, now());
  if (bookkeeping > 0) log.debug({ removed: bookkeeping }, "pruned notifications, incidents, triggers and control events");
}
