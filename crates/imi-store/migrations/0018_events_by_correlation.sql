-- An exchange's history (`imi audit history`) also lists the events other aggregates recorded
-- for the same commands: found by their correlation id.
CREATE INDEX events_by_correlation ON events ((metadata->>'correlation_id'));
