-- The claim and finish transactions as server-side functions: one round trip each instead of
-- several per job. Same rules, same strings as SQLite's claims.ts and finishRuns: lock the job,
-- check running runs, compare-and-set, record, apply the overlap policy.

CREATE FUNCTION jobclock_claim(c jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  j_name    text   := c->>'job';
  inst      text   := c->>'instanceId';
  nowv      bigint := (c->>'now')::bigint;
  slotv     bigint := (c->>'slot')::bigint;
  overlap   text   := c->>'overlap';
  src       jsonb  := c->'source';
  j         record;
  running   bigint[];
  q_trigger text;
  trig      text   := c->>'trigger';
  n         int;
  missed_id bigint;
  new_run   bigint;
  reason    text;
BEGIN
  SELECT queued_slot, queued_trigger INTO j FROM jobs WHERE name = j_name FOR UPDATE;
  IF NOT FOUND THEN RETURN '{"kind":"lost"}'; END IF;
  SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO running FROM runs WHERE job = j_name AND status = 'running';
  IF (c->>'waitIfBusy')::boolean AND cardinality(running) > 0 THEN RETURN '{"kind":"busy"}'; END IF;

  IF src->>'kind' = 'slot' THEN
    UPDATE jobs SET next_slot = (src->>'next')::bigint
     WHERE name = j_name AND next_slot = (src->>'expected')::bigint AND spec_hash = c->>'specHash'
       AND retired_at IS NULL AND (paused = 0 OR slotv IS NULL);
  ELSIF src->>'kind' = 'trigger' THEN
    UPDATE triggers SET claimed_by = inst, claimed_at = nowv WHERE id = (src->>'triggerId')::bigint AND claimed_by IS NULL;
  ELSE
    q_trigger := j.queued_trigger;
    UPDATE jobs SET queued_slot = NULL, queued_trigger = NULL WHERE name = j_name AND queued_slot = (src->>'expected')::bigint;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> 1 THEN RETURN '{"kind":"lost"}'; END IF;

  IF c->'missed' IS NOT NULL AND jsonb_typeof(c->'missed') = 'object' THEN
    INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, error, missed_count, missed_until, created_at)
    VALUES (j_name, (c->'missed'->>'first')::bigint, 'schedule', inst, 1, 'missed', c->>'missedNote',
            (c->'missed'->>'count')::bigint, (c->'missed'->>'last')::bigint, nowv)
    ON CONFLICT DO NOTHING RETURNING id INTO missed_id;
    IF missed_id IS NULL THEN RETURN '{"kind":"lost"}'; END IF;
  END IF;
  IF slotv IS NULL THEN RETURN jsonb_build_object('kind', 'advanced', 'missedId', missed_id); END IF;
  trig := coalesce(q_trigger, trig);

  IF cardinality(running) = 0 OR overlap IN ('allow', 'replace') THEN
    INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, started_at, heartbeat_at, created_at)
    VALUES (j_name, slotv, trig, inst, 1, 'running', nowv, nowv, nowv)
    ON CONFLICT DO NOTHING RETURNING id INTO new_run;
    IF new_run IS NULL THEN RETURN '{"kind":"lost"}'; END IF;
    UPDATE jobs SET last_run_id = new_run, last_started_at = nowv WHERE name = j_name;
    IF src->>'kind' = 'trigger' THEN UPDATE triggers SET run_id = new_run WHERE id = (src->>'triggerId')::bigint; END IF;
    RETURN jsonb_build_object('kind', 'started', 'runId', new_run, 'trigger', trig, 'missedId', missed_id,
      'replacing', CASE WHEN overlap = 'replace' THEN to_jsonb(running) ELSE '[]'::jsonb END);
  END IF;
  IF overlap = 'queue' AND j.queued_slot IS NULL THEN
    UPDATE jobs SET queued_slot = slotv, queued_trigger = trig WHERE name = j_name;
    RETURN jsonb_build_object('kind', 'queued', 'missedId', missed_id);
  END IF;
  reason := CASE WHEN overlap = 'queue' THEN 'a run is already queued behind run #' || running[1]
                 ELSE 'run #' || running[1] || ' was still running (overlap: skip)' END;
  INSERT INTO runs (job, slot, trigger, instance_id, attempt, status, error, created_at)
  VALUES (j_name, slotv, trig, inst, 1, 'skipped', reason, nowv)
  ON CONFLICT DO NOTHING RETURNING id INTO new_run;
  IF new_run IS NULL THEN RETURN '{"kind":"lost"}'; END IF;
  IF src->>'kind' = 'trigger' THEN UPDATE triggers SET run_id = new_run WHERE id = (src->>'triggerId')::bigint; END IF;
  RETURN jsonb_build_object('kind', 'skipped', 'runId', new_run, 'trigger', trig, 'error', reason, 'missedId', missed_id);
END;
$$;

-- Finishing runs, as finishRuns in postgres-store.ts did it: one round trip per batch.
CREATE FUNCTION jobclock_finish_batch(results jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  out   jsonb := '[]';
  r     jsonb;
  j_job text;
  q     bigint;
  fin   bigint;
BEGIN
  FOR r IN SELECT value FROM jsonb_array_elements(results) LOOP
    fin := (r->>'finishedAt')::bigint;
    UPDATE runs SET status = r->>'status', attempt = (r->>'attempt')::int, finished_at = fin,
        exit_code = (r->>'exitCode')::int, signal = r->>'signal', error = r->>'error',
        stdout = r->'output'->>'stdout', stderr = r->'output'->>'stderr'
      WHERE id = (r->>'runId')::bigint AND status IN ('running', 'abandoned')
      RETURNING job INTO j_job;
    IF j_job IS NULL THEN
      out := out || jsonb_build_array(jsonb_build_object('runId', (r->>'runId')::bigint, 'job', '', 'queuedSlot', NULL));
      CONTINUE;
    END IF;
    -- The run that finished last gives the job its status (overlap allow can finish out of order).
    UPDATE jobs SET last_finished_at = CASE WHEN coalesce(last_finished_at, 0) <= fin THEN fin ELSE last_finished_at END,
        last_status = CASE WHEN coalesce(last_finished_at, 0) <= fin THEN r->>'status' ELSE last_status END
      WHERE name = j_job RETURNING queued_slot INTO q;
    IF q IS NOT NULL AND EXISTS (SELECT 1 FROM runs WHERE job = j_job AND status = 'running') THEN q := NULL; END IF;
    out := out || jsonb_build_array(jsonb_build_object('runId', (r->>'runId')::bigint, 'job', j_job, 'queuedSlot', q));
    j_job := NULL;
  END LOOP;
  RETURN out;
END;
$$;
