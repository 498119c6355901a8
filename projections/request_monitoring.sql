-- The monitoring view of information requests (version 5: a watcher's requests by id): authorities involved, area,
-- question set, status, dates and deadlines. No content, no personal data, no attachments.
-- `watchers` are every authority that may see the request at all (the parties once involved,
-- their linked coordinators and linked authorities, the coordinators intervening, authorities
-- that forwarded it): the gateway selects on it and decides the exact view level with the
-- domain policy on `summary`.
-- Identifiers compare byte by byte (COLLATE "C"; docs/PROJECTIONS.md, "The tables").
CREATE TABLE requests
(
    request_id              text COLLATE "C" PRIMARY KEY,
    area                    text        NOT NULL,
    question_set            text        NOT NULL,
    status                  text        NOT NULL,
    requesting_authority    text        NOT NULL,
    requesting_member_state text        NOT NULL,
    responding_authority    text        NOT NULL,
    responding_member_state text        NOT NULL,
    requesting_coordinator  text        NOT NULL,
    responding_coordinator  text,
    watchers                text[]      NOT NULL,
    drafted_at              timestamptz NOT NULL,
    sent_at                 timestamptz,
    -- The 7 days to accept run from the dispatch to the current responding authority.
    acceptance_due_at       timestamptz,
    accepted_at             timestamptz,
    proposed_answer_date    date        NOT NULL,
    agreed_answer_date      date,
    fully_answered_at       timestamptz,
    closed_at               timestamptz,
    withdrawn_at            timestamptz,
    last_activity_at        timestamptz NOT NULL,
    personal_data_blocked   boolean     NOT NULL,
    rating_timeliness       smallint,
    rating_effort           smallint,
    -- imi_domain::request::RequestSummary: what the access policy decides on.
    summary                 jsonb       NOT NULL
);

-- `watchers` one row each: the monitoring list walks a watcher's requests in id order straight
-- from this key and stops at the page's end. (A national coordinator watches tens of thousands
-- of requests at EU size; an index on the array would fetch them all and sort them per page.)
CREATE TABLE watched
(
    watcher    text COLLATE "C" NOT NULL,
    request_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (watcher, request_id)
);
-- Each batch replaces the rows of the requests it touched.
CREATE INDEX watched_by_request ON watched (request_id);

-- The aggregate's state per request (its snapshot form), folded from the feed.
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
CREATE INDEX requests_status ON requests (status);
CREATE INDEX requests_drafted ON requests (drafted_at, request_id);
