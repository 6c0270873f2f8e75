/**
 * The states one slot (one run asked for: a due slot, a manual trigger, a queued slot) goes
 * through in this instance, and the file that moves it there. A slot's life follows the
 * engine's folders: follow/ brings the job in, table/ says when it is due, claim/ asks the
 * store for it, runs/ runs and records it, heartbeat/ keeps its run alive (or abandons the
 * runs of dead instances).
 *
 *   due ─▶ claiming ─┬─▶ waiting ─▶ running ─▶ finishing ─▶ recorded
 *                    ├─▶ running
 *                    ├─▶ queued ─▶ claiming (when the job is idle)
 *                    ├─▶ skipped
 *                    └─▶ lost ─▶ running (adopted) | abandoned
 *
 * - `due`: table/job-table.ts `popDue` (its fire time, less the claim-ahead, has come);
 *   triggers and queued slots are due when follow/store-follower.ts reads them.
 * - `claiming`: claim/claimer.ts sends the claim (compare-and-set in the store).
 * - `waiting`: runs/run-supervisor.ts `start`, for a run claimed ahead of its slot: it waits in
 *   runs/start-queue.ts until its fire time.
 * - `queued`: claim/claimer.ts, when the store queued it behind a running run (`overlap: queue`);
 *   claim/queued-slots.ts claims it when the job is idle.
 * - `skipped`: claim/claimer.ts, when the store skipped it (busy) or missed it (catch-up policy).
 * - `running`: runs/run-supervisor.ts starts it; runs/run-executor.ts runs its attempts.
 * - `finishing`: runs/run-supervisor.ts `record`: the result is on its way to the store
 *   (batched by runs/batcher.ts, retried while the store is away).
 * - `recorded`: runs/run-supervisor.ts, once the store took the result ("run:finished"), or
 *   at close when a result could not be written and was given up (the store still says
 *   `running` until another instance abandons it): either way this process is done with it.
 * - `lost`: claim/claimer.ts, when a claim's answer never came; claim/lost-claims.ts finds its
 *   run later and follow/store-follower.ts adopts it (`running`), or nobody does and it ends
 *   `abandoned`.
 * - `abandoned`: heartbeat/dead-instances.ts, when the instance holding its run died.
 */
export type SlotState =
  | "due"
  | "claiming"
  | "waiting"
  | "queued"
  | "skipped"
  | "running"
  | "finishing"
  | "recorded"
  | "lost"
  | "abandoned";

/** The states of a run this process holds (RunSupervisor tracks these). */
export type HeldRunState = Extract<SlotState, "waiting" | "running" | "finishing">;
