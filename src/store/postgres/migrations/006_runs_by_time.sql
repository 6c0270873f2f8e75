-- The dashboard's timeline reads the last 24 hours of runs of every job.
CREATE INDEX runs_by_time ON runs (created_at);
