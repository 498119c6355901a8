-- The retention delays of personal data per legislative area (Regulation (EU) No 1024/2012,
-- Art. 14): months after formal closure until blocking (6 by default, at most 18 where the
-- area's act provides a longer period) and until deletion (36), for requests and for alerts.
-- Reference data like the area itself (fixtures/reference/legislative_areas.json); read each
-- time a delay is checked, so a change applies to every exchange not yet past it. NULL (a
-- row loaded before this column) means the defaults.
ALTER TABLE reference.legislative_areas
    ADD COLUMN retention jsonb CHECK (
        retention IS NULL
            OR ((retention #>> '{requests,blocking_months}')::int BETWEEN 1 AND 18
            AND (retention #>> '{alerts,blocking_months}')::int BETWEEN 1 AND 18
            AND (retention #>> '{requests,deletion_months}')::int
                > (retention #>> '{requests,blocking_months}')::int
            AND (retention #>> '{alerts,deletion_months}')::int
                > (retention #>> '{alerts,blocking_months}')::int)
        );
