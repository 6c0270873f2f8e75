import type { ClaimOutcome, RunRecord, RunTrigger, SlotClaim } from "../types.js";
import type { Sql } from "./connect.js";

type Tx = Sql;

/**
 * The claim transaction, as in SQLite's claims.ts, for several instances at once: the job's row
 * is locked first (FOR UPDATE), so the running-run check, the compare-and-set and the overlap
 * decision all see the same state whichever instance gets there first.
 */
export async function claimAll(sql: Sql, claims: SlotClaim[]): Promise<ClaimOutcome[]> {
  // Lock jobs in name order: two instances claiming overlapping batches can not deadlock.
  const order = claims.map((c, i) => ({ c, i })).sort((a, b) => (a.c.job < b.c.job ? -1 : a.c.job > b.c.job ? 1 : a.i - b.i));
  const outcomes: ClaimOutcome[] = new Array(claims.length);
  await sql.begin(async (tx) => {
    for (const { c, i } of order) outcomes[i] = await claimOne(tx as unknown as Tx, c);
  });
  return outcomes;
}

async function claimOne(tx: Tx, c: SlotClaim): Promise<ClaimOutcome> {
  const [job] = await tx`SELECT queued_slot, queued_trigger FROM jobs WHERE name = ${c.job} FOR UPDATE`;
  if (!job) return { kind: "lost" };
  const running = (await tx`SELECT id FROM runs WHERE job = ${c.job} AND status = 'running'`).map((r) => Number(r.id));
  if (c.waitIfBusy && running.length > 0) return { kind: "busy" };
  const queuedTrigger = c.source.kind === "queued" ? (job.queued_trigger as string | null) : null;
  if (!(await proveOwnership(tx, c))) return { kind: "lost" };
  const missedRun = c.missed ? await recordMissed(tx, c) : null;
  if (c.missed && !missedRun) return { kind: "lost" };
  if (c.slot === null) return { kind: "advanced", missedRun };
  const trigger = (queuedTrigger ?? c.trigger) as RunTrigger;

  if (running.length === 0 || c.overlap === "allow" || c.overlap === "replace") {
    const run = await insertRun(tx, c, c.slot, trigger, "running", null);
    if (!run) return { kind: "lost" };
    await tx`UPDATE jobs SET last_run_id = ${run.id}, last_started_at = ${c.now} WHERE name = ${c.job}`;
    if (c.source.kind === "trigger") await tx`UPDATE triggers SET run_id = ${run.id} WHERE id = ${c.source.triggerId}`;
    return { kind: "started", run, replacing: c.overlap === "replace" ? running : [], missedRun };
  }
  if (c.overlap === "queue" && job.queued_slot === null) {
    await tx`UPDATE jobs SET queued_slot = ${c.slot}, queued_trigger = ${trigger} WHERE name = ${c.job}`;
    return { kind: "queued", missedRun };
  }
  const reason = c.overlap === "queue" ? `a run is already queued behind run #${running[0]}` : `run #${running[0]} was still running (overlap: skip)`;
  const run = await insertRun(tx, c, c.slot, trigger, "skipped", reason);
  if (!run) return { kind: "lost" };
  if (c.source.kind === "trigger") await tx`UPDATE triggers SET run_id = ${run.id} WHERE id = ${c.source.triggerId}`;
  return { kind: "skipped", run, missedRun };
}

async function proveOwnership(tx: Tx, c: SlotClaim): Promise<boolean> {
  const src = c.source;
  if (src.kind === "slot") {
    const r = await tx`UPDATE jobs SET next_slot = ${src.next} WHERE name = ${c.job} AND next_slot = ${src.expected}
      AND spec_hash = ${c.specHash} AND retired_at IS NULL AND (paused = 0 OR ${c.slot === null})`;
    return r.count === 1;
  }
  if (src.kind === "trigger") {
    const r = await tx`UPDATE triggers SET claimed_by = ${c.instanceId}, claimed_at = ${c.now} WHERE id = ${src.triggerId} AND claimed_by IS NULL`;
    return r.count === 1;
  }
  const r = await tx`UPDATE jobs SET queued_slot = NULL, queued_trigger = NULL WHERE name = ${c.job} AND queued_slot = ${src.expected}`;
  return r.count === 1;
}

async function recordMissed(tx: Tx, c: SlotClaim): Promise<RunRecord | null> {
  const m = c.missed!;
  const note = `${m.atLeast ? "at least " : ""}${m.count} slot${m.count === 1 ? "" : "s"} missed from ${new Date(m.first).toISOString()} to ${new Date(m.last).toISOString()}`;
  return insertRecord(tx, {
    job: c.job, slot: m.first, trigger: "schedule", instanceId: c.instanceId, status: "missed", startedAt: null, heartbeatAt: null,
    error: note, missedCount: m.count, missedUntil: m.last, createdAt: c.now,
  });
}

function insertRun(tx: Tx, c: SlotClaim, slot: number, trigger: RunTrigger, status: "running" | "skipped", error: string | null) {
  const started = status === "running" ? c.now : null;
  return insertRecord(tx, {
    job: c.job, slot, trigger, instanceId: c.instanceId, status, startedAt: started, heartbeatAt: started, error,
    missedCount: null, missedUntil: null, createdAt: c.now,
  });
}

async function insertRecord(tx: Tx, r: Omit<RunRecord, "id" | "attempt" | "finishedAt" | "exitCode" | "signal">): Promise<RunRecord | null> {
  const [row] = await tx`INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, started_at, heartbeat_at, error, missed_count, missed_until, created_at)
    VALUES (${r.job}, ${r.slot}, ${r.trigger}, ${r.instanceId}, 1, ${r.status}, ${r.startedAt}, ${r.heartbeatAt}, ${r.error}, ${r.missedCount}, ${r.missedUntil}, ${r.createdAt})
    ON CONFLICT DO NOTHING RETURNING id`;
  return row ? { ...r, id: Number(row.id), attempt: 1, finishedAt: null, exitCode: null, signal: null } : null;
}
