-- Operations. Times are epoch milliseconds.

-- Who runs the instance (supervisord:PROGRAM, systemd:UNIT, or NULL by hand), so `jobclock start`
-- can point at the supervisor after the daemon was stopped; and what it reports wrong about
-- itself (a log file it cannot write), as a JSON list shown by `status`.
ALTER TABLE instances ADD COLUMN supervisor TEXT;
ALTER TABLE instances ADD COLUMN problems TEXT;

-- Every pause, resume, trigger and config apply, with where it came from; each daemon logs the
-- ones it has not seen yet, so a change made on one machine shows in every instance's log.
CREATE TABLE control_events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,
  source  TEXT NOT NULL,      -- "cli alice@web1", "api 10.0.0.7", "SIGHUP web1", "start web1"
  action  TEXT NOT NULL,      -- pause | resume | trigger | apply
  job     TEXT,
  detail  TEXT                -- JSON
) STRICT;
CREATE INDEX control_events_by_time ON control_events (at);

-- One row per distinct job set applied: a config whose jobs match an older generation than the
-- latest, applied from another machine than the latest's, is a stale file, refused unless forced.
-- Kept by count, not age: a machine can lag behind for longer than any retention.
CREATE TABLE config_generations (
  generation INTEGER PRIMARY KEY AUTOINCREMENT,
  jobs_hash  TEXT NOT NULL,
  applied_at INTEGER NOT NULL,
  source     TEXT NOT NULL,
  host       TEXT NOT NULL      -- the machine it came from: the latest set's machine may go back (an undo)
) STRICT;
CREATE INDEX config_generations_by_hash ON config_generations (jobs_hash, generation);

-- Pruning the outbox, incidents and triggers by age.
CREATE INDEX notifications_by_time ON notifications (created_at);
CREATE INDEX deliveries_by_notification ON deliveries (notification_id);
CREATE INDEX incidents_closed ON incidents (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX triggers_by_time ON triggers (requested_at);
