import { readFileSync } from "node:fs";
import type { InstanceRecord, RunRecord, SchedulingStore } from "../store/types.js";

/**
 * True if a process with this pid exists (EPERM means it exists but is not ours). A zombie
 * counts as dead: a killed daemon whose parent never reaps it (PID 1 in many containers) must
 * not look alive forever.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // /proc/PID/stat is "pid (comm) state …"; comm may hold spaces or parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

/**
 * Frees jobs whose runs lost their instance (PRODUCT §4). An instance is dead when it stopped
 * heartbeating for the budget, or, on this same host, when its pid is gone and it has missed
 * two heartbeats: that second test lets a restarted daemon clean up after `kill -9` in seconds
 * instead of waiting out the budget. (The missed heartbeats guard against containers that share
 * a hostname but not a pid namespace, where a live instance's pid looks gone.)
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
