-- A skipped run names the run that blocked its slot (a column, not a number inside its error text).
ALTER TABLE runs ADD COLUMN blocked_by BIGINT;

-- The claim rule is decided in the client now, once for both stores (src/store/claim/).
-- jobclock_claim (003) was never called after 005: it goes. jobclock_claim_batch and
-- jobclock_claim_locked (005) stay for one release, so an instance still on the previous
-- version keeps claiming during a rolling upgrade (same rule, same rows); a later migration
-- drops them.
DROP FUNCTION IF EXISTS jobclock_claim(jsonb);
