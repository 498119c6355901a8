-- Alerts, high-level overview (version 1): who is involved in which role, the area, kind,
-- status and dates; no content and no personal data. `summary` is the domain's AlertSummary
-- (the gateway decides each caller's view level from it); a PQ alert's profession and scope are
-- in it and shown only to callers whose level allows. `alert_access` lists, per alert, every
-- authority with access and how, for "the alerts of my authority".
CREATE TABLE alerts
(
    alert_id                      text PRIMARY KEY,
    kind                          text        NOT NULL,
    area                          text        NOT NULL,
    status                        text        NOT NULL,
    initiating_authority          text        NOT NULL,
    initiating_member_state       text        NOT NULL,
    member_state_of_establishment text,
    coordinator                   text,
    closing_coordinator           text,
    recipient_member_states       text[]      NOT NULL,
    drafted_at                    timestamptz NOT NULL,
    broadcast_at                  timestamptz,
    ended_at                      timestamptz,
    updated_at                    timestamptz NOT NULL,
    summary                       jsonb       NOT NULL
);

CREATE TABLE alert_access
(
    alert_id     text   NOT NULL,
    authority_id text   NOT NULL,
    member_state text   NOT NULL,
    -- Initiating, Coordinator, Postbox, Recipient, ClosingCoordinator
    involvement  text[] NOT NULL,
    PRIMARY KEY (alert_id, authority_id)
);

-- The folded state of each alert (the aggregate's snapshot form: personal data sealed).
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

-- Indexes for readers only: `apply` never reads through these, so a rebuild creates them
-- once its tables are full.
CREATE INDEX alert_access_by_authority ON alert_access (authority_id, alert_id);
