import { judgeClaim, type ClaimedJob, type ClaimVerdict } from "../claim/claim-rule.js";
import { claimOutcome, claimWrites, type ClaimWrites, type NewRun } from "../claim/claim-writes.js";
import type { ClaimOutcome, RunTrigger, SlotClaim } from "../types.js";
import type { Tx } from "./apply.js";
import type { Sql } from "./connect.js";

// Claims per transaction. Batches go out together (the driver spreads them over its
// connections), so the database works on them in parallel; each holds its rows briefly.
const BATCH = 100;

/**
 * PostgreSQL's claim: the claim rule (claim-rule.ts) decided here, in the client, over rows read
 * and locked in the claim's transaction, and its rows written in bulk: about five statements for
 * a hundred claims. Each batch locks its jobs' rows with SKIP LOCKED, so it never waits on
 * another instance's batch: a row held elsewhere answers "contended" and is looked at again a
 * moment later. A job claimed twice in one batch (a burst of triggers) is judged in rounds, one
 * claim of it per round, so the second sees the first's run. A batch whose round trip fails may
 * or may not have committed: its claims read as "lost" with the answer unknown, and the engine
 * looks for them (LostClaims); the other batches' answers stand.
 */
export async function claimAll(sql: Sql, claims: SlotClaim[]): Promise<ClaimOutcome[]> {
  const batches: SlotClaim[][] = [];
  for (let i = 0; i < claims.length; i += BATCH) batches.push(claims.slice(i, i + BATCH));
  const settled = await Promise.allSettled(batches.map((batch) => sql.begin((tx) => claimBatch(tx, batch))));
  if (settled.every((s) => s.status === "rejected")) throw (settled[0] as PromiseRejectedResult).reason;
  return settled.flatMap((s, b) =>
    s.status === "fulfilled" ? s.value : batches[b]!.map((): ClaimOutcome => ({ kind: "lost", unknown: true })),
  );
}

async function claimBatch(tx: Tx, batch: SlotClaim[]): Promise<ClaimOutcome[]> {
  const outcomes: ClaimOutcome[] = new Array(batch.length);
  // Round k holds the k-th claim of each job: within a round every job appears once.
  const rounds: number[][] = [];
  const seen = new Map<string, number>();
  batch.forEach((c, i) => {
    const k = seen.get(c.job) ?? 0;
    seen.set(c.job, k + 1);
    (rounds[k] ??= []).push(i);
  });
  for (const round of rounds) {
    const answers = await claimRound(tx, round.map((i) => batch[i]!));
    round.forEach((i, k) => (outcomes[i] = answers[k]!));
  }
  return outcomes;
}

interface LockedJob {
  name: string; next_slot: number | null; spec_hash: string; retired_at: number | null; paused: number;
  queued_slot: number | null; queued_trigger: string | null;
}

async function claimRound(tx: Tx, claims: SlotClaim[]): Promise<ClaimOutcome[]> {
  const names = claims.map((c) => c.job);
  const locked = new Map((await tx<LockedJob[]>`SELECT name, next_slot, spec_hash, retired_at, paused, queued_slot, queued_trigger
    FROM jobs WHERE name = ANY(${names}::text[]) FOR UPDATE SKIP LOCKED`).map((r) => [r.name, r]));
  const absent = names.filter((n) => !locked.has(n));
  const present = absent.length === 0 ? new Set<string>() : new Set((await tx`SELECT name FROM jobs WHERE name = ANY(${absent}::text[])`).map((r) => r.name as string));
  // A statement of its own, after the lock: it sees every run committed before the row was ours.
  const running = new Map<string, number[]>();
  if (locked.size > 0) {
    for (const r of await tx`SELECT job, id FROM runs WHERE job = ANY(${[...locked.keys()]}::text[]) AND status = 'running' ORDER BY id`) {
      const list = running.get(r.job as string) ?? running.set(r.job as string, []).get(r.job as string)!;
      list.push(Number(r.id));
    }
  }
  const judged = claims.map((c): { verdict: ClaimVerdict; writes: ClaimWrites | null } => {
    const row = locked.get(c.job);
    if (!row) return { verdict: { kind: "lost" }, writes: null }; // answered below: contended, or no such job
    const verdict = judgeClaim(c, claimedJob(row), running.get(c.job) ?? []);
    return { verdict, writes: verdict.kind === "go" ? claimWrites(c, verdict) : null };
  });
  const triggers = judged.flatMap((j) => (j.writes?.triggerId != null ? [j.writes.triggerId] : []));
  const wonTriggers = triggers.length === 0 ? new Set<number>() : new Set((await tx`UPDATE triggers SET claimed_by = ${claims[0]!.instanceId}, claimed_at = ${claims[0]!.now}
    WHERE id = ANY(${triggers}::bigint[]) AND claimed_by IS NULL RETURNING id`).map((r) => Number(r.id)));
  const live = judged.map((j) => (j.writes && (j.writes.triggerId === null || wonTriggers.has(j.writes.triggerId)) ? j.writes : null));
  const missedIds = await insertRuns(tx, live.map((w) => w?.missed ?? null));
  const runIds = await insertRuns(tx, live.map((w, k) => (w && (!w.missed || missedIds[k] !== null) ? w.run : null)));
  await updateJobs(tx, claims, live, missedIds, runIds);
  const links = live.flatMap((w, k) => (w?.triggerId != null && runIds[k] != null ? [{ id: w.triggerId, run: runIds[k] }] : []));
  if (links.length > 0) {
    await tx`UPDATE triggers SET run_id = l.run FROM jsonb_to_recordset(${tx.json(links as never)}) AS l(id bigint, run bigint) WHERE triggers.id = l.id`;
  }
  return claims.map((c, k): ClaimOutcome => {
    const { verdict } = judged[k]!;
    if (!locked.has(c.job)) return present.has(c.job) ? { kind: "contended" } : { kind: "lost" };
    if (verdict.kind !== "go") return verdict;
    const w = live[k];
    if (!w) return { kind: "lost" }; // its trigger was claimed elsewhere
    return claimOutcome(c, verdict, w, { missedId: missedIds[k] ?? null, runId: runIds[k] ?? null });
  });
}

/** Inserts the rows given (nulls skipped); each one's id, or null where the unique index refused it (the slot was taken). */
async function insertRuns(tx: Tx, rows: (NewRun | null)[]): Promise<(number | null)[]> {
  const wanted = rows.flatMap((r, k) => (r ? [{ k, ...r }] : []));
  const ids: (number | null)[] = rows.map(() => null);
  if (wanted.length === 0) return ids;
  const inserted = await tx`INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, started_at, heartbeat_at, error,
      missed_count, missed_until, blocked_by, created_at)
    SELECT job, slot, trigger, "instanceId", 1, status, "startedAt", "startedAt", error, "missedCount", "missedUntil", "blockedBy", "createdAt"
    FROM jsonb_to_recordset(${tx.json(wanted as never)}) AS r(k int, job text, slot bigint, trigger text, "instanceId" text, status text,
      "startedAt" bigint, error text, "missedCount" bigint, "missedUntil" bigint, "blockedBy" bigint, "createdAt" bigint)
    ORDER BY k
    ON CONFLICT DO NOTHING RETURNING id, job, slot, status`;
  // Within a round a job has one claim, and so at most one row of each status here.
  const byKey = new Map(inserted.map((r) => [`${r.job}\u0000${r.status}`, Number(r.id)]));
  for (const w of wanted) ids[w.k] = byKey.get(`${w.job}\u0000${w.status}`) ?? null;
  return ids;
}

/** The one write to each job row: past the slot, the queue emptied or filled, the run that started. */
async function updateJobs(tx: Tx, claims: SlotClaim[], live: (ClaimWrites | null)[], missedIds: (number | null)[], runIds: (number | null)[]): Promise<void> {
  const updates = live.flatMap((w, k) => {
    if (!w) return [];
    const taken = (w.missed !== null && missedIds[k] === null) || (w.run !== null && runIds[k] === null);
    const started = w.run?.status === "running" && runIds[k] !== null ? runIds[k] : null;
    const queue = !taken && (w.missed === null || missedIds[k] !== null) ? w.setQueue : null;
    if (!w.advanceTo && !w.clearQueue && !queue && started === null) return [];
    return [{
      name: claims[k]!.job, advance: w.advanceTo !== null, next: w.advanceTo?.nextSlot ?? null, clear: w.clearQueue,
      queueSlot: queue?.slot ?? null, queueTrigger: queue?.trigger ?? null, started, at: claims[k]!.now,
    }];
  });
  if (updates.length === 0) return;
  await tx`UPDATE jobs SET
      next_slot = CASE WHEN u.advance THEN u.next ELSE jobs.next_slot END,
      queued_slot = CASE WHEN u."queueSlot" IS NOT NULL THEN u."queueSlot" WHEN u.clear THEN NULL ELSE jobs.queued_slot END,
      queued_trigger = CASE WHEN u."queueSlot" IS NOT NULL THEN u."queueTrigger" WHEN u.clear THEN NULL ELSE jobs.queued_trigger END,
      last_run_id = coalesce(u.started, jobs.last_run_id),
      last_started_at = CASE WHEN u.started IS NOT NULL THEN u.at ELSE jobs.last_started_at END
    FROM jsonb_to_recordset(${tx.json(updates as never)}) AS u(name text, advance boolean, next bigint, clear boolean,
      "queueSlot" bigint, "queueTrigger" text, started bigint, at bigint)
    WHERE jobs.name = u.name`;
}

function claimedJob(r: LockedJob): ClaimedJob {
  return {
    nextSlot: r.next_slot === null ? null : Number(r.next_slot), specHash: r.spec_hash, retired: r.retired_at !== null,
    paused: Number(r.paused) !== 0, queuedSlot: r.queued_slot === null ? null : Number(r.queued_slot),
    queuedTrigger: r.queued_trigger as RunTrigger | null,
  };
}
