import { pidAlive } from "../../os/process.js";
import type { InstanceRecord, RunRecord, SchedulingStore } from "../../store/types.js";

/**
 * Frees jobs whose runs lost their instance: a job whose run nobody runs any more must not stay
 * "running" (and block its next slots) for ever. An instance is dead when it stopped
 * heartbeating for the budget, or, on this same host, when its pid is gone and it has missed
 * two heartbeats: that second test lets a restarted daemon clean up after `kill -9` in seconds
 * instead of waiting out the budget. (The missed heartbeats guard against containers that share
 * a hostname but not a pid namespace, where a live instance's pid looks gone.) Their slots end
 * `abandoned` (see SlotState).
 */
export async function abandonDeadRuns(args: {
  store: SchedulingStore;
  /** The store's instances, as just listed. */
  instances: InstanceRecord[];
  selfId: string;
  host: string;
  now: number;
  budgetMs: number;
  quietMs: number;
  isAlive?: (pid: number) => boolean;
}): Promise<RunRecord[]> {
  const { store, instances, selfId, host, now, budgetMs, quietMs } = args;
  const isAlive = args.isAlive ?? pidAlive;
  const dead = instances.filter(
    (i) =>
      i.id !== selfId &&
      i.stoppedAt === null &&
      (now - i.lastSeen > budgetMs || (i.host === host && now - i.lastSeen > quietMs && !isAlive(i.pid))),
  );
  const abandoned = await store.abandonRuns({
    now,
    staleBefore: now - budgetMs,
    instanceIds: dead.map((i) => i.id),
  });
  for (const i of dead) await store.markInstanceStopped(i.id, now);
  return abandoned;
}
