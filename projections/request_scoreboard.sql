-- The facts behind the Single Market Scoreboard's IMI indicators (version 1): one row per
-- request sent, with the responding Member State, the area and the dates the indicators are
-- computed from, and the rating's two answers. No content, no personal data, no authority.
CREATE TABLE facts
(
    request_id              text PRIMARY KEY,
    area                    text        NOT NULL,
    responding_member_state text        NOT NULL,
    sent_at                 timestamptz NOT NULL,
    accepted_at             timestamptz,
    fully_answered_at       timestamptz,
    -- The answer date in force when the full reply was sent.
    due_date                date,
    timeliness              smallint,
    effort                  smallint,
    rated_at                timestamptz,
    withdrawn_at            timestamptz
);
CREATE INDEX facts_sent ON facts (sent_at);
CREATE INDEX facts_answered ON facts (fully_answered_at) WHERE fully_answered_at IS NOT NULL;
CREATE INDEX facts_rated ON facts (rated_at) WHERE rated_at IS NOT NULL;

-- The aggregate's state per request (its snapshot form), folded from the feed.
CREATE TABLE request_states
(
    request_id text PRIMARY KEY,
    state      jsonb NOT NULL
);

CREATE TABLE sequences
(
    aggregate_id text PRIMARY KEY,
    sequence     bigint NOT NULL
);
