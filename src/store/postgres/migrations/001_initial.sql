-- jobclock PostgreSQL schema, version 1 (the same model as the SQLite store). Migrations are
-- append-only. Times are epoch milliseconds in BIGINT; every table lives in the store's schema.

CREATE TABLE jobs (
  name             TEXT PRIMARY KEY,
  spec             TEXT NOT NULL,
  spec_hash        TEXT NOT NULL,
  schedule_hash    TEXT NOT NULL,
  anchor           BIGINT NOT NULL,
  next_slot        BIGINT,
  paused           INTEGER NOT NULL DEFAULT 0,
  retired_at       BIGINT,
  queued_slot      BIGINT,
  queued_trigger   TEXT,
  last_run_id      BIGINT,
  last_started_at  BIGINT,
  last_finished_at BIGINT,
  last_status      TEXT,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  rev              BIGINT NOT NULL
);
CREATE INDEX jobs_by_rev ON jobs (rev, name);

CREATE TABLE runs (
  id            BIGSERIAL PRIMARY KEY,
  job           TEXT NOT NULL,
  slot          BIGINT NOT NULL,
  trigger       TEXT NOT NULL,
  instance_id   TEXT,
  attempt       INTEGER NOT NULL DEFAULT 1,
  status        TEXT NOT NULL,
  started_at    BIGINT,
  finished_at   BIGINT,
  heartbeat_at  BIGINT,
  exit_code     INTEGER,
  signal        TEXT,
  error         TEXT,
  stdout        TEXT,
  stderr        TEXT,
  missed_count  BIGINT,
  missed_until  BIGINT,
  created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX runs_one_per_slot ON runs (job, slot) WHERE trigger IN ('schedule', 'catchup');
CREATE INDEX runs_by_job ON runs (job, id);
CREATE INDEX runs_running ON runs (job) WHERE status = 'running';
CREATE INDEX runs_by_status ON runs (status, id);

CREATE TABLE triggers (
  id           BIGSERIAL PRIMARY KEY,
  job          TEXT NOT NULL,
  requested_at BIGINT NOT NULL,
  claimed_by   TEXT,
  claimed_at   BIGINT,
  run_id       BIGINT
);
CREATE INDEX triggers_pending ON triggers (id) WHERE claimed_by IS NULL;

CREATE TABLE instances (
  id         TEXT PRIMARY KEY,
  host       TEXT NOT NULL,
  pid        INTEGER NOT NULL,
  version    TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  last_seen  BIGINT NOT NULL,
  stopped_at BIGINT
);

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('rev', 0);
