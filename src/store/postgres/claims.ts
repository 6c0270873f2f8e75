import { claimedJob, judgeClaim, type ClaimedJobRow, type ClaimVerdict } from "../claim/claim-rule.js";
import { claimOutcome, claimWrites, type ClaimWrites, type NewRun } from "../claim/claim-writes.js";
import type { ClaimOutcome, SlotClaim } from "../types.js";
import type { Sql, Tx } from "./connect.js";

// Claims per transaction. Each transaction costs five or six statements whatever its size, and
// on these VMs each statement's socket write and the server's wakeup is most of the client's
// cost, so one transaction takes every claim an instance makes at once in steady state (1,000
// jobs due together: one batch, where batches of 200 cost the client about 10 % more CPU per
// run). Bigger sets (a start-up, a catch-up) go out as several batches over the pool.
const BATCH = 1_000;

/**
 * PostgreSQL's claim: the claim rule (claim-rule.ts) decided here, in the client, over rows read
 * and locked in the claim's transaction, and its rows written in bulk: a few statements for
 * hundreds of claims. Each batch locks its jobs' rows with SKIP LOCKED, so it never waits on
 * another instance's batch: a row held elsewhere answers "contended" and is looked at again a
 * moment later. A job claimed twice in one batch (a burst of triggers) is judged in rounds, one
 * claim of it per round, so the second sees the first's run. A batch whose round trip fails may
 * or may not have committed: its claims read as "lost" with the answer unknown, and the engine
 * looks for them (LostClaims); the other batches' answers stand.
 */
export async function claimAll(sql: Sql, claims: SlotClaim[]): Promise<ClaimOutcome[]> {
  if (claims.length === 0) return [];
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


async function claimRound(tx: Tx, claims: SlotClaim[]): Promise<ClaimOutcome[]> {
  const names = claims.map((c) => c.job);
  // Sent together (one round trip). The second is a statement of its own, run after the first
  // has its locks: it sees every run committed before a row was ours.
  // Each answer as one JSON text: parsing it is native, where a thousand rows of a result are
  // each decoded field by field in the driver.
  const [[locks], runningRows] = await Promise.all([
    tx`SELECT coalesce(json_agg(json_build_object('name', name, 'next_slot', next_slot, 'spec_hash', spec_hash, 'retired_at', retired_at,
        'paused', paused, 'queued_slot', queued_slot, 'queued_trigger', queued_trigger)), '[]')::text AS rows
      FROM (SELECT * FROM jobs WHERE name = ANY(${names}::text[]) FOR UPDATE SKIP LOCKED) AS j`,
    tx`SELECT job, id FROM runs WHERE job = ANY(${names}::text[]) AND status = 'running' ORDER BY id`,
  ]);
  const lockedRows = JSON.parse(locks!.rows as string) as (ClaimedJobRow & { name: string })[];
  const locked = new Map(lockedRows.map((r) => [r.name, r]));
  const running = new Map<string, number[]>();
  for (const r of runningRows) (running.get(r.job as string) ?? running.set(r.job as string, []).get(r.job as string)!).push(Number(r.id));
  const absent = names.filter((n) => !locked.has(n));
  const present = absent.length === 0 ? new Set<string>() : new Set((await tx`SELECT name FROM jobs WHERE name = ANY(${absent}::text[])`).map((r) => r.name as string));
  const judged = claims.map((c): { verdict: ClaimVerdict; writes: ClaimWrites | null } => {
    const row = locked.get(c.job);
    if (!row) return { verdict: { kind: "lost" }, writes: null }; // answered below: contended, or no such job
    const verdict = judgeClaim(c, claimedJob(row), running.get(c.job) ?? []);
    return { verdict, writes: verdict.kind === "go" ? claimWrites(c, verdict) : null };
  });
  const won = await claimTriggers(tx, judged.flatMap((j, k) =>
    (j.writes?.triggerId != null ? [{ id: j.writes.triggerId, instance: claims[k]!.instanceId, at: claims[k]!.now }] : [])));
  const live = judged.map((j) => (j.writes && (j.writes.triggerId === null || won.has(j.writes.triggerId)) ? j.writes : null));
  const { missedIds, runIds } = await writeClaims(tx, claims, live);
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

/** A trigger claim owns its trigger row first (compare-and-set, with its own instance and time); the ids won here. */
async function claimTriggers(tx: Tx, claims: { id: number; instance: string; at: number }[]): Promise<Set<number>> {
  if (claims.length === 0) return new Set();
  const won = await tx`UPDATE triggers SET claimed_by = t.instance, claimed_at = t.at
    FROM jsonb_to_recordset(${tx.json(claims as never)}) AS t(id bigint, instance text, at bigint)
    WHERE triggers.id = t.id AND triggers.claimed_by IS NULL RETURNING triggers.id`;
  return new Set(won.map((r) => Number(r.id)));
}

/**
 * Every row the round's claims write: the missed records (rare: a catch-up), then the runs of
 * the claims whose missed record went in (a refused one means the slot was taken), then the
 * one write to each job row (past the slot, the queue emptied or filled, the run that started).
 * Plain bulk statements over a recordset: joins between a statement's own CTEs were planned
 * as nested loops and cost the server more than the round trip they saved. Returns the
 * inserted ids by claim; null where the unique index refused a row.
 */
async function writeClaims(tx: Tx, claims: SlotClaim[], live: (ClaimWrites | null)[]): Promise<{ missedIds: (number | null)[]; runIds: (number | null)[] }> {
  const missedIds = await insertRuns(tx, live.map((w) => w?.missed ?? null));
  const runIds = await insertRuns(tx, live.map((w, k) => (w?.run && (!w.missed || missedIds[k] !== null) ? w.run : null)));
  const updates = live.flatMap((w, k) => {
    if (!w) return [];
    const taken = w.missed !== null && missedIds[k] === null;
    const started = w.run?.status === "running" ? runIds[k] : null;
    return [{
      name: claims[k]!.job, advance: w.advanceTo !== null, next: w.advanceTo?.nextSlot ?? null, clear: w.clearQueue,
      queueSlot: taken ? null : (w.setQueue?.slot ?? null), queueTrigger: taken ? null : (w.setQueue?.trigger ?? null),
      started: started ?? null, at: claims[k]!.now,
    }];
  });
  if (updates.length > 0) {
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
  return { missedIds, runIds };
}

/** Inserts the rows given (nulls skipped); each one's id, or null where the unique index refused it. */
async function insertRuns(tx: Tx, rows: (NewRun | null)[]): Promise<(number | null)[]> {
  const ids: (number | null)[] = rows.map(() => null);
  const wanted = rows.flatMap((r, k) => (r ? [{ k, job: r.job, slot: r.slot, trigger: r.trigger, inst: r.instanceId, status: r.status,
    started: r.startedAt, error: r.error, count: r.missedCount, until: r.missedUntil, blocked: r.blockedBy, at: r.createdAt }] : []));
  if (wanted.length === 0) return ids;
  const [answer] = await tx`WITH inserted AS (
      INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, started_at, heartbeat_at, error,
        missed_count, missed_until, blocked_by, created_at)
      SELECT job, slot, trigger, inst, 1, status, started, started, error, count, until, blocked, at
      FROM jsonb_to_recordset(${tx.json(wanted as never)}) AS r(k int, job text, slot bigint, trigger text, inst text, status text,
        started bigint, error text, count bigint, until bigint, blocked bigint, at bigint)
      ORDER BY k
      ON CONFLICT DO NOTHING RETURNING id, job)
    SELECT coalesce(json_object_agg(job, id), '{}')::text AS ids FROM inserted`;
  // Within a round each job has one claim, so one row of this statement at most.
  const inserted = JSON.parse(answer!.ids as string) as Record<string, number>;
  for (const w of wanted) if (Object.hasOwn(inserted, w.job)) ids[w.k] = Number(inserted[w.job]);
  return ids;
}

