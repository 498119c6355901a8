-- Alert statistics (version 1): one row of facts per alert, without any personal data or
-- content (the Commission reads these), aggregated by Member State at query time.
CREATE TABLE facts
(
    alert_id                      text PRIMARY KEY,
    area                          text        NOT NULL,
    kind                          text        NOT NULL,
    status                        text        NOT NULL,
    initiating_member_state       text        NOT NULL,
    member_state_of_establishment text,
    recipient_member_states       text[]      NOT NULL,
    objecting_member_states       text[]      NOT NULL,
    drafted_at                    timestamptz NOT NULL,
    broadcast_at                  timestamptz,
    ended_at                      timestamptz,
    -- PQ alerts, once the 3-day deadline passed: whether broadcast in time.
    broadcast_in_time             boolean
);

CREATE TABLE alert_states
(
    alert_id text PRIMARY KEY,
    state    jsonb NOT NULL
);

CREATE TABLE sequences
(
    aggregate_id text PRIMARY KEY,
    sequence     bigint NOT NULL
);
