-- Operations (the same model as SQLite's 005).
ALTER TABLE instances ADD COLUMN supervisor TEXT;
ALTER TABLE instances ADD COLUMN problems TEXT;

CREATE TABLE control_events (
  id      BIGSERIAL PRIMARY KEY,
  at      BIGINT NOT NULL,
  source  TEXT NOT NULL,
  action  TEXT NOT NULL,
  job     TEXT,
  detail  TEXT
);
CREATE INDEX control_events_by_time ON control_events (at);

CREATE TABLE config_generations (
  generation BIGSERIAL PRIMARY KEY,
  jobs_hash  TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  source     TEXT NOT NULL,
  host       TEXT NOT NULL      -- the machine it came from: the latest set's machine may go back (an undo)
);
CREATE INDEX config_generations_by_hash ON config_generations (jobs_hash, generation);

CREATE INDEX notifications_by_time ON notifications (created_at);
CREATE INDEX deliveries_by_notification ON deliveries (notification_id);
CREATE INDEX incidents_closed ON incidents (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX triggers_by_time ON triggers (requested_at);
