-- How far the instance's clock is from the store's (PostgreSQL measures it; SQLite shares the
-- machine's clock, so it stays NULL there).
ALTER TABLE instances ADD COLUMN clock_skew_ms INTEGER;
