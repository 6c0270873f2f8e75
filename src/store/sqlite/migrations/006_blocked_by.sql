-- A skipped run names the run that blocked its slot (a column, not a number inside its error text).
ALTER TABLE runs ADD COLUMN blocked_by INTEGER;
