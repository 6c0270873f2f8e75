-- How far each instance's clock is from the database's, measured at every heartbeat.
ALTER TABLE instances ADD COLUMN clock_skew_ms BIGINT;
