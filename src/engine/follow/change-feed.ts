import type { Clock } from "../../clock.js";
import type { SchedulingStore } from "../../store/types.js";
import { Loop } from "../loop.js";
import { FALLBACK_POLL_MS, POLL_MS } from "../options.js";

export interface ChangeFeed {
  /** The fallback poll rides on the heartbeat instead of a loop of its own. */
  pollOnBeat: boolean;
  stop(): Promise<void>;
}

/**
 * How the engine hears of what other processes wrote: the store's push where it has one
 * (LISTEN/NOTIFY, a watch on SQLite's files), and a poll as the fallback for a lost push. A
 * local SQLite file's push is not lost the way a dropped connection loses PostgreSQL's NOTIFY,
 * so there the poll rides on the heartbeat: an idle daemon wakes once per heartbeat, not once a
 * second (on a VM each wakeup costs a few hundred microseconds of CPU, most of an idle daemon's cost).
 */
export async function followChanges(deps: {
  store: SchedulingStore; clock: Clock; syncMs: number | null; sync(): Promise<void>; warn(message: string, error?: unknown): void;
}): Promise<ChangeFeed> {
  let unsubscribe: (() => Promise<void>) | null = null;
  if (deps.store.subscribe) {
    try {
      unsubscribe = await deps.store.subscribe(() => void deps.sync().catch((e) => deps.warn("store sync failed", e)));
    } catch (error) {
      deps.warn("the store cannot push changes here; polling for them instead", error);
    }
  }
  const pollOnBeat = deps.syncMs === null && unsubscribe !== null && deps.store.traits?.reliablePush === true;
  const pollMs = deps.syncMs ?? (unsubscribe ? FALLBACK_POLL_MS : POLL_MS);
  const poll = pollOnBeat ? null : new Loop(deps.clock, pollMs, () => deps.sync(), (e) => deps.warn("store sync failed", e));
  return {
    pollOnBeat,
    async stop() {
      poll?.stop();
      await unsubscribe?.().catch(() => {});
    },
  };
}
