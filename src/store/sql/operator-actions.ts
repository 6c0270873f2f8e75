import type { TriggerRequest } from "../types.js";
import { recordControl } from "./bookkeeping.js";
import { bumpRev, one, run, type Dialect, type Operation } from "./seam.js";

/** What an operator does to one job (pause, resume, trigger): a revision bump so every instance looks, and a control event when someone is named. */

export function* setPaused(d: Dialect, name: string, paused: boolean, now: number, source?: string): Operation<boolean> {
  const rev = yield* bumpRev(d, "pause");
  const p = paused ? 1 : 0;
  const changed = (yield* run(
    `UPDATE jobs SET paused = ?, updated_at = ?, rev = ?,
       resumed_at = CASE WHEN paused = 1 AND CAST(? AS INTEGER) = 0 THEN ? ELSE resumed_at END
     WHERE name = ? AND retired_at IS NULL`,
    p, now, rev, p, now, name,
  )) === 1;
  if (changed && source) yield* recordControl({ at: now, source, action: paused ? "pause" : "resume", job: name, detail: null });
  return changed;
}

export function* requestTrigger(d: Dialect, name: string, now: number, source?: string): Operation<TriggerRequest | null> {
  if (!(yield* one("SELECT 1 AS found FROM jobs WHERE name = ? AND retired_at IS NULL", name))) return null;
  yield* bumpRev(d, "trigger");
  const row = yield* one<{ id: number }>("INSERT INTO triggers (job, requested_at) VALUES (?, ?) RETURNING id", name, now);
  const id = row!.id;
  if (source) yield* recordControl({ at: now, source, action: "trigger", job: name, detail: { trigger: id } });
  return { id, job: name, requestedAt: now };
}
