-- Health and notifications (the same model as SQLite's 002).

ALTER TABLE jobs ADD COLUMN resumed_at BIGINT;

CREATE TABLE incidents (
  id               BIGSERIAL PRIMARY KEY,
  job              TEXT NOT NULL,
  state            TEXT NOT NULL,
  opened_at        BIGINT NOT NULL,
  since            BIGINT,
  closed_at        BIGINT,
  last_notified_at BIGINT NOT NULL,
  notifications    INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX incidents_one_open ON incidents (job) WHERE closed_at IS NULL;
CREATE INDEX incidents_by_job ON incidents (job, id);

CREATE TABLE notifications (
  id          BIGSERIAL PRIMARY KEY,
  incident_id BIGINT,
  kind        TEXT NOT NULL,
  payload     TEXT NOT NULL,
  created_at  BIGINT NOT NULL
);

CREATE TABLE deliveries (
  id              BIGSERIAL PRIMARY KEY,
  notification_id BIGINT NOT NULL,
  notifier        TEXT NOT NULL,
  status          TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  claimed_by      TEXT,
  claimed_until   BIGINT,
  last_error      TEXT,
  delivered_at    BIGINT,
  created_at      BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (notifier, next_attempt_at) WHERE status = 'pending';

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
