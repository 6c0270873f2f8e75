import type { ClaimOutcome, RunRecord, RunTrigger, SlotClaim } from "../types.js";
import type { Sql } from "./connect.js";

interface Answer {
  kind: "lost" | "busy" | "advanced" | "started" | "skipped" | "queued";
  runId?: number;
  missedId?: number | null;
  trigger?: RunTrigger;
  error?: string;
  replacing?: number[];
}

/**
 * The claim transaction runs server-side (migration 003, jobclock_claim). Each claim locks its
 * job's row first, so the running-run check, the compare-and-set and the overlap decision hold
 * whichever instance gets there first; one lock per transaction, so no deadlock is possible.
 */
export async function claimAll(sql: Sql, claims: SlotClaim[]): Promise<ClaimOutcome[]> {
  // Each claim is its own short transaction, holding only its job's row lock: a batch holding
  // fifty locks until its end made other instances' finishes wait, and their next slots skip.
  // The driver pipelines the calls, so the batch still costs about one round trip.
  // Each claim stands alone: if some fail (the connection dropped), the ones that committed
  // must still be started, not thrown away with the batch. A failed one reads as "lost" with
  // its answer unknown: the engine re-reads the job, and adopts the run if it did commit.
  const settled = await Promise.allSettled(
    claims.map(async (c) => {
      const [row] = await sql`SELECT jobclock_claim(${sql.json({ ...c, missedNote: c.missed ? missedNote(c) : null } as never)}) AS answer`;
      return toOutcome(c, row!.answer as Answer);
    }),
  );
  if (settled.every((s) => s.status === "rejected")) throw (settled[0] as PromiseRejectedResult).reason;
  return settled.map((s): ClaimOutcome => (s.status === "fulfilled" ? s.value : { kind: "lost", unknown: true }));
}

function toOutcome(c: SlotClaim, a: Answer): ClaimOutcome {
  const missedRun: RunRecord | null = a.missedId
    ? record(c, Number(a.missedId), { slot: c.missed!.first, trigger: "schedule", status: "missed", startedAt: null, error: missedNote(c), missedCount: c.missed!.count, missedUntil: c.missed!.last })
    : null;
  switch (a.kind) {
    case "lost":
    case "busy":
      return { kind: a.kind };
    case "advanced":
    case "queued":
      return { kind: a.kind, missedRun };
    case "started":
      return {
        kind: "started", missedRun, replacing: (a.replacing ?? []).map(Number),
        run: record(c, Number(a.runId), { slot: c.slot!, trigger: a.trigger!, status: "running", startedAt: c.now, error: null, missedCount: null, missedUntil: null }),
      };
    case "skipped":
      return {
        kind: "skipped", missedRun,
        run: record(c, Number(a.runId), { slot: c.slot!, trigger: a.trigger!, status: "skipped", startedAt: null, error: a.error ?? null, missedCount: null, missedUntil: null }),
      };
  }
}

function record(
  c: SlotClaim,
  id: number,
  r: Pick<RunRecord, "slot" | "trigger" | "status" | "startedAt" | "error" | "missedCount" | "missedUntil">,
): RunRecord {
  return {
    id, job: c.job, instanceId: c.instanceId, attempt: 1, finishedAt: null, exitCode: null, signal: null,
    heartbeatAt: r.startedAt, createdAt: c.now, ...r,
  };
}

function missedNote(c: SlotClaim): string {
  const m = c.missed!;
  return `${m.atLeast ? "at least " : ""}${m.count} slot${m.count === 1 ? "" : "s"} missed from ${new Date(m.first).toISOString()} to ${new Date(m.last).toISOString()}`;
}
