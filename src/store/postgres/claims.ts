import { missedNote } from "../missed-note.js";
import type { ClaimOutcome, RunRecord, RunTrigger, SlotClaim } from "../types.js";
import type { Sql } from "./connect.js";

interface Answer {
  kind: "lost" | "busy" | "contended" | "advanced" | "started" | "skipped" | "queued";
  runId?: number;
  missedId?: number | null;
  trigger?: RunTrigger;
  error?: string;
  replacing?: number[];
}

// Claims per transaction. Batches go out together (the driver spreads them over its
// connections), so the database works on them in parallel; each holds its rows briefly.
const BATCH = 100;

/**
 * The claim transaction runs server-side (migrations 003 and 005: jobclock_claim_locked, and
 * jobclock_claim_batch around it). Each claim locks its job's row, so the running-run check,
 * the compare-and-set and the overlap decision hold whichever instance gets there first. A
 * batch is one transaction and one commit; it takes each row with SKIP LOCKED, so it never
 * waits on another instance's batch: a row held elsewhere answers "contended". A batch whose
 * round trip fails may or may not have committed: its claims read as "lost" with the answer
 * unknown, and the engine looks for them (LostClaims); the other batches' answers stand.
 */
export async function claimAll(sql: Sql, claims: SlotClaim[]): Promise<ClaimOutcome[]> {
  const batches: SlotClaim[][] = [];
  for (let i = 0; i < claims.length; i += BATCH) batches.push(claims.slice(i, i + BATCH));
  const settled = await Promise.allSettled(
    batches.map(async (batch) => {
      const payload = batch.map((c) => ({ ...c, missedNote: c.missed ? missedNote(c.missed) : null }));
      const [row] = await sql`SELECT jobclock_claim_batch(${sql.json(payload as never)}) AS answers`;
      return (row!.answers as Answer[]).map((a, k) => toOutcome(batch[k]!, a));
    }),
  );
  if (settled.every((s) => s.status === "rejected")) throw (settled[0] as PromiseRejectedResult).reason;
  return settled.flatMap((s, b) =>
    s.status === "fulfilled" ? s.value : batches[b]!.map((): ClaimOutcome => ({ kind: "lost", unknown: true })),
  );
}

function toOutcome(c: SlotClaim, a: Answer): ClaimOutcome {
  const missedRun: RunRecord | null = a.missedId
    ? record(c, Number(a.missedId), { slot: c.missed!.first, trigger: "schedule", status: "missed", startedAt: null, error: missedNote(c.missed!), missedCount: c.missed!.count, missedUntil: c.missed!.last })
    : null;
  switch (a.kind) {
    case "lost":
    case "busy":
    case "contended":
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

