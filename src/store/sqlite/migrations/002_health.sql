-- Health and notifications (issue 3). Times are epoch milliseconds.

-- Slots that fell while a job was paused are not expected to have run.
ALTER TABLE jobs ADD COLUMN resumed_at INTEGER;

-- One open incident per job at most: opening one is an INSERT that only one instance can win.
CREATE TABLE incidents (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  job              TEXT NOT NULL,
  state            TEXT NOT NULL,      -- inactive | delayed | failing (the latest)
  opened_at        INTEGER NOT NULL,
  since            INTEGER,            -- when the job entered the state
  closed_at        INTEGER,
  last_notified_at INTEGER NOT NULL,   -- reminders compare-and-set this
  notifications    INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE UNIQUE INDEX incidents_one_open ON incidents (job) WHERE closed_at IS NULL;
CREATE INDEX incidents_by_job ON incidents (job, id);

-- The outbox: a notification is written in the same transaction as the incident change that
-- caused it, with one delivery row per notifier, so nothing is lost to a restart.
CREATE TABLE notifications (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id INTEGER,
  kind        TEXT NOT NULL,            -- opened | changed | reminder | recovered | test
  payload     TEXT NOT NULL,            -- the facts, as JSON
  created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE deliveries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id INTEGER NOT NULL,
  notifier        TEXT NOT NULL,        -- a stable id such as slack:1a2b3c4d (never the URL)
  status          TEXT NOT NULL,        -- pending | delivered | failed
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  claimed_by      TEXT,
  claimed_until   INTEGER,
  last_error      TEXT,
  delivered_at    INTEGER,
  created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX deliveries_due ON deliveries (notifier, next_attempt_at) WHERE status = 'pending';

-- Store-wide settings written by a config apply (last apply wins, as for jobs): the notifier
-- ids notifications are addressed to, whichever instance writes them.
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
