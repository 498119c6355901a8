-- The allocators' report (version 3): per authority, its incoming and outgoing requests with
-- the handlers assigned, status, dates and how many questions are answered. No personal data,
-- no content.
-- Identifiers compare byte by byte (COLLATE "C"; docs/PROJECTIONS.md, "The tables").
CREATE TABLE requests
(
    request_id        text COLLATE "C" NOT NULL,
    authority_id      text COLLATE "C" NOT NULL,
    -- requesting or responding
    side              text        NOT NULL,
    area              text        NOT NULL,
    question_set      text        NOT NULL,
    status            text        NOT NULL,
    other_authority   text        NOT NULL,
    handlers          text[]      NOT NULL,
    questions         integer     NOT NULL,
    answered          integer     NOT NULL,
    drafted_at        timestamptz NOT NULL,
    sent_at           timestamptz,
    accepted_at       timestamptz,
    due_date          date        NOT NULL,
    fully_answered_at timestamptz,
    closed_at         timestamptz,
    PRIMARY KEY (request_id, authority_id)
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
CREATE INDEX report_authority ON requests (authority_id, drafted_at);
