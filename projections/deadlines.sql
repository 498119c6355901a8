-- Deadlines (version 2): every time rule pending in the log, with the system command the
-- scheduler issues when it falls due. A rule that no longer applies (the code was used, the
-- request answered) is removed by the event that ended it. What the scheduler did is kept
-- beside it in public.deadline_actions, under the same deterministic id.
CREATE TABLE deadlines
(
    -- '<aggregate type>/<aggregate id>/<rule>/<discriminator>', the key (below)
    id             text        NOT NULL,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    rule           text        NOT NULL,
    -- when it falls due; for a retention rule (delay set), the formal closure it counts from
    due_at         timestamptz NOT NULL,
    -- the command, as the aggregate's command type serializes it
    command        jsonb       NOT NULL,
    -- a retention rule's delay in the area's reference data, e.g. 'requests.blocking_months':
    -- added when the rule is read, so a change of the area's delays applies at once
    delay          text
);
CREATE INDEX deadlines_by_aggregate ON deadlines (aggregate_type, aggregate_id);

CREATE TABLE sequences
(
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    sequence       bigint NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- The legislative area of each exchange (from its drafting), whose retention delays apply.
CREATE TABLE areas
(
    aggregate_type text NOT NULL,
    aggregate_id   text NOT NULL,
    area           text NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Indexes for readers only: `apply` never reads through these, so a rebuild creates them
-- once its tables are full. So are the keys `apply` never reads through: a rebuild that wrote
-- a key twice fails when it adds them, and nothing is swapped in.
CREATE INDEX deadlines_by_due ON deadlines (due_at);
ALTER TABLE deadlines ADD PRIMARY KEY (id);
