-- Claims and finishes in batches, cheaper per slot (version 003 cost about 0.3 ms per claim and
-- 0.2 ms per finish, server-side: 1,000 slots a second from three instances did not fit).
--
-- jobclock_claim_batch: one round trip and one commit for all the slots an instance claims in a
-- tick. Each job row is taken with SKIP LOCKED: a row another transaction holds answers
-- "contended" at once, so a batch never waits on another instance's batch (and batches cannot
-- deadlock); the engine looks at that job again a moment later. The rules are jobclock_claim's
-- (003), with the row already locked and read: the compare-and-set is checked on it, and the
-- job row is written once.

CREATE FUNCTION jobclock_claim_locked(c jsonb, j jobs) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  inst      text   := c->>'instanceId';
  nowv      bigint := (c->>'now')::bigint;
  slotv     bigint := (c->>'slot')::bigint;
  overlap   text   := c->>'overlap';
  src       jsonb  := c->'source';
  kind      text   := c->'source'->>'kind';
  trig      text   := c->>'trigger';
  running   bigint[];
  n         int;
  missed_id bigint;
  new_run   bigint;
  reason    text;
  queue_it  boolean := false;
  -- A missed or run record for this slot exists already (the unique index said so): the slot
  -- is taken. As in 003 and in SQLite, the job still moves past it, then the claim is lost.
  taken     boolean := false;
BEGIN
  SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO running FROM runs WHERE job = j.name AND status = 'running';
  IF (c->>'waitIfBusy')::boolean AND cardinality(running) > 0 THEN RETURN '{"kind":"busy"}'; END IF;

  IF kind = 'slot' THEN
    IF j.next_slot IS DISTINCT FROM (src->>'expected')::bigint OR j.spec_hash <> c->>'specHash'
       OR j.retired_at IS NOT NULL OR (j.paused <> 0 AND slotv IS NOT NULL) THEN
      RETURN '{"kind":"lost"}';
    END IF;
  ELSIF kind = 'trigger' THEN
    UPDATE triggers SET claimed_by = inst, claimed_at = nowv WHERE id = (src->>'triggerId')::bigint AND claimed_by IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> 1 THEN RETURN '{"kind":"lost"}'; END IF;
  ELSE
    IF j.queued_slot IS DISTINCT FROM (src->>'expected')::bigint THEN RETURN '{"kind":"lost"}'; END IF;
    trig := coalesce(j.queued_trigger, trig);
  END IF;

  IF jsonb_typeof(c->'missed') = 'object' THEN
    INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, error, missed_count, missed_until, created_at)
    VALUES (j.name, (c->'missed'->>'first')::bigint, 'schedule', inst, 1, 'missed', c->>'missedNote',
            (c->'missed'->>'count')::bigint, (c->'missed'->>'last')::bigint, nowv)
    ON CONFLICT DO NOTHING RETURNING id INTO missed_id;
    taken := missed_id IS NULL;
  END IF;

  IF taken OR slotv IS NULL THEN
    NULL;
  ELSIF cardinality(running) = 0 OR overlap IN ('allow', 'replace') THEN
    INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, started_at, heartbeat_at, created_at)
    VALUES (j.name, slotv, trig, inst, 1, 'running', nowv, nowv, nowv)
    ON CONFLICT DO NOTHING RETURNING id INTO new_run;
    taken := new_run IS NULL;
  ELSIF overlap = 'queue' AND j.queued_slot IS NULL THEN
    queue_it := true;
  ELSE
    reason := CASE WHEN overlap = 'queue' THEN 'a run is already queued behind run #' || running[1]
                   ELSE 'run #' || running[1] || ' was still running (overlap: skip)' END;
    INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, error, created_at)
    VALUES (j.name, slotv, trig, inst, 1, 'skipped', reason, nowv)
    ON CONFLICT DO NOTHING RETURNING id INTO new_run;
    taken := new_run IS NULL;
  END IF;

  -- The one write to the job row: the slot moves on, the queue empties or fills, the last run is noted.
  UPDATE jobs SET
      next_slot       = CASE WHEN kind = 'slot' THEN (src->>'next')::bigint ELSE next_slot END,
      queued_slot     = CASE WHEN queue_it THEN slotv WHEN kind = 'queued' THEN NULL ELSE queued_slot END,
      queued_trigger  = CASE WHEN queue_it THEN trig WHEN kind = 'queued' THEN NULL ELSE queued_trigger END,
      last_run_id     = CASE WHEN reason IS NULL AND new_run IS NOT NULL THEN new_run ELSE last_run_id END,
      last_started_at = CASE WHEN reason IS NULL AND new_run IS NOT NULL THEN nowv ELSE last_started_at END
    WHERE name = j.name;
  IF taken THEN RETURN '{"kind":"lost"}'; END IF;
  IF kind = 'trigger' AND new_run IS NOT NULL THEN UPDATE triggers SET run_id = new_run WHERE id = (src->>'triggerId')::bigint; END IF;

  IF slotv IS NULL THEN RETURN jsonb_build_object('kind', 'advanced', 'missedId', missed_id); END IF;
  IF queue_it THEN RETURN jsonb_build_object('kind', 'queued', 'missedId', missed_id); END IF;
  IF reason IS NOT NULL THEN
    RETURN jsonb_build_object('kind', 'skipped', 'runId', new_run, 'trigger', trig, 'error', reason, 'missedId', missed_id);
  END IF;
  RETURN jsonb_build_object('kind', 'started', 'runId', new_run, 'trigger', trig, 'missedId', missed_id,
    'replacing', CASE WHEN overlap = 'replace' THEN to_jsonb(running) ELSE '[]'::jsonb END);
END;
$$;

CREATE FUNCTION jobclock_claim_batch(claims jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  answers jsonb[] := '{}';
  c       jsonb;
  j       jobs;
BEGIN
  FOR c IN SELECT value FROM jsonb_array_elements(claims) LOOP
    SELECT * INTO j FROM jobs WHERE name = c->>'job' FOR UPDATE SKIP LOCKED;
    IF FOUND THEN
      answers := answers || jobclock_claim_locked(c, j);
    ELSIF EXISTS (SELECT 1 FROM jobs WHERE name = c->>'job') THEN
      answers := answers || '{"kind":"contended"}'::jsonb;
    ELSE
      answers := answers || '{"kind":"lost"}'::jsonb;
    END IF;
  END LOOP;
  RETURN to_jsonb(answers);
END;
$$;

-- Finishing runs set-based: one statement for the batch. Other running runs of a job are
-- looked up apart from the batch's own (the statement does not see its own updates).
CREATE OR REPLACE FUNCTION jobclock_finish_batch(results jsonb) RETURNS jsonb LANGUAGE sql AS $$
  WITH r AS (
    SELECT * FROM jsonb_to_recordset(results)
      AS r("runId" bigint, status text, attempt int, "finishedAt" bigint, "exitCode" int, signal text, error text, output jsonb)
  ), done AS (
    UPDATE runs SET status = r.status, attempt = r.attempt, finished_at = r."finishedAt", exit_code = r."exitCode",
        signal = r.signal, error = r.error, stdout = r.output->>'stdout', stderr = r.output->>'stderr'
      FROM r WHERE runs.id = r."runId" AND runs.status IN ('running', 'abandoned')
      RETURNING runs.id, runs.job, r."finishedAt" AS fin, r.status AS st
  ), latest AS (
    -- The run that finished last gives the job its status (overlap allow can finish out of order).
    SELECT DISTINCT ON (job) job, fin, st FROM done ORDER BY job, fin DESC
  ), jobs_done AS (
    UPDATE jobs SET last_finished_at = CASE WHEN coalesce(last_finished_at, 0) <= l.fin THEN l.fin ELSE last_finished_at END,
        last_status = CASE WHEN coalesce(last_finished_at, 0) <= l.fin THEN l.st ELSE last_status END
      FROM latest l WHERE jobs.name = l.job
      RETURNING jobs.name, jobs.queued_slot
  )
  -- Like SQLite's loop: only the job's last result in the batch carries its queued slot.
  SELECT coalesce(jsonb_agg(jsonb_build_object(
      'runId', o."runId", 'job', coalesce(o.job, ''),
      'queuedSlot', CASE WHEN o.last_of_job AND o.queued_slot IS NOT NULL AND NOT EXISTS (
          SELECT 1 FROM runs x WHERE x.job = o.job AND x.status = 'running'
            AND x.id NOT IN (SELECT "runId" FROM r)) THEN o.queued_slot END)
    ORDER BY o.ord), '[]'::jsonb)
  FROM (
    SELECT r."runId", r.ord, d.job, jd.queued_slot,
           d.job IS NOT NULL AND row_number() OVER (PARTITION BY d.job ORDER BY r.ord DESC) = 1 AS last_of_job
    FROM (SELECT *, row_number() OVER () AS ord FROM r) r
    LEFT JOIN done d ON d.id = r."runId"
    LEFT JOIN jobs_done jd ON jd.name = d.job
  ) o;
$$;
