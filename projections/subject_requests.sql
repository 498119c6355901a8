-- Data subjects' requests (version 1): the queue of each authority, with deadlines. The
-- subject's identification and the answer stay sealed under the request's own data key.
CREATE TABLE subject_requests
(
    id           text PRIMARY KEY,
    authority_id text        NOT NULL,
    exchange     text        NOT NULL,
    -- Open | CarriedOut | Closed
    status       text        NOT NULL,
    due_on       date        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    -- imi_domain::subject_request::SubjectRequestSummary (sealed values kept sealed)
    summary      jsonb       NOT NULL
);
CREATE INDEX subject_requests_queue ON subject_requests (authority_id, due_on, id)
    WHERE status <> 'Closed';

CREATE TABLE sequences
(
    aggregate_id text PRIMARY KEY,
    sequence     bigint NOT NULL
);
