import type { RunRecord, Store } from "../store/types.js";

/** True if a process with this pid exists (EPERM means it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Frees jobs whose runs lost their instance (PRODUCT §4). An instance is dead when it stopped
 * heartbeating for the budget, or, on this same host, when its pid is gone: that second test
 * lets a restarted daemon clean up after `kill -9` at once instead of waiting out the budget.
 */
export async function abandonDeadRuns(args: {
  store: Store;
  selfId: string;
  host: string;
  now: number;
  budgetMs: number;
  isAlive?: (pid: number) => boolean;
}): Promise<RunRecord[]> {
  const { store, selfId, host, now, budgetMs } = args;
  const isAlive = args.isAlive ?? pidAlive;
  const instances = await store.listInstances();
  const dead = instances.filter(
    (i) =>
      i.id !== selfId &&
      i.stoppedAt === null &&
      (now - i.lastSeen > budgetMs || (i.host === host && !isAlive(i.pid))),
  );
  const abandoned = await store.abandonRuns({
    now,
    staleBefore: now - budgetMs,
    instanceIds: dead.map((i) => i.id),
  });
  for (const i of dead) await store.markInstanceStopped(i.id, now);
  return abandoned;
}
