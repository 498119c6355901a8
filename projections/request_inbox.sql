-- What awaits whom (version 2): one row per open action on a request, for the authority that
-- must take it and, where the request is assigned, the users it is assigned to (empty: any
-- user of the authority with the role the action needs).
-- Identifiers compare byte by byte (COLLATE "C"; docs/PROJECTIONS.md, "The tables").
CREATE TABLE items
(
    request_id   text COLLATE "C" NOT NULL,
    authority_id text COLLATE "C" NOT NULL,
    -- send, approve-request, accept, agree-answer-date, reply, approve-reply,
    -- review-reply, referral
    action       text COLLATE "C" NOT NULL,
    users        text[]      NOT NULL,
    area         text        NOT NULL,
    due_date     date,
    since        timestamptz NOT NULL,
    PRIMARY KEY (request_id, authority_id, action)
);

CREATE TABLE request_states
(
    request_id text COLLATE "C" PRIMARY KEY,
    state      jsonb NOT NULL
);

CREATE TABLE sequences
(
    aggregate_id text COLLATE "C" PRIMARY KEY,
    sequence     bigint NOT NULL
);

-- Indexes for readers only: `apply` never reads through these, so a rebuild creates them
-- once its tables are full.
CREATE INDEX items_authority ON items (authority_id, since);
