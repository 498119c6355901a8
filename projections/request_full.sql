-- The full view of information requests (version 3): the summary, the content and every step
-- with its reason. Personal data (subject, free texts, answers, justifications, opinions,
-- attachments' names) stay sealed exactly as the events carry them, under the request's data
-- key: the gateway opens them only for callers whose view level includes personal data, and
-- they read as erased once the key is gone. The JSON columns are `json`, not `jsonb`: they are
-- only ever read whole, a request at a time; a rebuild writes millions of them, and `json` is
-- only checked on the way in, not parsed into a tree.
-- Identifiers compare byte by byte (COLLATE "C"; docs/PROJECTIONS.md, "The tables").
CREATE TABLE requests
(
    request_id text COLLATE "C" PRIMARY KEY,
    -- imi_domain::request::RequestSummary
    summary    json        NOT NULL,
    -- imi_domain::request::RequestDetails (sealed values kept sealed)
    details    json        NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Every event of a request, in order: who did what, when, why.
CREATE TABLE steps
(
    request_id     text COLLATE "C" NOT NULL,
    sequence       bigint      NOT NULL,
    event_type     text        NOT NULL,
    at             timestamptz NOT NULL,
    by_user        text,
    by_authority   text,
    -- the event's payload (sealed values kept sealed)
    payload        json        NOT NULL
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
-- once its tables are full. So are the keys `apply` never reads through: a rebuild that wrote
-- a key twice fails when it adds them, and nothing is swapped in.
ALTER TABLE steps ADD PRIMARY KEY (request_id, sequence);
