-- The closure periods of alerts, per legislative area: how many days the involved authorities
-- of the Member State responsible for closure may comment on a closure proposal, and how many
-- days the recipient Member States may object once it is broadcast. Reference data like the
-- area itself (fixtures/reference/legislative_areas.json), so a new area with alerts is a
-- change of the files only. NULL for an area without the alerts workflow.
ALTER TABLE reference.legislative_areas
    ADD COLUMN alert_periods jsonb CHECK (
        alert_periods IS NULL
            OR (jsonb_typeof(alert_periods -> 'comment_days') = 'number'
            AND jsonb_typeof(alert_periods -> 'objection_days') = 'number'
            AND (alert_periods ->> 'comment_days')::int > 0
            AND (alert_periods ->> 'objection_days')::int > 0)
        );
