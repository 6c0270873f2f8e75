-- jobclock SQLite schema, version 1. Migrations are append-only: never edit a released file,
-- add 002_….sql instead. Times are epoch milliseconds.

CREATE TABLE jobs (
  name            TEXT PRIMARY KEY,
  spec            TEXT NOT NULL,       -- resolved JobSpec as JSON
  spec_hash       TEXT NOT NULL,
  schedule_hash   TEXT NOT NULL,
  anchor          INTEGER NOT NULL,    -- interval slots are anchor + n × every
  next_slot       INTEGER,             -- first unclaimed slot; claims compare-and-set it
  paused          INTEGER NOT NULL DEFAULT 0,
  retired_at      INTEGER,             -- removed from the config: kept with its history
  queued_slot     INTEGER,             -- overlap=queue: the one slot waiting for the job to be idle
  queued_trigger  TEXT,
  last_run_id     INTEGER,
  last_started_at INTEGER,
  last_finished_at INTEGER,
  last_status     TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  rev             INTEGER NOT NULL     -- bumped on definition, pause or retire changes
) STRICT;
CREATE INDEX jobs_by_rev ON jobs (rev, name);

CREATE TABLE runs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  job           TEXT NOT NULL,
  slot          INTEGER NOT NULL,
  trigger       TEXT NOT NULL,
  instance_id   TEXT,
  attempt       INTEGER NOT NULL DEFAULT 1,
  status        TEXT NOT NULL,
  started_at    INTEGER,
  finished_at   INTEGER,
  heartbeat_at  INTEGER,
  exit_code     INTEGER,
  signal        TEXT,
  error         TEXT,
  stdout        TEXT,
  stderr        TEXT,
  missed_count  INTEGER,
  missed_until  INTEGER,
  created_at    INTEGER NOT NULL
) STRICT;
-- The last line of defence for "exactly once per slot": a scheduled slot has one record, ever.
CREATE UNIQUE INDEX runs_one_per_slot ON runs (job, slot) WHERE trigger IN ('schedule', 'catchup');
CREATE INDEX runs_by_job ON runs (job, id);
CREATE INDEX runs_running ON runs (job) WHERE status = 'running';
CREATE INDEX runs_by_status ON runs (status, id);

CREATE TABLE triggers (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  job          TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  claimed_by   TEXT,
  claimed_at   INTEGER,
  run_id       INTEGER
) STRICT;
CREATE INDEX triggers_pending ON triggers (id) WHERE claimed_by IS NULL;

CREATE TABLE instances (
  id         TEXT PRIMARY KEY,
  host       TEXT NOT NULL,
  pid        INTEGER NOT NULL,
  version    TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  stopped_at INTEGER
) STRICT;

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('rev', 0);
